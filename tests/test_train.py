"""The training loop: budgets, best-weight selection, divergence, pause and stop."""
import copy
import math
import threading
import time

import pytest
import torch

import genlab
from genlab.train import TrainControl


def test_metrics_are_reported_with_held_out_yardstick(points_ds):
    seen = []
    model = genlab.create_model("gmm", points_ds, num_components=4)
    result = genlab.train(model, points_ds, seconds=3, max_steps=50, on_metrics=seen.append, report_every=0.0)
    assert result.status == "finished" and result.steps == 50
    assert seen and seen == result.metrics
    record = seen[-1]
    assert {"step", "seconds", "train_loss", "train_nll_nats", "valid_loss", "valid_nll_nats"} <= set(record)
    assert record["valid_loss"] == pytest.approx(record["valid_nll_nats"], rel=1e-5)


def test_best_weights_are_kept(points_ds):
    model = genlab.create_model("gmm", points_ds, num_components=4)
    result = genlab.train(model, points_ds, seconds=3, max_steps=60, report_every=0.0)
    best = min(m["valid_loss"] for m in result.metrics)
    assert result.best_valid_loss == pytest.approx(best)
    fit, valid = points_ds.split_validation(0.1, 0)
    with torch.no_grad():
        now = float(-model.log_prob(valid).mean())
    assert now == pytest.approx(best, rel=1e-4)


def test_training_is_reproducible_for_a_seed(points_ds):
    runs = []
    for _ in range(2):
        model = genlab.create_model("gmm", points_ds, num_components=3)
        genlab.train(model, points_ds, seconds=5, max_steps=20, seed=7)
        runs.append(model.log_prob(points_ds.test[:10]))
    assert torch.equal(runs[0], runs[1])


def test_divergence_stops_with_a_plain_message(points_ds):
    model = genlab.create_model("gmm", points_ds, num_components=3)

    def poisoned(batch):
        return {"loss": torch.tensor(float("nan"), requires_grad=True)}

    model.loss = poisoned
    result = genlab.train(model, points_ds, seconds=5)
    assert result.status == "diverged" and "smaller learning rate" in result.message


def test_stop_takes_effect_within_a_second(points_ds):
    control = TrainControl()
    model = genlab.create_model("gmm", points_ds, num_components=4)
    done = {}

    def run():
        done["result"] = genlab.train(model, points_ds, seconds=60, control=control)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    asked = time.perf_counter()
    control.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and time.perf_counter() - asked < 1.0
    assert done["result"].status == "stopped"


def test_pause_freezes_the_steps_and_the_clock(points_ds):
    control = TrainControl()
    model = genlab.create_model("gmm", points_ds, num_components=4)
    seen = []
    thread = threading.Thread(target=lambda: genlab.train(model, points_ds, seconds=2.0, control=control,
                                                            on_metrics=seen.append, report_every=0.05))
    thread.start()
    time.sleep(0.4)
    control.pause()
    time.sleep(0.2)
    steps_at_pause = seen[-1]["step"]
    time.sleep(1.0)
    assert seen[-1]["step"] == steps_at_pause  # nothing moved while paused
    control.resume()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen[-1]["step"] > steps_at_pause
    assert seen[-1]["seconds"] < 2.3  # paused time is not counted against the budget


def test_closed_form_family_is_fitted_without_steps(points_ds):
    result = genlab.train(genlab.create_model("gaussian", points_ds), points_ds, seconds=1)
    assert result.status == "fitted" and result.steps == 0 and math.isfinite(result.best_valid_loss)


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), float("inf")])
def test_absurd_budget_is_refused(points_ds, seconds):
    with pytest.raises(ValueError, match="seconds"):
        genlab.train(genlab.create_model("gaussian", points_ds), points_ds, seconds=seconds)


def test_single_steps_from_a_pause(points_ds):
    control = TrainControl()
    control.pause()
    seen = []
    model = genlab.create_model("gmm", points_ds, num_components=3)
    thread = threading.Thread(target=lambda: genlab.train(model, points_ds, seconds=30, control=control,
                                                            on_metrics=seen.append))
    thread.start()
    time.sleep(0.3)
    assert seen == []  # paused from the start: no step taken
    control.step(1)
    time.sleep(0.5)
    assert seen[-1]["step"] == 1 and control.paused
    control.step(5)
    time.sleep(0.5)
    assert seen[-1]["step"] == 6 and control.paused
    control.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_mid_run_changes_take_effect_and_are_marked(points_ds):
    control = TrainControl()
    seen = []
    model = genlab.create_model("gmm", points_ds, num_components=3, learning_rate=0.01, batch_size=64)
    thread = threading.Thread(target=lambda: genlab.train(model, points_ds, seconds=2.0, control=control,
                                                            on_metrics=seen.append, report_every=0.05))
    thread.start()
    time.sleep(0.5)
    control.change(learning_rate=0.002, batch_size=32)
    thread.join(10)
    events = [r["event"] for r in seen if "event" in r]
    assert events == ["learning_rate 0.01 → 0.002, batch_size 64 → 32"]
    assert model.config.learning_rate == 0.002 and model.config.batch_size == 32
    with pytest.raises(ValueError, match="can change"):
        control.change(num_components=4)


def wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "the training thread did not get there in time"
        time.sleep(0.02)


def paused_run(model, ds, control: TrainControl, seen: list, done: dict) -> threading.Thread:
    """Train `model` in a thread, paused before its first step."""
    control.pause()
    thread = threading.Thread(target=lambda: done.update(result=genlab.train(
        model, ds, seconds=60, control=control, on_metrics=seen.append)))
    thread.start()
    return thread


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


GAN_TINY = {"hidden_units": 16, "hidden_layers": 1, "batch_size": 32}


@pytest.mark.parametrize("family, hparams", [("gmm", {"num_components": 3, "learning_rate": 0.05}), ("gan", GAN_TINY)])
def test_reset_puts_back_the_initial_weights_and_restarts_best_tracking(points_ds, family, hparams):
    control, seen, done = TrainControl(), [], {}
    model = genlab.create_model(family, points_ds, **hparams)
    twin = copy.deepcopy(model)
    genlab.train(twin, points_ds, seconds=30, max_steps=0)  # initialised with the same seed, no step
    initial = weights(twin)
    thread = paused_run(model, points_ds, control, seen, done)
    control.step(20)
    wait_for(lambda: seen and seen[-1]["step"] == 20)
    assert any(not torch.equal(initial[k], v) for k, v in model.state_dict().items())
    control.reset()  # from the pause: applied and reported at once
    wait_for(lambda: seen[-1].get("event") == "reset to initial weights")
    assert seen[-1]["step"] == 20 and control.paused  # the step count goes on; still paused
    state = model.state_dict()
    assert state.keys() == initial.keys() and all(torch.equal(initial[k], state[k]) for k in initial)
    control.stop()
    thread.join(10)
    if family == "gmm":  # 20 steps beat the start, yet the weights kept are the ones since the reset
        assert seen[-3]["valid_loss"] < seen[-2]["valid_loss"]
    assert all(torch.equal(initial[k], v) for k, v in model.state_dict().items())


def test_slow_motion_reports_every_k_steps(points_ds):
    control = TrainControl()
    control.set_speed(3, wait_seconds=0.0)
    model = genlab.create_model("gmm", points_ds, num_components=3)
    result = genlab.train(model, points_ds, seconds=30, max_steps=12, control=control)
    steps = [r["step"] for r in result.metrics[:-1]]  # the last is the final report
    assert steps == [3, 6, 9, 12] and result.metrics[-1]["step"] == 12


def test_slow_motion_waits_do_not_count_against_the_budget(points_ds):
    control = TrainControl()
    control.set_speed(1, wait_seconds=0.3)
    model = genlab.create_model("gmm", points_ds, num_components=3)
    began = time.perf_counter()
    result = genlab.train(model, points_ds, seconds=0.5, max_steps=4, control=control)
    assert time.perf_counter() - began >= 1.2  # it waited after each of the 4 reports...
    assert result.steps == 4 and result.seconds < 0.5  # ...and the budget did not run out for it
    assert [r["step"] for r in result.metrics] == [1, 2, 3, 4, 4]
    control.set_speed(None)
    assert control.steps_per_report is None
    with pytest.raises(ValueError, match="at least 1"):
        control.set_speed(0)


def test_players_and_critic_steps_change_mid_run_and_are_marked(points_ds):
    control, seen, done = TrainControl(), [], {}
    model = genlab.create_model("gan", points_ds, **GAN_TINY)
    thread = paused_run(model, points_ds, control, seen, done)
    time.sleep(0.5)
    critic, generator = weights(model.critic), weights(model.generator)
    control.change(player="generator", critic_steps=2)
    control.step(3)
    wait_for(lambda: seen and seen[-1]["step"] == 3)
    assert [r["event"] for r in seen if "event" in r] == ["training: generator only; critic_steps 1 → 2"]
    assert all(torch.equal(critic[k], v) for k, v in model.critic.state_dict().items())
    assert any(not torch.equal(generator[k], v) for k, v in model.generator.state_dict().items())
    control.change(player="referee")
    control.step(1)
    wait_for(lambda: seen[-1]["step"] == 4)
    assert seen[-1]["event"].startswith("change refused") and "discriminator" in seen[-1]["event"]
    control.change(player="both")
    control.step(1)
    wait_for(lambda: seen[-1]["step"] == 5)
    assert seen[-1]["event"] == "training: both players"
    assert any(not torch.equal(critic[k], v) for k, v in model.critic.state_dict().items())
    control.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_a_family_without_players_refuses_one_on_the_chart(points_ds):
    control = TrainControl()
    control.change(player="generator", critic_steps=3)
    model = genlab.create_model("gmm", points_ds, num_components=3)
    result = genlab.train(model, points_ds, seconds=30, max_steps=2, control=control)
    (event,) = [r["event"] for r in result.metrics if "event" in r]
    assert "no player 'generator'" in event and "cannot change critic_steps" in event
    assert result.steps == 2


def test_the_optimizer_hook_sees_every_optimizer_and_joins_every_step(points_ds):
    from genlab.train import torch_optimizers

    made, steps = [], []

    def on_optimizer(optimizer):
        made.append(optimizer)
        for opt in torch_optimizers(optimizer):
            opt.register_step_pre_hook(lambda opt, args, kwargs: steps.append(len(made)))

    control = TrainControl()
    control.reset()  # seen at the first step: a fresh optimizer, handed to the hook too
    model = genlab.create_model("gmm", points_ds, num_components=2)
    result = genlab.train(model, points_ds, seconds=10, max_steps=6, control=control, on_optimizer=on_optimizer)
    assert result.steps == 6 and len(made) == 2 and made[0] is not made[1]
    assert steps == [2] * 6  # every step went through the optimizer made last
    assert result.metrics[0]["event"] == "reset to initial weights"


def test_pause_resume_steps_and_speed_are_marked_where_they_happened(points_ds):
    control, seen, done = TrainControl(), [], {}
    model = genlab.create_model("gmm", points_ds, num_components=3)
    thread = paused_run(model, points_ds, control, seen, done)  # a pause before the first step is not marked
    try:
        control.step(3)
        wait_for(lambda: seen and seen[-1]["step"] == 3)
        assert [r["step"] for r in seen if r.get("control") == "3 steps from the pause"] in ([1], [3])
        control.resume()
        wait_for(lambda: seen[-1].get("control") == "resumed")
        control.pause()  # reported at once, at the step where it paused
        wait_for(lambda: seen[-1].get("control") == "paused")
        paused_at = seen[-1]["step"]
        control.set_speed(5, wait_seconds=0.0)
        control.step(1)
        wait_for(lambda: seen[-1]["step"] == paused_at + 1)
        assert seen[-1]["control"] == "slow motion: a redraw every 5 steps; 1 step from the pause"
    finally:
        control.stop()
        thread.join(10)


def test_schedule_factor_runs_a_cosine_from_the_rate_to_a_small_share_of_it():
    from genlab.models.base import FINAL_LEARNING_RATE_SHARE, schedule_factor

    assert schedule_factor("constant", 0.7) == 1.0
    assert schedule_factor("cosine", 0.0) == pytest.approx(1.0)
    assert schedule_factor("cosine", 0.5) == pytest.approx(0.5 + FINAL_LEARNING_RATE_SHARE / 2)
    assert schedule_factor("cosine", 1.0) == schedule_factor("cosine", 3.0) == pytest.approx(FINAL_LEARNING_RATE_SHARE)
    values = [schedule_factor("cosine", p / 10) for p in range(11)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="Unknown learning-rate schedule"):
        schedule_factor("linear", 0.5)


@pytest.mark.parametrize("family", ["nsf", "ddpm"])
def test_a_cosine_schedule_sets_every_optimizer_step_by_step_and_a_constant_one_does_not(points_ds, family):
    from genlab.models.base import schedule_factor
    from genlab.train import torch_optimizers

    seen = []

    def watch(optimizer):
        for opt in torch_optimizers(optimizer):
            opt.register_step_pre_hook(lambda o, *_: seen.append(o.param_groups[0]["lr"]))

    for schedule in ("constant", "cosine"):
        seen.clear()
        model = genlab.create_model(family, points_ds, learning_rate=0.01, learning_rate_schedule=schedule)
        genlab.train(model, points_ds, seconds=3600, max_steps=20, on_optimizer=watch)
        if schedule == "constant":
            assert set(seen) == {0.01}
        else:  # the budget here is max_steps: step k of 20 is at progress k/20
            assert seen == pytest.approx([0.01 * schedule_factor("cosine", k / 20) for k in range(20)])
