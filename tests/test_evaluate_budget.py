"""Evaluation within a time budget: as many items scored and samples drawn as fit, never fewer than a probe."""
import math
import time

import torch

import genlab
from genlab.evaluate import MMD_ITEMS, PROBE_ITEMS, budgeted, budgeted_items, evaluate


def slow_items(per_item: float):
    def make(a, b):
        time.sleep(per_item * (b - a))
        return torch.arange(a, b, dtype=torch.float32)
    return make


def test_without_a_budget_every_item_is_made_in_order():
    assert torch.equal(budgeted(100, slow_items(0.0), None), torch.arange(100, dtype=torch.float32))


def test_a_budget_stops_at_what_fits_and_never_below_the_probe():
    made = budgeted(10_000, slow_items(0.002), seconds=0.3)  # about 150 fit at 2 ms each
    assert PROBE_ITEMS < len(made) < 10_000
    assert torch.equal(made, torch.arange(len(made), dtype=torch.float32))  # the probe, then the rest, in order
    assert len(budgeted(10_000, slow_items(0.002), seconds=0.0)) == PROBE_ITEMS


def test_budgeted_items_scores_a_seeded_random_subset():
    x = torch.arange(500, dtype=torch.float32)[:, None]
    items, scores = budgeted_items(x, lambda part: part[:, 0] * 2, seconds=0.0, seed=3)
    again, _ = budgeted_items(x, lambda part: part[:, 0] * 2, seconds=0.0, seed=3)
    assert len(items) == PROBE_ITEMS and torch.equal(items, again) and torch.equal(scores, items[:, 0] * 2)
    assert not torch.equal(items[:, 0], torch.arange(PROBE_ITEMS, dtype=torch.float32))  # not just the first


def test_a_slow_sampler_draws_fewer_samples_against_the_whole_test_split(monkeypatch):
    ds = genlab.load_dataset("digits", view="binary")
    model = genlab.create_model("bernoulli", ds)
    sample = model._sample

    def slow_sample(n, temperature, generator):
        time.sleep(0.01 * n)  # a pixel-by-pixel sampler on large images: about 100 a second
        return sample(n, temperature, generator)

    monkeypatch.setattr(model, "_sample", slow_sample)
    full = evaluate(model, ds)
    budgeted_run = evaluate(model, ds, seconds=0.5)
    assert full["samples_compared"] == min(len(ds.test), MMD_ITEMS)
    assert PROBE_ITEMS <= budgeted_run["samples_compared"] < full["samples_compared"]
    assert budgeted_run["n_test_total"] == len(ds.test)
    assert budgeted_run["frechet_samples"] == budgeted_run["samples_compared"]


def test_a_pixel_by_pixel_sampler_on_large_images_leaves_its_samples_out_of_a_timed_evaluation_and_says_why():
    ds = genlab.load_dataset("mnist5k", view="binary")
    model = genlab.create_model("pixelcnn", ds, channels=4, residual_blocks=0)
    timed = evaluate(model, ds, max_items=64, seconds=0.5)
    assert "mmd" not in timed and "784 passes" in timed["samples_skipped"]
    assert timed["test_nll_nats"] is not None  # the likelihood is still scored


def test_a_slow_implicit_sampler_on_a_toy_fits_its_kl_to_fewer_samples_and_says_how_many(monkeypatch):
    from genlab.evaluate import LEAST_SAMPLES_FOR_KL, SAMPLES_FOR_KL

    ds = genlab.load_dataset("toy:8gaussians")
    model = genlab.create_model("gan", ds, hidden_units=16, hidden_layers=1)
    sample = model._sample

    def slow_sample(n, temperature, generator):
        time.sleep(0.0002 * n)  # a rejection sampler keeping few of its proposals: 20,000 samples take 4 s
        return sample(n, temperature, generator)

    monkeypatch.setattr(model, "_sample", slow_sample)
    began = time.perf_counter()
    timed = evaluate(model, ds, seconds=1.0)
    assert time.perf_counter() - began < 4  # not the 4 s the full 20,000 samples would take, plus the fit
    drawn = int(timed["kl_method"].split("fitted to ")[1].split(" samples")[0].replace(",", ""))
    assert LEAST_SAMPLES_FOR_KL <= drawn < SAMPLES_FOR_KL and math.isfinite(timed["kl_nats"])
    assert f"{SAMPLES_FOR_KL:,} samples" in evaluate(model, ds)["kl_method"]  # no budget: all of them
