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
