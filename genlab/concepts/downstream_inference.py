"""Lesson 4, downstream inference: what a model's features `encode(x)` are worth to a linear
classifier with few labels, against the same classifier on raw pixels. (Conditional completion,
the lesson's other half, is `genlab.completion`.)"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from genlab.concepts.common import EVAL_ITEMS, flat_features, one_blas_thread
from genlab.concepts.learning_curves import stratified_subset
from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel
from genlab.queries import encode

__all__ = ["PROBE_LABELS", "linear_probe", "probe_comparison", "probe_summary"]


PROBE_LABELS = (10, 100, None)  # labelled examples per class; None: all of them


def linear_probe(features_train: np.ndarray, y_train, features_test: np.ndarray, y_test,
                 per_class: int | None = None, repeats: int = 3, seed: int = 0) -> float:
    """Mean test accuracy of logistic regression on standardised features, fitted on `per_class`
    random labelled items of every class (all of them, once, when None)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    scores = []
    for repeat in range(1 if per_class is None else repeats):
        index = stratified_subset(torch.as_tensor(y_train), per_class,
                                  torch.Generator().manual_seed(seed * 1000 + repeat)).numpy()
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
        with one_blas_thread():
            probe.fit(features_train[index], y_train[index])
            scores.append(probe.score(features_test, y_test))
    return float(np.mean(scores))


def probe_comparison(model: GenerativeModel, ds: Dataset, per_class: Sequence[int | None] = PROBE_LABELS,
                     repeats: int = 3, seed: int = 0, max_test: int = EVAL_ITEMS) -> list[dict]:
    """Linear-probe accuracy on raw pixels and on the model's features `encode(x)`, per label budget.

    Returns rows {"features", "per_class", "accuracy", "dim"}; "per_class" is None for all labels.
    Sizes larger than the smallest class are left out.
    """
    if not model.can("encode"):
        raise ValueError(f"{model.title} has no encode(x); pick a model with a latent or feature space.")
    if ds.labels_train is None:
        raise ValueError(f"{ds.name} has no labels to probe with.")
    smallest = int(torch.bincount(ds.labels_train).min())
    x_test, y_test = ds.test[:max_test], ds.labels_test[:max_test]
    feature_sets = {
        "raw pixels": (flat_features(ds.train, ds.spec), flat_features(x_test, ds.spec)),
        f"{model.title} features": (encode(model, ds.train), encode(model, x_test)),
    }
    rows = []
    for name, (train_features, test_features) in feature_sets.items():
        for size in per_class:
            if size is not None and size > smallest:
                continue
            score = linear_probe(train_features, ds.labels_train, test_features, y_test, size, repeats, seed)
            rows.append({"features": name, "per_class": size, "accuracy": score, "dim": train_features.shape[1]})
    return rows


def probe_summary(rows: Sequence[dict]) -> str:
    """Where the model's features beat raw pixels, and where they do not, in words."""
    raw = {r["per_class"]: r["accuracy"] for r in rows if r["features"] == "raw pixels"}
    learned = {r["per_class"]: r["accuracy"] for r in rows if r["features"] != "raw pixels"}
    parts = []
    for size, score in learned.items():
        budget = "all labels" if size is None else f"{size} labels per class"
        verb = "beat" if score > raw[size] else "trail"
        parts.append(f"with {budget} the features {verb} raw pixels ({score:.1%} vs. {raw[size]:.1%})")
    return "; ".join(parts).capitalize() + "."
