"""Energy-based model: the Langevin sampler, the unnormalised density, training and the grid yardstick."""
import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.evaluate import KL_METHODS
from genlab.models import create_model
from genlab.models.ebm import langevin

TINY = {"hidden_units": 16, "hidden_layers": 1, "langevin_steps": 3, "sampling_steps": 5, "buffer_size": 64,
        "batch_size": 32}


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_langevin_samples_a_known_gaussian_energy(temperature):
    mean, std = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 1.5])

    def energy(z):  # E = ½‖(z − μ)/σ‖², so exp(−E/T) is N(μ, T·σ²)
        return 0.5 * ((z - mean) / std).square().sum(1)

    start = torch.zeros(4000, 2)
    z = langevin(energy, start, steps=1500, step_size=0.01, temperature=temperature,
                 generator=torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mean, atol=0.06 * temperature)
    assert torch.allclose(z.var(0), temperature * std**2, rtol=0.08)


def test_langevin_stays_in_its_box():
    def energy(z):  # pulls hard towards (5, 5), outside the box
        return ((z - 5) ** 2).sum(1)

    z = langevin(energy, torch.zeros(100, 2), steps=50, step_size=0.1, low=torch.tensor([-1.0, -1.0]),
                 high=torch.tensor([1.0, 1.0]), generator=torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and z.mean() > 0.9


def test_log_prob_is_minus_the_energy_up_to_a_constant(points_ds):
    model = create_model("ebm", points_ds, **TINY)
    model.initialize(points_ds.train, points_ds.train[:50], torch.Generator().manual_seed(0))
    model.eval()
    x = points_ds.test[:20]
    with torch.no_grad():
        log_p, energy = model.log_prob(x), model.fields(x)["energy"]
    assert model.log_prob_kind == "unnormalized" and model.can("density") and model.can("steps")
    assert torch.allclose(log_p + energy, (log_p + energy)[:1].expand(20), atol=1e-5)


@pytest.mark.parametrize("view", ["continuous", "binary", "gray8"])
def test_samples_are_in_the_data_view_and_end_the_langevin_frames(view):
    spec = DataSpec((2,), view) if view == "continuous" else DataSpec((1, 4, 4), view, 2 if view == "binary" else 17)
    model = create_model("ebm", spec, **TINY).eval()
    samples = model.sample(30, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (30, *spec.shape) and torch.isfinite(samples).all()
    if view != "continuous":
        assert torch.equal(samples, samples.round()) and samples.min() >= 0 and samples.max() <= spec.levels - 1
    frames = model.sample_steps(30, generator=torch.Generator().manual_seed(1), max_frames=4)
    assert frames[0][0] == "uniform noise" and len(frames) == 4
    assert torch.equal(frames[-1][1], samples)


def test_trains_on_a_toy_and_is_scored_by_grid_normalisation():
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("ebm", ds, **TINY)
    result = genlab.train(model, ds, seconds=60, max_steps=5, report_every=60)
    assert result.steps == 5 and result.status == "finished"
    assert {"train_contrastive_divergence", "train_energy_on_data"} <= set(result.metrics[-1])
    out = genlab.evaluate(model, ds, max_items=500)
    assert out["log_prob_kind"] == "unnormalized" and out["test_nll_nats"] is None
    assert out["kl_method"] == KL_METHODS["unnormalized"] and out["kl_nats"] > 0
    assert 0 < result.best_valid_loss < 20  # the grid-normalised held-out NLL, in nats


def test_trains_on_digits(digits):
    model = create_model("ebm", digits, **TINY)
    result = genlab.train(model, digits, seconds=60, max_steps=3, report_every=60)
    assert result.steps == 3
    assert model.sample(4).shape == (4, 1, 8, 8)
    assert genlab.evaluate(model, digits, max_items=50)["mmd"] is not None


def test_a_saved_run_loads_back_without_its_replay_buffer(points_ds, tmp_path):
    model = create_model("ebm", points_ds, **TINY)
    genlab.train_and_save(model, points_ds, tmp_path / "run", seconds=60, max_steps=3, report_every=60)
    assert model.replay is not None  # training-time state, not a weight
    loaded, _, _ = genlab.load_run(tmp_path / "run", load_data=False)
    assert loaded.replay is None
    same = [m.sample(10, generator=torch.Generator().manual_seed(2)) for m in (model, loaded)]
    assert torch.equal(*same)


def test_the_shifted_grid_normaliser_is_unbiased_for_the_integral_over_the_box(points_ds):
    model = create_model("ebm", points_ds, **TINY, training="grid likelihood", grid_cells=16)
    model.initialize(points_ds.train, points_ds.train[:50], torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.energy_net[-1].weight.mul_(20)  # a landscape with a range of several nats, not a flat one
        fine = model.norm.inverse(model.low).tolist(), model.norm.inverse(model.high).tolist()
        n = 801  # the box's integral by a fine grid over its cells' centres, in standardized coordinates
        cell = (model.high - model.low) / n
        axes = [model.low[k] + cell[k] * (torch.arange(n) + 0.5) for k in range(2)]
        exact = float(torch.logsumexp(-model.energy(torch.cartesian_prod(*axes)), 0) + torch.log(cell).sum())
        torch.manual_seed(0)
        estimates = torch.stack([model.shifted_grid_log_z() for _ in range(400)]).double()
    assert fine[0] != fine[1]
    assert estimates.std() > 1e-4  # the shift moves the grid, so one estimate differs from the next
    mean_z = float(torch.logsumexp(estimates, 0) - torch.log(torch.tensor(400.0)))  # log of the mean of Z
    assert abs(mean_z - exact) < 0.01  # unbiased for Z


def test_grid_likelihood_training_lowers_the_held_out_nll_and_needs_2d_points(digits):
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("ebm", ds, hidden_units=32, hidden_layers=2, batch_size=256, learning_rate=3e-3,
                         training="grid likelihood", grid_cells=32)
    result = genlab.train(model, ds, seconds=60, max_steps=150, report_every=60)
    first, last = result.metrics[0], result.metrics[-1]
    assert {"train_log_normaliser", "train_energy_on_data"} <= set(last) and "train_contrastive_divergence" not in last
    assert last["valid_loss"] < first["valid_loss"] - 0.3  # nats: the exact gradient, not a sampler's
    with pytest.raises(ValueError, match="2-D points"):
        create_model("ebm", digits, training="grid likelihood")


def test_grid_likelihood_refuses_a_grid_too_large_to_hold_and_points_not_in_2d():
    ds = genlab.load_dataset("toy:8gaussians")
    with pytest.raises(ValueError, match="fewer grid cells or a smaller network"):
        create_model("ebm", ds, training="grid likelihood", grid_cells=256, hidden_units=2048, hidden_layers=8)
    with pytest.raises(ValueError, match="points in 3 dimensions"):
        create_model("ebm", DataSpec((3,), "continuous"), training="grid likelihood")
    create_model("ebm", ds, training="grid likelihood", grid_cells=256, hidden_units=128, hidden_layers=3)
