"""DDPM: the forward process, the ELBO against an exactly solvable model, sampling, score and training."""
import math

import pytest
import torch
from torch import nn

import genlab
from genlab.data.base import DataSpec, from_tensors
from genlab.evaluate import KL_METHODS
from genlab.models import create_model
from genlab.models.ddpm import SCHEDULES, discretized_gaussian_log_prob

TINY = {"hidden_units": 16, "hidden_layers": 1, "timesteps": 10, "sampling_steps": 10, "batch_size": 32}
MEAN, STD = torch.tensor([1.0, -0.5]), torch.tensor([0.5, 1.2])


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


class GaussianNoisePredictor(nn.Module):
    """scale·E[ε | z_t] + offset, where E[ε | z_t] is exact for data N(MEAN, diag(STD²)): linear in z_t."""

    def __init__(self, alpha_bars, scale=1.0, offset=0.0):
        super().__init__()
        self.alpha_bars, self.scale, self.offset = alpha_bars, scale, offset

    def forward(self, z, t):
        a = self.alpha_bars[t - 1][:, None]
        return self.scale * (1 - a).sqrt() * (z - a.sqrt() * MEAN) / (a * STD**2 + 1 - a) + self.offset


def gaussian_ddpm(timesteps=20, schedule="linear", sampling_steps=None, scale=1.0, offset=0.0):
    """A DDPM on 2-D points (standardizer left at the identity) with a linear noise predictor."""
    model = create_model("ddpm", DataSpec((2,), "continuous"), timesteps=timesteps, schedule=schedule,
                         sampling_steps=sampling_steps or timesteps)
    model.eps_net = GaussianNoisePredictor(model.alpha_bars, scale, offset)
    return model.eval()


def exact_marginal(model):
    """The model's own p_θ(z_0) = N(m, diag(c)): every reverse step is linear-Gaussian (σ_t² = β_t)."""
    net = model.eps_net
    m, c = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    mean, std = MEAN.double(), STD.double()
    betas, alpha_bars = model.betas.double(), model.alpha_bars.double()
    for t in range(model.config.timesteps, 0, -1):
        beta, a = betas[t - 1], alpha_bars[t - 1]
        v = a * std**2 + 1 - a
        # μ_θ(z) = (z − β/√(1 − ᾱ)·ε̂(z)) / √(1 − β) = gain·z + shift
        gain = (1 - net.scale * beta / v) / (1 - beta).sqrt()
        shift = (net.scale * beta * a.sqrt() * mean / v - beta * net.offset / (1 - a).sqrt()) / (1 - beta).sqrt()
        m, c = gain * m + shift, gain**2 * c + beta
    return m, c


def elbo_gap(model, items=200, draws=50):
    """log p_θ(x) − ELBO(x) per item x ~ N(MEAN, STD²), the ELBO averaged over `draws` noise draws."""
    m, c = exact_marginal(model)
    x = MEAN + STD * torch.randn(items, 2, generator=torch.Generator().manual_seed(0))
    exact = torch.distributions.Normal(m, c.sqrt()).log_prob(x.double()).sum(1)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, torch.Generator().manual_seed(k))[0] for k in range(draws)])
    return exact - elbo.double().mean(0), x, exact


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_forward_noising_matches_the_closed_form_marginals(schedule):
    model = create_model("ddpm", DataSpec((2,), "continuous"), timesteps=50, sampling_steps=50, schedule=schedule)
    g = torch.Generator().manual_seed(0)
    z0 = torch.tensor([1.5, -0.5]).expand(40000, 2)
    z = z0.clone()
    for t in range(1, 51):
        beta = model.betas[t - 1]
        z = (1 - beta).sqrt() * z + beta.sqrt() * torch.randn(z.shape, generator=g)
        if t in (1, 10, 50):
            a = model.alpha_bar(torch.tensor(t))
            closed = model.noised(z0, torch.full((40000,), t), torch.randn(z.shape, generator=g))
            for sample in (z, closed):
                assert torch.allclose(sample.mean(0), a.sqrt() * z0[0], atol=0.02)
                assert torch.allclose(sample.var(0), (1 - a).expand(2), atol=0.02 * max(float(1 - a), 0.05))
    assert float(model.alpha_bar(torch.tensor(0))) == 1.0
    assert float(model.alpha_bars[-1]) < 0.01  # z_T is nearly pure noise


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_elbo_is_below_the_exact_log_density_of_a_solvable_model(schedule):
    gap, _, _ = elbo_gap(gaussian_ddpm(schedule=schedule, scale=0.8, offset=0.1))  # an imperfect predictor
    assert float(gap.mean()) > 0.1 and float(gap.mean()) > 5 * float(gap.std()) / math.sqrt(len(gap))
    gap, x, exact = elbo_gap(gaussian_ddpm(schedule=schedule))  # the exact predictor: a tight bound
    assert abs(float(gap.mean())) < 0.05 + 3 * float(gap.std()) / math.sqrt(len(gap))
    data = torch.distributions.Normal(MEAN, STD).log_prob(x).sum(1).double()
    assert float((data - exact).mean()) > -0.02  # KL(p_data‖p_θ) ≥ 0, up to Monte-Carlo error


class ContinuousGaussianNoisePredictor(nn.Module):
    """E[ε | z_t] for data N(MEAN, diag(STD²)) at real-valued steps t, through the model's own ᾱ(t)."""

    def __init__(self, alpha_bar):
        super().__init__()
        self.alpha_bar = alpha_bar

    def forward(self, z, t):
        a = self.alpha_bar(t)[:, None]
        return (1 - a).sqrt() * (z - a.sqrt() * MEAN) / (a * STD**2 + 1 - a)


def test_probability_flow_log_likelihood_matches_the_closed_form_on_gaussian_data(monkeypatch):
    """With the exact score of Gaussian data, the ODE's log p is the Gaussian marginal at its start
    (t = 1): held to 1e-3 nats, with the RK4 step-halving change below 1e-3 nats too. (ᾱ_T is
    5.9e-11 here, so the N(0, I) prior at T adds no visible error.)"""
    import genlab.models.ddpm as ddpm

    model = create_model("ddpm", DataSpec((2,), "continuous"), timesteps=20, sampling_steps=20)
    model.eps_net = ContinuousGaussianNoisePredictor(model.continuous_alpha_bar)
    model.eval()
    x = MEAN + STD * torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    a1 = model.alpha_bars[0]
    closed = torch.distributions.Normal(a1.sqrt() * MEAN, (a1 * STD**2 + 1 - a1).sqrt()).log_prob(x).sum(1)
    ode = model.ode_log_prob(x)
    assert float((ode - closed).abs().max()) < 1e-3
    monkeypatch.setattr(ddpm, "ODE_STEPS_PER_STEP", 2 * ddpm.ODE_STEPS_PER_STEP)
    assert float((model.ode_log_prob(x) - ode).abs().max()) < 1e-3
    data = torch.distributions.Normal(MEAN, STD).log_prob(x).sum(1)
    assert abs(float((ode - data).mean())) < 0.01  # starting at t = 1 instead of 0 costs little


def test_ancestral_sampling_draws_from_the_bounded_model():
    model = gaussian_ddpm()
    m, c = exact_marginal(model)
    samples = model.sample(40000, generator=torch.Generator().manual_seed(0)).double()
    assert torch.allclose(samples.mean(0), m, atol=0.02)
    # the last step returns the decoder's mean, leaving out its noise of variance β_1
    assert torch.allclose(samples.var(0), c - model.betas[0].double(), rtol=0.04)
    strided = gaussian_ddpm(sampling_steps=5).sample(40000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(strided.mean(0), MEAN, atol=0.05)  # its spread is only rough with 5 of 20 steps
    cool = gaussian_ddpm().sample(40000, temperature=0.5, generator=torch.Generator().manual_seed(0))
    assert (cool.std(0) < 0.8 * STD).all()


def test_score_field_is_the_score_of_the_noised_data():
    model = gaussian_ddpm()
    points = torch.randn(30, 2)
    score = model.fields(points)["score"]
    noise_std = (1 - model.alpha_bars).sqrt()
    t = int(torch.argmin((noise_std - 0.1).abs())) + 1
    a = model.alpha_bars[t - 1]
    expected = -(points - a.sqrt() * MEAN) / (a * STD**2 + 1 - a)  # ∇ log N(√ᾱ μ, ᾱ σ² + 1 − ᾱ)
    assert score.shape == (30, 2) and torch.allclose(score, expected, atol=1e-5)


def test_sample_steps_run_from_noise_to_the_samples():
    model = gaussian_ddpm(sampling_steps=8)
    frames = model.sample_steps(16, generator=torch.Generator().manual_seed(3), max_frames=4)
    assert [caption for caption, _ in frames][0] == "t = 20" and frames[-1][0] == "t = 0 (samples)"
    assert len(frames) == 4 and all(frame.shape == (16, 2) for _, frame in frames)
    assert torch.equal(frames[-1][1], model.sample(16, generator=torch.Generator().manual_seed(3)))


def test_sampling_steps_beyond_timesteps_are_refused():
    with pytest.raises(ValueError, match="sampling_steps"):
        create_model("ddpm", DataSpec((2,), "continuous"), timesteps=10, sampling_steps=20)


def test_trains_on_a_toy_and_reports_its_bound():
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("ddpm", ds, **TINY)
    result = genlab.train(model, ds, seconds=60, max_steps=5, report_every=60)
    assert result.steps == 5 and "train_noise_prediction_mse" in result.metrics[-1]
    assert "valid_kl_nats" in result.metrics[-1]
    out = genlab.evaluate(model, ds, max_items=500)
    assert out["log_prob_kind"] == "lower_bound" and out["kl_method"] == KL_METHODS["lower_bound"]
    assert out["test_elbo_nats"] == pytest.approx(-out["test_nll_nats"], rel=1e-6)
    terms = out["test_prior_kl_nats"] + out["test_denoising_kl_nats"] + out["test_decoder_nll_nats"]
    assert out["test_elbo_nats"] == pytest.approx(-terms + float(model.norm.log_det()), rel=1e-6)
    # the probability-flow NLL is reported beside the bound: a tiny model's ODE is far from its data
    assert math.isfinite(out["test_ode_nll_nats"]) and "test_ode_nll_nats" not in genlab.evaluate(
        create_model("ddpm", genlab.load_dataset("digits"), **TINY), genlab.load_dataset("digits"), max_items=20)


def test_trains_on_digits_with_a_dequantized_bound(digits):
    model = create_model("ddpm", digits, **TINY)
    result = genlab.train(model, digits, seconds=60, max_steps=3, report_every=60)
    assert result.steps == 3 and model.log_prob_kind == "lower_bound"
    samples = model.sample(8)
    assert samples.shape == (8, 1, 8, 8) and set(samples.unique().tolist()) <= {0.0, 1.0}
    out = genlab.evaluate(model, digits, max_items=50)
    assert out["test_nll_nats"] > 0 and out["bits_per_dim"] > 0 and out["mmd"] is not None


@pytest.mark.parametrize("levels", [2, 5, 17, 256])
def test_discretized_decoder_sums_to_one_over_the_bins(levels):
    """Every mean (far out in either tail included) and std: the L bin probabilities sum to 1."""
    centres = torch.arange(levels, dtype=torch.float64) * 2 / (levels - 1) - 1  # (L,)
    means = torch.tensor([-30.0, -1.2, -1.0, -0.37, 0.0, 0.004, 0.9, 1.0, 2.5, 40.0], dtype=torch.float64)
    for std in (1e-3, 0.03, 0.5, 4.0):
        log_p = discretized_gaussian_log_prob(centres[:, None].expand(levels, len(means)),
                                              means[None].expand(levels, len(means)), std, levels)
        assert torch.isfinite(log_p).all() and (log_p <= 0).all()
        assert torch.allclose(log_p.exp().sum(0), torch.ones(len(means), dtype=torch.float64), atol=1e-9)
    two = discretized_gaussian_log_prob(torch.tensor([1.0]), torch.tensor([0.3]), 0.5, 2)  # a Bernoulli
    assert float(two.exp()) == pytest.approx(float(torch.distributions.Normal(0, 1).cdf(torch.tensor(0.6))))


def exact_image_log_prob(model, x, draws=20000):
    """log P_θ(x) for tiny binary images by Monte-Carlo over the model's own reverse chain (all T steps):
    P_θ(x) = E_{z_1 ~ p_θ}[Π_i P(x_i | z_1)], the chain's last mean being the decoder's; every draw of z_1
    is shared by all x, so the estimates over every possible image sum to exactly 1."""
    *_, (_, mean) = model.reverse_chain(draws, 1.0, torch.Generator().manual_seed(1))  # μ_θ(z_1, 1)
    centres = model.standardized(x)  # (M, D) bin centres in [−1, 1]
    m, d = centres.shape
    log_p = discretized_gaussian_log_prob(centres[:, None].expand(m, draws, d), mean[None].expand(m, draws, d),
                                          model.betas[0].sqrt(), 2).sum(2)
    return torch.logsumexp(log_p, 1) - math.log(draws)


def test_image_elbo_is_below_the_exact_log_probability_of_tiny_images():
    """Three binary pixels, all 8 images enumerated: the ELBO averaged over noise draws lies below the exact
    log P_θ(x), untrained and trained, and the exact probabilities sum to 1 (the decoder is a distribution)."""
    g = torch.Generator().manual_seed(0)
    base = (torch.rand(600, 1, generator=g) < 0.3).float()
    data = torch.where(torch.rand(600, 3, generator=g) < 0.1, 1 - base, base).reshape(600, 1, 1, 3)
    ds = from_tensors(data[:500], data[500:], view="binary")
    images = torch.tensor([[(k >> i) & 1 for i in range(3)] for k in range(8)], dtype=torch.float32)
    model = create_model("ddpm", ds, **TINY)
    for trained in (False, True):
        if trained:
            genlab.train(model, ds, seconds=60, max_steps=300, report_every=60)
        model.eval()
        with torch.no_grad():
            exact = exact_image_log_prob(model, images.reshape(8, 1, 1, 3))
            elbo = torch.stack([model.elbo(images.reshape(8, 1, 1, 3), torch.Generator().manual_seed(k))[0]
                                for k in range(50)]).mean(0)
        assert float(exact.exp().sum()) == pytest.approx(1.0, abs=1e-5)
        assert (elbo <= exact + 0.02).all(), (elbo, exact)  # 0.02: the Monte-Carlo error of both


def test_bits_per_dim_on_tiny_binary_images_fall_below_a_fair_coin_after_short_training():
    g = torch.Generator().manual_seed(0)
    centre = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 0]], dtype=torch.float32)
    flips = torch.rand(400, 1, 4, 4, generator=g) < 0.05
    data = torch.where(flips, 1 - centre, centre)
    ds = from_tensors(data[:300], data[300:], view="binary")
    model = create_model("ddpm", ds, hidden_units=64, hidden_layers=2, timesteps=50, sampling_steps=50, batch_size=64)
    assert math.isfinite(genlab.evaluate(model, ds)["bits_per_dim"])  # untrained: a valid (loose) bound
    genlab.train(model, ds, seconds=60, max_steps=500, report_every=60)  # 0.55 bits/dim when measured
    out = genlab.evaluate(model, ds)
    assert out["log_prob_kind"] == "lower_bound" and out["bits_per_dim"] < 1.0
    assert out["test_decoder_nll_nats"] >= 0  # a probability now, never a density above 1


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_likelihood_weighting_draws_the_steps_in_proportion_to_their_weight_in_the_bound(schedule, monkeypatch):
    """The bound's noise-prediction part is Σ_t w_t/2·‖ε − ε_θ‖² with w = `bound_weights`: checked on known errors."""
    model = create_model("ddpm", DataSpec((2,), "continuous"), timesteps=20, schedule=schedule,
                         sampling_steps=20, loss_weighting="likelihood")
    n, T = 3, 20
    first, squares = torch.randn(n, 2), torch.rand(T - 1, n)
    monkeypatch.setattr(model, "step_errors", lambda z0, generator: (first, squares))
    z0 = torch.zeros(n, 2)
    terms = model.elbo_terms(z0)
    monkeypatch.setattr(model, "step_errors", lambda z0, generator: (torch.zeros(n, 2), torch.zeros(T - 1, n)))
    zero = model.elbo_terms(z0)
    w = model.bound_weights()
    assert (terms["denoising_kl_nats"] - zero["denoising_kl_nats"]).tolist() == pytest.approx(
        (w[1:, None] / 2 * squares).sum(0).tolist(), rel=1e-5)
    assert (terms["decoder_nll_nats"] - zero["decoder_nll_nats"]).tolist() == pytest.approx(
        (w[0] / 2 * first.square().sum(1)).tolist(), rel=1e-5)
    shares = model.step_shares()
    assert float(shares.sum()) == pytest.approx(1.0) and torch.allclose(shares, w / w.sum())
    uniform = create_model("ddpm", DataSpec((2,), "continuous"), timesteps=20, sampling_steps=20).step_shares()
    assert torch.allclose(uniform, torch.full((20,), 0.05))


def test_likelihood_weighting_trains_and_its_validation_weighs_each_step_by_its_share():
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("ddpm", ds, **TINY, loss_weighting="likelihood")
    result = genlab.train(model, ds, seconds=60, max_steps=5)
    assert result.status == "finished" and math.isfinite(result.best_valid_loss)
    z0 = model.standardized(ds.test[:40])
    t = torch.arange(40) % 10 + 1
    noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        errors = model.squared_error(z0, t, noise)
    expected = float((10 * model.step_shares()[t - 1] * errors).mean() / 2)
    assert model.validation_loss(ds.test[:40]) == pytest.approx(expected, rel=1e-5)
