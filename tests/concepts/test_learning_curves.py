"""Lesson 1's learning curve: fitted on train items, scored on disjoint test items, read by its verdict."""

import numpy as np
import pytest
import torch

from genlab import concepts
from genlab.data.base import from_tensors


class Recorder(concepts.Classifier):
    """Predicts class 0 and remembers which items it was fitted on and asked about (ids in column 0)."""

    fitted_on: list = []
    asked_about: list = []

    def _fit(self, x, y):
        Recorder.fitted_on.append((x[:, 0].long().tolist(), y.tolist()))

    def predict_log_proba(self, x):
        Recorder.asked_about.append(x[:, 0].long().tolist())
        out = np.full((len(x), self.num_classes), -np.inf)
        out[:, 0] = 0.0
        return out


def test_the_learning_curve_fits_on_train_items_and_scores_on_disjoint_test_items():
    train_ids, test_ids = torch.arange(0, 90), torch.arange(1000, 1060)
    train = torch.stack([train_ids.float(), torch.zeros(90)], 1)
    test = torch.stack([test_ids.float(), torch.zeros(60)], 1)
    ds = from_tensors(train, test, view="continuous", labels_train=train_ids % 3, labels_test=test_ids % 3)
    Recorder.fitted_on, Recorder.asked_about = [], []
    rows = concepts.learning_curve(ds, {"recorder": lambda seed: Recorder(ds.spec, seed)}, sizes=[5, 10, None],
                                   repeats=2, seed=0)
    assert [r["n_train"] for r in rows] == [15, 30, 90] * 2
    for ids, labels in Recorder.fitted_on:
        assert set(ids) <= set(train_ids.tolist())
        assert labels == [i % 3 for i in ids]  # each item keeps its own label
        assert np.bincount(labels).min() == np.bincount(labels).max()  # class-balanced
    for ids in Recorder.asked_about:
        assert ids == test_ids.tolist()
    assert all(r["accuracy"] == pytest.approx(1 / 3) for r in rows)
    assert Recorder.fitted_on[0][0] != Recorder.fitted_on[3][0]  # repeats draw fresh subsets


def test_the_learning_curve_runs_both_kinds_and_reads_its_own_verdict():
    ds = concepts.gaussian_blobs(300, 300, seed=0)
    builders = {name: (lambda seed, name=name: concepts.make_classifier(name, ds.spec, seed))
                for name in ("logistic", "naive_bayes")}
    rows = concepts.learning_curve(ds, builders, sizes=[5, None], repeats=2, seed=0)
    assert {r["kind"] for r in rows} == {"discriminative", "generative"}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert all(r["accuracy"] > 0.6 for r in rows if r["n_train"] == 300)  # chance is 1/3
    assert "curves" in concepts.curve_verdict(rows)["sentence"]


def verdict_rows(small: tuple[float, float], large: tuple[float, float]) -> list[dict]:
    rows = []
    for per_class, (gen, disc) in ((5, small), (500, large)):
        rows += [{"classifier": "nb", "kind": "generative", "per_class": per_class, "accuracy": gen},
                 {"classifier": "lr", "kind": "discriminative", "per_class": per_class, "accuracy": disc}]
    return rows


def test_the_verdict_says_what_the_curve_shows():
    crossing = concepts.curve_verdict(verdict_rows((0.80, 0.70), (0.90, 0.95)))
    assert crossing["cross"] and crossing["sentence"].startswith("The curves cross")
    never = concepts.curve_verdict(verdict_rows((0.70, 0.80), (0.90, 0.95)))
    assert not never["cross"] and "do not cross" in never["sentence"]
    level = concepts.curve_verdict(verdict_rows((0.805, 0.80), (0.90, 0.95)))
    assert level["leaders"][0][1] == "level" and not level["cross"]
