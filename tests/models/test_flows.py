"""Coupling flows (RealNVP, NSF): change of variables, normalisation, inversion, sampling."""
import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model

FLOWS = ["realnvp", "nsf"]
TINY = {"num_layers": 4, "hidden_units": 16, "hidden_layers": 1}


def perturbed_flow(name: str, dim: int, scale: float = 0.1, seed: int = 0, **hparams):
    """A tiny flow whose every parameter is moved off its identity initialisation.

    Much larger moves make densities too sharp for a grid to resolve and maps too
    ill-conditioned to invert in float32 (both fine in float64).
    """
    torch.manual_seed(seed)
    model = create_model(name, DataSpec((dim,), "continuous"), **(TINY | hparams))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("dim", [2, 5])
@pytest.mark.parametrize("name", FLOWS)
def test_log_det_matches_autograd_jacobian(name, dim):
    hparams = {"tail_bound": 3.0} if name == "nsf" else {}
    model = perturbed_flow(name, dim, scale=0.3, **hparams).double()
    x = 2.5 * torch.randn(6, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z, log_det = model.forward_flow(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: model.forward_flow(v[None])[0][0], x[i])
        sign, expected = torch.linalg.slogdet(jac)
        assert sign > 0
        assert float(log_det[i].detach()) == pytest.approx(float(expected), abs=1e-6)
    assert not torch.allclose(z, x)  # the perturbed flow is not the identity


@pytest.mark.parametrize("name", FLOWS)
def test_density_integrates_to_one_on_a_grid(name):
    model = perturbed_flow(name, 2)
    xs = torch.linspace(-10, 10, 801)
    xx, yy = torch.meshgrid(xs, xs, indexing="xy")
    points = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    with torch.no_grad():
        mass = float(model.log_prob(points).exp().sum() * (xs[1] - xs[0]) ** 2)
    assert mass == pytest.approx(1.0, abs=1e-2)


@pytest.mark.parametrize("dim", [2, 5])
@pytest.mark.parametrize("name", FLOWS)
def test_inverse_undoes_forward(name, dim):
    model = perturbed_flow(name, dim).double()
    x = 3 * torch.randn(500, dim, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.no_grad():
        z, _ = model.forward_flow(x)
    assert torch.allclose(model.inverse_flow(z), x, atol=1e-8)
    # in float32 too, where the random flow is not steep enough to amplify rounding
    model, x = model.float(), x[:100].float() / 3
    with torch.no_grad():
        z, _ = model.forward_flow(x)
    assert torch.allclose(model.inverse_flow(z), x, atol=1e-4)


@pytest.mark.parametrize("name", FLOWS)
def test_encode_is_the_forward_map(name):
    model = perturbed_flow(name, 3)
    x = torch.randn(10, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(model.encode(x), model.forward_flow(x)[0])


@pytest.mark.parametrize("name", FLOWS)
def test_sampling_shapes_seeds_and_temperature(name):
    model = perturbed_flow(name, 2, scale=0.1)
    samples = model.sample(500, generator=torch.Generator().manual_seed(3))
    assert samples.shape == (500, 2) and torch.isfinite(samples).all()
    again = model.sample(500, generator=torch.Generator().manual_seed(3))
    assert torch.equal(samples, again)
    cool = model.sample(500, temperature=0.5, generator=torch.Generator().manual_seed(3))
    assert cool.std(0).sum() < samples.std(0).sum()
    with pytest.raises(ValueError):
        model.sample(5, temperature=0.0)


@pytest.mark.parametrize("name", FLOWS)
def test_layer_outputs_run_from_base_to_data(name):
    model = perturbed_flow(name, 2)
    outputs = model.layer_outputs(50, temperature=0.7, generator=torch.Generator().manual_seed(4))
    assert len(outputs) == model.config.num_layers + 2
    assert all(o.shape == (50, 2) for o in outputs)
    assert torch.allclose(outputs[-1], model.sample(50, temperature=0.7, generator=torch.Generator().manual_seed(4)))
    z = model.forward_flow(outputs[-1])[0]
    assert torch.allclose(z, outputs[0], atol=1e-4)


@pytest.mark.parametrize("name", FLOWS)
def test_log_prob_is_finite_far_from_the_data(name, points_ds):
    model = create_model(name, points_ds, **TINY)
    genlab.train(model, points_ds, seconds=10, max_steps=20)
    far = torch.tensor([[1e3, 1e3], [-1e3, 0.0], [0.0, 1e4], [-1e4, -1e4]])
    for flow in (model, perturbed_flow(name, 2)):
        with torch.no_grad():
            log_p = flow.log_prob(far)
        assert torch.isfinite(log_p).all() and (log_p < -100).all()


@pytest.mark.parametrize("name", FLOWS)
def test_training_lowers_held_out_nll(name, points_ds):
    model = create_model(name, points_ds, **TINY)
    result = genlab.train(model, points_ds, seconds=20, max_steps=300, seed=0, report_every=0.0)
    first, last = result.metrics[0]["valid_nll_nats"], result.metrics[-1]["valid_nll_nats"]
    assert result.status == "finished" and last < first - 0.3


@pytest.mark.parametrize("name", FLOWS)
def test_dequantized_image_view(name, binary_ds):
    spec = DataSpec((1, 4, 4), "binary", 2)
    model = create_model(name, spec, **TINY)
    assert model.log_prob_kind == "lower_bound"
    model.initialize(binary_ds.train, binary_ds.test, torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        log_p = model.log_prob(binary_ds.test)
    assert log_p.shape == (len(binary_ds.test),) and torch.isfinite(log_p).all()
    samples = model.sample(7, generator=torch.Generator().manual_seed(5))
    assert samples.shape == (7, 1, 4, 4)
    assert ((samples == 0) | (samples == 1)).all()
    assert model.encode(binary_ds.test[:3]).shape == (3, 16)


def test_continuous_log_prob_is_exact_and_one_coordinate_is_refused():
    assert create_model("realnvp", DataSpec((2,), "continuous")).log_prob_kind == "exact"
    with pytest.raises(ValueError, match="at least 2"):
        create_model("nsf", DataSpec((1,), "continuous"))


@pytest.mark.parametrize("name", ["realnvp", "nsf"])
def test_sample_steps_end_at_the_samples(name):
    model = create_model(name, DataSpec((2,), "continuous"), num_layers=4)
    frames = model.sample_steps(5, generator=torch.Generator().manual_seed(2), max_frames=4)
    final = model.sample(5, generator=torch.Generator().manual_seed(2))
    assert len(frames) == 4 and frames[0][0] == "base noise z"
    assert torch.allclose(frames[-1][1], final, atol=1e-5)
