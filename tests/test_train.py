"""The training loop: budgets, best-weight selection, divergence, pause and stop."""
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
