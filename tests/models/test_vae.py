"""VAE: the ELBO, the importance-weighted bound, the pixel decoders, encoding and sampling."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model
from genlab.models import vae as vae_module
from genlab.models.vae import Bernoulli, Categorical, DiscretizedLogistic

TINY = {"latent_dim": 3, "hidden_units": 16, "hidden_layers": 1}


def perturbed_vae(ds, scale: float = 0.3, seed: int = 0, **hparams):
    """A tiny VAE with weights moved off their initialisation, so q(z|x) is far from p(z|x)."""
    torch.manual_seed(seed)
    model = create_model("vae", ds, **(TINY | hparams))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model.eval()


def paired_z(a: torch.Tensor, b: torch.Tensor) -> float:
    """How many standard errors mean(a − b) lies above zero."""
    diff = (a - b).double()
    return float(diff.mean() / (diff.std() / math.sqrt(len(diff))))


def test_iw_estimate_is_above_the_elbo_and_rises_with_k(tiny_ds):
    ds = tiny_ds
    model = perturbed_vae(ds)
    x = ds.test.repeat(4, 1, 1, 1)  # 400 items
    with torch.no_grad():
        elbo = model.elbo(x, generator=torch.Generator().manual_seed(1))
        iw = {k: model.iw_log_prob(x, k, generator=torch.Generator().manual_seed(2)) for k in (1, 10, 100)}
    assert iw[100].mean() > elbo.mean()
    assert paired_z(iw[100], elbo) > 3
    # E log p̂_k never falls as k grows; here it clearly rises, beyond the noise
    assert paired_z(iw[10], iw[1]) > 3
    assert paired_z(iw[100], iw[10]) > 3


def test_iw_estimate_with_one_sample_is_the_elbo_in_expectation(tiny_ds):
    ds = tiny_ds
    model = perturbed_vae(ds)
    x = ds.test.repeat(30, 1, 1, 1)  # 3,000 draws
    with torch.no_grad():
        elbo = model.elbo(x, generator=torch.Generator().manual_seed(3)).double()
        iw1 = model.iw_log_prob(x, 1, generator=torch.Generator().manual_seed(4)).double()
    standard_error = math.sqrt((elbo.var() + iw1.var()) / len(x))
    assert abs(float(iw1.mean() - elbo.mean())) < 4 * standard_error


def test_closed_form_kl_matches_monte_carlo(binary_ds):
    model = perturbed_vae(binary_ds)
    x = binary_ds.test[:5]
    with torch.no_grad():
        _, kl = model.elbo_terms(x)
        mu, log_sigma = model.posterior(x)
        z = torch.distributions.Normal(mu, log_sigma.exp())
        draws = z.sample((20000,))
        mc = (z.log_prob(draws) - torch.distributions.Normal(0.0, 1.0).log_prob(draws)).sum(-1).mean(0)
    assert torch.allclose(kl, mc, rtol=0.05, atol=0.05)


def test_iw_chunks_agree_with_one_pass(binary_ds, monkeypatch):
    model = perturbed_vae(binary_ds)
    x = binary_ds.test[:40]
    with torch.no_grad():
        whole = model.iw_log_prob(x, 300, generator=torch.Generator().manual_seed(5))
        monkeypatch.setattr(vae_module, "IW_CHUNK_ELEMENTS", (16 + 16) * 7)  # 7 (item, sample) pairs per chunk
        chunked = model.iw_log_prob(x, 300, generator=torch.Generator().manual_seed(6))
    assert chunked.shape == (40,) and torch.isfinite(chunked).all()
    assert abs(paired_z(whole, chunked)) < 4


@pytest.mark.parametrize("likelihood", [Bernoulli(), Categorical(5), DiscretizedLogistic(5), DiscretizedLogistic(256)])
def test_pixel_decoders_sum_to_one_and_sample_their_mean(likelihood):
    levels = 2 if isinstance(likelihood, Bernoulli) else likelihood.levels
    params = 2 * torch.randn(3, likelihood.num_params, 1, generator=torch.Generator().manual_seed(7))
    values = torch.arange(levels, dtype=torch.float32)
    log_p = torch.stack([likelihood.log_prob(torch.full((3, 1), float(k)), params) for k in values])  # (L, 3)
    assert torch.allclose(log_p.exp().sum(0), torch.ones(3), atol=1e-5)
    mean = likelihood.mean(params)[:, 0]
    assert torch.allclose(mean, (log_p.exp() * values[:, None]).sum(0), atol=1e-4)
    draws = likelihood.sample(params.expand(20000, 3, -1, -1), torch.Generator().manual_seed(8))[..., 0]
    assert ((draws >= 0) & (draws <= levels - 1) & (draws == draws.round())).all()
    standard_error = draws.std(0) / math.sqrt(len(draws))
    assert ((draws.mean(0) - mean).abs() < 5 * standard_error + 1e-3).all()


def test_discretized_logistic_stays_finite_far_from_its_data():
    likelihood = DiscretizedLogistic(256)
    loc = torch.tensor([-50.0, 0.0, 50.0, 9.0, 0.3]).repeat(3)
    log_scale = torch.tensor([-20.0] * 5 + [0.0] * 5 + [30.0] * 5)
    params = torch.stack([loc, log_scale])[None].requires_grad_()  # (1, 2, 15)
    x = torch.tensor([0.0, 255.0, 0.0, 0.0, 128.0]).repeat(3)[None]
    log_p = likelihood.log_prob(x, params)
    log_p.backward()
    assert torch.isfinite(log_p).all() and torch.isfinite(params.grad).all()


def test_training_reports_the_bound_and_the_estimate(tiny_ds):
    ds = tiny_ds
    model = create_model("vae", ds, iw_samples=50, **TINY)
    result = genlab.train(model, ds, seconds=20, max_steps=150, seed=0, report_every=0.0)
    first, last = result.metrics[0], result.metrics[-1]
    assert last["valid_loss"] < first["valid_loss"]
    assert first["train_loss"] == pytest.approx(first["train_recon_nats"] + first["train_kl_nats"], rel=1e-5)
    out = genlab.evaluate(model, ds)
    assert out["log_prob_kind"] == "lower_bound" and out["test_iw_samples"] == 50
    assert -out["test_nll_nats"] > out["test_elbo_nats"]  # the IW estimate (log p) is tighter than the ELBO
    with torch.no_grad():
        assert out["test_nll_nats"] == pytest.approx(-float(model.log_prob(ds.test).double().mean()), rel=1e-6)
    assert model.validation_loss(ds.test) == pytest.approx(-out["test_elbo_nats"], rel=1e-6)


def test_samples_are_in_the_view_and_seeded(tiny_ds):
    ds = tiny_ds
    model = perturbed_vae(ds)
    samples = model.sample(50, generator=torch.Generator().manual_seed(9))
    assert samples.shape == (50, 1, 4, 4)
    assert ((samples >= 0) & (samples <= ds.levels - 1) & (samples == samples.round())).all()
    assert torch.equal(samples, model.sample(50, generator=torch.Generator().manual_seed(9)))
    assert not torch.equal(samples, model.sample(50, generator=torch.Generator().manual_seed(10)))
    with pytest.raises(ValueError):
        model.sample(5, temperature=0.0)


def test_encode_gives_the_posterior_mean_and_decode_the_decoder_mean(tiny_ds):
    ds = tiny_ds
    model = perturbed_vae(ds, latent_dim=2)
    z = model.encode(ds.test[:7])
    assert z.shape == (7, 2) and torch.equal(z, model.posterior(ds.test[:7])[0])
    means = model.decode(z)
    assert means.shape == (7, 1, 4, 4)
    assert ((means >= 0) & (means <= ds.levels - 1)).all()


def test_bad_settings_are_refused_in_plain_words(binary_ds):
    with pytest.raises(ValueError, match="iw_samples"):
        create_model("vae", binary_ds, iw_samples=0)
    with pytest.raises(ValueError, match="gray_decoder"):
        create_model("vae", binary_ds, gray_decoder="gaussian")
    with pytest.raises(ValueError, match="not points"):
        create_model("vae", DataSpec((2,), "continuous"))
    with pytest.raises(ValueError, match="at least 1"):
        perturbed_vae(binary_ds).iw_log_prob(binary_ds.test[:2], 0)
