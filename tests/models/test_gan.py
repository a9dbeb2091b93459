"""GAN and WGAN-GP: generator outputs in the data view, the losses' maths, training and the sample yardstick."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.evaluate import kl_method
from genlab.models import create_model
from genlab.models.gan import discriminator_loss, generator_loss, r1_penalty
from genlab.models.wgan_gp import gradient_penalty

FAMILIES = ["gan", "wgan-gp"]
TINY = {"hidden_units": 16, "hidden_layers": 1, "batch_size": 32}
SPECS = {
    "continuous": DataSpec((2,), "continuous"),
    "binary": DataSpec((1, 4, 4), "binary", 2),
    "gray8": DataSpec((1, 4, 4), "gray8", 17),
}


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


@pytest.mark.parametrize("view", list(SPECS))
@pytest.mark.parametrize("name", FAMILIES)
def test_generator_output_has_the_data_shape_and_domain(name, view):
    spec = SPECS[view]
    torch.manual_seed(0)
    model = create_model(name, spec, **TINY).eval()
    samples = model.sample(200, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (200, *spec.shape) and torch.isfinite(samples).all()
    if view != "continuous":
        assert torch.equal(samples, samples.round())
        assert samples.min() >= 0 and samples.max() <= spec.levels - 1
        assert len(samples.unique()) > 1
    again = model.sample(200, generator=torch.Generator().manual_seed(0))
    assert torch.equal(samples, again)
    frames = model.sample_steps(200, generator=torch.Generator().manual_seed(0))
    assert [frame.shape for _, frame in frames] == [(200, *spec.shape)] * 2
    first = "noise" if view == "continuous" else "G(noise) before"
    assert frames[0][0].startswith(first) and frames[1][0] == "G(noise)"
    assert torch.equal(frames[-1][1], samples)


@pytest.mark.parametrize("name", FAMILIES)
def test_has_no_density_and_answers_the_app_honestly(name):
    model = create_model(name, SPECS["continuous"], **TINY)
    assert model.log_prob_kind is None
    assert not model.can("density") and not model.can("encode")
    assert model.can("sample") and model.can("steps")
    field = model.fields(torch.randn(10, 2))
    assert list(field) == [model.critic_field] and field[model.critic_field].shape == (10,)
    if name == "gan":
        assert ((field["discriminator"] > 0) & (field["discriminator"] < 1)).all()
    assert create_model(name, SPECS["binary"], **TINY).fields(torch.randn(10, 2)) == {}


def _logit_gradient(loss_type: str, logit: float) -> float:
    a = torch.full((4,), logit, requires_grad=True)
    generator_loss(a, loss_type).backward()
    return float(a.grad.sum())  # d loss / d logit, summed over the 4 samples (each has weight 1/4)


def test_minimax_generator_loss_saturates_and_non_saturating_does_not():
    # D(G(z)) = sigmoid(-12) ≈ 6e-6: the discriminator confidently rejects the samples.
    assert abs(_logit_gradient("minimax", -12.0)) < 1e-4
    assert _logit_gradient("non-saturating", -12.0) == pytest.approx(-1.0, abs=1e-4)
    # Once the samples fool D (D(G(z)) → 1) it is the other way round.
    assert _logit_gradient("minimax", 12.0) == pytest.approx(-1.0, abs=1e-4)
    assert abs(_logit_gradient("non-saturating", 12.0)) < 1e-4
    a = torch.tensor([0.3, -1.2])
    d = torch.sigmoid(a)
    assert float(generator_loss(a, "minimax")) == pytest.approx(float(torch.log(1 - d).mean()), rel=1e-6)
    assert float(generator_loss(a, "non-saturating")) == pytest.approx(float(-torch.log(d).mean()), rel=1e-6)


def test_optimal_discriminator_loss_gives_the_jensen_shannon_divergence():
    p, q = torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(1.5, 1.0)
    g = torch.Generator().manual_seed(0)
    x_p = torch.randn(400000, generator=g)
    x_q = 1.5 + torch.randn(400000, generator=g)

    def optimal_logit(x):  # D* = p / (p + q)
        return p.log_prob(x) - q.log_prob(x)

    loss = float(discriminator_loss(optimal_logit(x_p), optimal_logit(x_q)))
    grid = torch.linspace(-12, 14, 200001, dtype=torch.float64)
    pd, qd = p.log_prob(grid).double().exp(), q.log_prob(grid).double().exp()
    m = (pd + qd) / 2
    jsd = float(0.5 * (pd * (pd / m).log() + qd * (qd / m).log()).sum() * (grid[1] - grid[0]))
    assert (math.log(4) - loss) / 2 == pytest.approx(jsd, abs=3e-3)


def _linear_critic(weight):
    layer = torch.nn.Linear(3, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight]))
    return layer


def test_gradient_penalties_measure_the_critics_slope():
    real, fake = torch.randn(64, 3), torch.randn(64, 3)
    unit, steep = _linear_critic([0.6, 0.0, 0.8]), _linear_critic([0.0, 2.0, 0.0])
    assert float(gradient_penalty(unit, real, fake).detach()) == pytest.approx(0.0, abs=1e-6)  # (‖∇f‖ − 1)²
    assert float(gradient_penalty(steep, real, fake).detach()) == pytest.approx(1.0, abs=1e-5)
    assert float(r1_penalty(steep, real).detach()) == pytest.approx(4.0, abs=1e-5)  # ‖∇ logit D‖²


@pytest.mark.parametrize("name", FAMILIES)
def test_trains_on_a_toy_and_is_scored_from_samples(name):
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model(name, ds, **TINY)
    result = genlab.train(model, ds, seconds=60, max_steps=5, report_every=60)
    assert result.steps == 5 and result.status == "finished"
    estimate = "train_jsd_estimate" if name == "gan" else "train_wasserstein_estimate"
    assert {estimate, "train_generator_loss", "train_loss", "valid_loss"} <= set(result.metrics[-1])
    out = genlab.evaluate(model, ds, max_items=500)
    assert out["log_prob_kind"] is None and out["test_nll_nats"] is None
    assert out["kl_method"] == kl_method(None) and out["kl_nats"] > 0
    assert out["modes_total"] == 8 and 0 <= out["modes_covered"] <= 8


@pytest.mark.parametrize("name", FAMILIES)
def test_trains_on_digits(name, digits):
    model = create_model(name, digits, **TINY)
    result = genlab.train(model, digits, seconds=60, max_steps=3, report_every=60)
    assert result.steps == 3
    out = genlab.evaluate(model, digits, max_items=50)
    assert out["mmd"] is not None and out["log_prob_kind"] is None


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _moved(before: dict, module: torch.nn.Module) -> tuple[bool, bool]:
    """(some weight changed, every weight bit-identical)."""
    same = [torch.equal(before[k], v) for k, v in module.state_dict().items()]
    return not all(same), all(same)


@pytest.mark.parametrize("name", FAMILIES)
def test_one_player_trains_alone_and_the_other_does_not_move(name):
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model(name, ds, **TINY)
    critic = model.critic_field
    assert model.players == ("both", critic, "generator")
    torch.manual_seed(0)
    model.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    optimizer = model.make_optimizer()
    moved = {}
    for player in model.players:
        generator, discriminator = _weights(model.generator), _weights(model.critic)
        for i in range(3):
            out = model.train_step(ds.train[32 * i:32 * (i + 1)], optimizer, player=player)
        assert math.isfinite(out["generator_loss"]) and math.isfinite(out["loss"])  # both players still measured
        moved[player] = (_moved(generator, model.generator), _moved(discriminator, model.critic))
    (g_changed, _), (d_changed, _) = moved["both"]
    assert g_changed and d_changed
    (g_changed, _), (_, d_frozen) = moved["generator"]
    assert g_changed and d_frozen  # every critic parameter bit-identical
    (_, g_frozen), (d_changed, _) = moved[critic]
    assert d_changed and g_frozen
    with pytest.raises(ValueError, match="no player"):
        model.train_step(ds.train[:32], optimizer, player="referee")


def test_critic_steps_is_the_gans_k_and_changes_mid_run():
    from genlab.train import apply_changes, torch_optimizers

    ds = genlab.load_dataset("toy:8gaussians")
    gan, wgan = create_model("gan", ds, **TINY), create_model("wgan-gp", ds, **TINY)
    assert gan.config.critic_steps == 1 and wgan.config.critic_steps == 5  # Goodfellow's k = 1; WGAN-GP's 5
    assert "critic_steps" in gan.changeable
    optimizer = gan.make_optimizer()
    assert apply_changes(gan, optimizer, {"critic_steps": 3}) == "critic_steps 1 → 3"
    apply_changes(gan, optimizer, {"learning_rate": 1e-3})  # reaches both players' optimizers
    assert [g["lr"] for opt in torch_optimizers(optimizer) for g in opt.param_groups] == [1e-3, 1e-3]
    with pytest.raises(ValueError, match="between 1 and 50"):
        apply_changes(gan, gan.make_optimizer(), {"critic_steps": 0})


@pytest.mark.parametrize("name", FAMILIES)
def test_the_averaged_generator_follows_the_weights_samples_and_is_saved(name, tmp_path):
    ds = genlab.load_dataset("toy:8gaussians")
    torch.manual_seed(0)
    model = create_model(name, ds, **TINY, generator_average=0.75)
    model.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    optimizer = model.make_optimizer()
    average = _weights(model.averaged_generator)
    assert all(torch.equal(average[k], v) for k, v in model.generator.state_dict().items())  # starts at θ
    model.train_step(ds.train[:32], optimizer)
    for key, weight in model.generator.state_dict().items():  # θ̄ = 0.75·θ_0 + 0.25·θ_1
        assert torch.allclose(model.averaged_generator.state_dict()[key], 0.75 * average[key] + 0.25 * weight)
    assert not torch.equal(model.averaged_generator.state_dict()["0.weight"], model.generator.state_dict()["0.weight"])
    z = model.noise(5)
    with torch.no_grad():
        assert torch.equal(model.train().generate(z), model.generator(z))  # training moves θ
        assert torch.equal(model.eval().generate(z), model.averaged_generator(z))  # samples come from θ̄
    plain = create_model(name, ds, **TINY)
    assert model.num_parameters() == plain.num_parameters()  # a copy kept beside the weights, not learned
    genlab.train_and_save(model, ds, tmp_path / "run", seconds=60, max_steps=3, report_every=60)
    again, _, _ = genlab.load_run(tmp_path / "run", load_data=False)
    assert torch.equal(again.generate(z), model.eval().generate(z))


class _Shift(torch.nn.Module):
    """G(z) = z (2-D): proposals from N(0, I) in standardized coordinates."""

    def forward(self, z):
        return z


class _ExactRatio(torch.nn.Module):
    """logit D(y) = log N(y; μ, s² I) − log N(y; 0, I): the best discriminator for a target N(μ, s² I)."""

    def __init__(self, mean, scale):
        super().__init__()
        self.mean, self.scale = torch.tensor(mean), scale

    def forward(self, y):
        target = -((y - self.mean) ** 2).sum(1) / (2 * self.scale**2) - 2 * math.log(self.scale)
        return (target + (y**2).sum(1) / 2).unsqueeze(1)


def test_discriminator_rejection_with_the_best_discriminator_draws_the_data_density():
    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("gan", ds, **TINY, latent_dim=2, sampler="ratio-critic rejection")
    model.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    model.generator, model.ratio_critic = _Shift(), _ExactRatio([0.5, -0.25], 0.5)
    kept, rate = model.kept_by_ratio_critic(40_000, generator=torch.Generator().manual_seed(0))
    assert kept.mean(0).sub(torch.tensor([0.5, -0.25])).abs().max() < 0.02
    assert kept.std(0).sub(0.5).abs().max() < 0.02
    assert 0.05 < rate < 0.5  # the target holds a quarter of the proposals' spread: most are rejected
    plain = create_model("gan", ds, **TINY, latent_dim=2)
    plain.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    plain.generator = _Shift()
    assert plain.sample(20_000, generator=torch.Generator().manual_seed(0)).std(0).div(ds.train.std(0)).sub(1).abs() \
        .max() < 0.05  # the default sampler is G(z) itself: N(0, I), the data's own spread
    shown = model.sample_steps(8, generator=torch.Generator().manual_seed(0))
    assert shown[-1][0].startswith("kept by the ratio critic") and shown[-1][1].shape == (8, 2)


def test_the_ratio_critic_trains_beside_the_game_and_is_saved_with_the_run(tmp_path):
    ds = genlab.load_dataset("toy:8gaussians")
    torch.manual_seed(0)
    model = create_model("gan", ds, **TINY, sampler="ratio-critic rejection")
    assert create_model("gan", ds, **TINY).ratio_critic is None  # the default sampler needs none
    model.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    optimizer = model.make_optimizer()
    before = _weights(model.ratio_critic)
    out = model.train_step(ds.train[:32], optimizer)
    assert out["ratio_critic_loss"] > 0
    assert all(not torch.equal(before[k], v) for k, v in model.ratio_critic.state_dict().items())
    summary = genlab.train_and_save(model, ds, tmp_path / "run", seconds=2, max_steps=3, report_every=60)
    calibrated = summary["train"]["finish"]  # the end of the budget trained the ratio critic alone
    assert calibrated["ratio_critic_calibration_steps"] > 0 and calibrated["ratio_critic_loss"] > 0
    again, _, _ = genlab.load_run(tmp_path / "run", load_data=False)
    draw = lambda m: m.sample(64, generator=torch.Generator().manual_seed(3))  # noqa: E731
    assert torch.equal(draw(again), draw(model))


def test_the_ratio_critics_calibration_is_paid_from_the_budget_not_after_it():
    import time

    from genlab.bench import _cpu_budget
    from genlab.train import train

    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("gan", ds, **TINY, sampler="ratio-critic rejection")
    began = time.process_time()
    result = train(model, ds, seconds=60, control=_cpu_budget(1.5), report_every=60)  # the benchmark's CPU clock
    spent = time.process_time() - began
    assert result.finish["ratio_critic_calibration_steps"] > 0 and result.steps > 0
    assert spent < 1.5 + 0.5  # a calibration after the budget would take as long again (the budget: the steps'
    # half, the last report, the calibration's half)


def test_a_stop_ends_the_ratio_critics_calibration_too():
    import time

    from genlab.train import TrainControl, train

    ds = genlab.load_dataset("toy:8gaussians")
    model = create_model("gan", ds, **TINY, sampler="ratio-critic rejection")
    control = TrainControl()
    control.stop()  # the learner pressed Stop: the game ends, and so does the half of the budget kept after it
    began = time.perf_counter()
    result = train(model, ds, seconds=30, control=control, report_every=60)
    assert result.finish["ratio_critic_calibration_steps"] == 0
    assert time.perf_counter() - began < 10


def test_the_live_heatmap_says_which_discriminator_it_shows_and_the_card_what_the_budgets_end_buys():
    from genlab.jobs.base import ModelCard

    ds = genlab.load_dataset("toy:8gaussians")
    rejecting = create_model("gan", ds, **TINY, sampler="ratio-critic rejection")
    note = rejecting.field_notes()["discriminator"]
    assert "R1" in note and "ratio critic" in note and "not shown" in note
    assert "without the R1" in create_model("gan", ds, **TINY, r1_weight=0.0).field_notes()["discriminator"]
    assert "ratio critic" not in create_model("gan", ds, **TINY).field_notes()["discriminator"]
    card = ModelCard.of(rejecting)
    assert card.finishing == "calibrating the ratio critic" and card.finishing_share > 0
    assert ModelCard.of(create_model("gan", ds, **TINY)).finishing_share == 0


def test_a_pause_holds_the_ratio_critics_calibration_uncounted_and_a_stop_in_it_is_a_stop():
    import threading
    import time

    from genlab.train import TrainControl, train

    ds = genlab.load_dataset("toy:8gaussians")

    def run(act) -> tuple:
        model = create_model("gan", ds, **TINY, sampler="ratio-critic rejection")
        control, calibrate = TrainControl(), model.finish_training

        def finish_training(*args):  # the learner acts as the calibration begins
            act(control)
            began = time.perf_counter()
            out = calibrate(*args)
            return {**out, "wall": time.perf_counter() - began}

        model.finish_training = finish_training
        result = train(model, ds, seconds=1.0, control=control, report_every=60)
        return result, result.finish

    def pause_then_resume(control):
        control.pause()
        threading.Timer(1.0, control.resume).start()

    result, finish = run(pause_then_resume)
    assert finish["wall"] >= 1.0 + 0.5 * 0.8 and finish["ratio_critic_calibration_steps"] > 0  # held, then its half
    assert result.status == "finished" and result.seconds < 1.0 + 0.5  # the paused second is not counted
    result, finish = run(lambda control: threading.Timer(0.1, control.stop).start())
    assert result.status == "stopped" and finish["wall"] < 0.4
