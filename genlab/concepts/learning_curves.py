"""Lesson 1's learning curve: test accuracy against the number of labelled examples per class, and
which side leads at each end (the generative side early, the discriminative side late, says the textbook).

Reference:
    Ng & Jordan, "On discriminative vs. generative classifiers" (NIPS 2001): the crossing.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from genlab.concepts.classifiers import Classifier, accuracy
from genlab.concepts.common import DISCRIMINATIVE, EVAL_ITEMS, GENERATIVE
from genlab.data.base import Dataset

__all__ = ["CURVE_CLASSIFIERS", "CURVE_SIZES", "LEVEL", "stratified_subset", "curve_sizes", "learning_curve",
           "curve_means", "curve_verdict"]


CURVE_CLASSIFIERS = ("logistic", "mlp", "naive_bayes", "gaussian", "kde")  # the learning curve's default line-up


def stratified_subset(labels: torch.Tensor, per_class: int | None, generator: torch.Generator) -> torch.Tensor:
    """Indices of `per_class` random items of every class (all items when None), sorted."""
    labels = torch.as_tensor(labels)
    if per_class is None:
        return torch.arange(len(labels))
    chosen = []
    for k in labels.unique():
        members = (labels == k).nonzero()[:, 0]
        if len(members) < per_class:
            raise ValueError(f"Class {int(k)} has {len(members)} items, fewer than the {per_class} asked for.")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


CURVE_SIZES = (5, 10, 20, 50, 100, 200)  # labelled examples per class


def curve_sizes(labels: torch.Tensor, sizes: Sequence[int] = CURVE_SIZES) -> list[int | None]:
    """The sizes every class can provide, then None for all the labelled data."""
    smallest = int(torch.bincount(torch.as_tensor(labels)).min())
    return [s for s in sizes if s < smallest] + [None]


def learning_curve(ds: Dataset, classifiers: Mapping[str, Callable[[int], Classifier]],
                   sizes: Sequence[int | None] | None = None, repeats: int = 3, seed: int = 0,
                   max_test: int = EVAL_ITEMS) -> list[dict]:
    """Test accuracy against the number of labelled examples per class.

    Each classifier is fitted on random class-balanced subsets of `ds.train` only, and scored on
    (the first `max_test` items of) `ds.test`, a disjoint split. The whole training split (size
    None) is fitted once per repeat with the same data.

    Arguments:
        classifiers: name -> a function of a seed that builds an unfitted classifier.
        sizes: labelled examples per class; default `curve_sizes(ds.labels_train)`.

    Returns:
        Rows {"classifier", "kind", "per_class", "n_train", "repeat", "accuracy"}; "per_class" is the
        mean number per class, so the last size reads as the whole split.
    """
    if ds.labels_train is None or ds.labels_test is None:
        raise ValueError(f"{ds.name} has no labels; a learning curve needs a labelled data set.")
    sizes = curve_sizes(ds.labels_train) if sizes is None else list(sizes)
    num_classes = int(ds.labels_train.max()) + 1
    x_test, y_test = ds.test[:max_test], ds.labels_test[:max_test]
    rows = []
    for repeat in range(repeats):
        generator = torch.Generator().manual_seed(seed * 1000 + repeat)
        for size in sizes:
            index = stratified_subset(ds.labels_train, size, generator)
            x, y = ds.train[index], ds.labels_train[index]
            for name, build in classifiers.items():
                model = build(seed + repeat).fit(x, y, num_classes)
                rows.append({"classifier": name, "kind": model.kind, "per_class": len(index) / num_classes,
                             "n_train": len(index), "repeat": repeat, "accuracy": accuracy(model, x_test, y_test)})
    return rows


def curve_means(rows: Sequence[dict], value: str = "accuracy", x: str = "per_class",
                series: str = "classifier") -> dict[str, dict[float, tuple[float, float]]]:
    """series -> {x: (mean, standard deviation over repeats)}, x sorted."""
    groups: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        groups.setdefault(row[series], {}).setdefault(row[x], []).append(row[value])
    return {name: {k: (float(np.mean(v)), float(np.std(v))) for k, v in sorted(points.items())}
            for name, points in groups.items()}


LEVEL = 0.01  # accuracies closer than one percentage point count as level (about the noise of 1,000 test items)


def curve_verdict(rows: Sequence[dict], level: float = LEVEL) -> dict:
    """Which side leads at the smallest and at the largest training set, read off the curve itself.

    Compares the best generative with the best discriminative mean accuracy at each size; a
    difference under `level` is a draw.

    Returns:
        {"leaders": [(per_class, "generative" | "discriminative" | "level", best generative,
        best discriminative), ...], "cross": True when the generative side leads at the smallest
        size and the discriminative side at the largest, "sentence": the finding in words}.
    """
    means = curve_means(rows)
    kinds = {row["classifier"]: row["kind"] for row in rows}
    leaders = []
    for size in sorted({row["per_class"] for row in rows}):
        best = {kind: max((m[size][0] for name, m in means.items() if kinds[name] == kind and size in m),
                          default=float("nan")) for kind in (GENERATIVE, DISCRIMINATIVE)}
        gap = best[GENERATIVE] - best[DISCRIMINATIVE]
        side = "level" if not abs(gap) >= level else GENERATIVE if gap > 0 else DISCRIMINATIVE
        leaders.append((size, side, best[GENERATIVE], best[DISCRIMINATIVE]))

    def at(entry) -> str:
        size, side, g, d = entry
        scores = f"best generative {g:.1%}, best discriminative {d:.1%}"
        lead = "the two sides are level" if side == "level" else f"the {side} side leads"
        return f"with {size:,.0f} labelled examples per class {lead} ({scores})"

    first, last = leaders[0], leaders[-1]
    cross = first[1] == GENERATIVE and last[1] == DISCRIMINATIVE
    if cross:
        sentence = f"The curves cross as the textbook says: {at(first)}; {at(last)}."
    else:
        sentence = f"On this data the curves do not cross as the textbook says: {at(first)}; {at(last)}."
    return {"leaders": leaders, "cross": cross, "sentence": sentence}
