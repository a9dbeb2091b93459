"""Lesson 2, parametric vs. non-parametric as the data grow: a Gaussian (fixed size), a KDE (keeps
every point) and a deep model fitted to ever more items, scored on held-out ones.

Reference:
    Silverman, "Density Estimation" (1986): the KDE.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from genlab.concepts.common import DEEP_HPARAMS, EVAL_ITEMS, FAMILY_SECONDS, deep_family, fit_family
from genlab.data.base import DataSpec, Dataset
from genlab.evaluate import batched_log_prob
from genlab.models import families

__all__ = ["growth_sizes", "growth_models", "growth_curve", "growth_verdict"]


def growth_sizes(n_total: int, start: int = 10) -> list[int]:
    """10, 30, 100, 300, 1,000, ... (from `start`) below n_total, then n_total itself."""
    sizes, k = [], 0
    while (size := start * 10 ** (k // 2) * (3 if k % 2 else 1)) < n_total:
        sizes.append(size)
        k += 1
    return sizes + [n_total]


def growth_models(spec: DataSpec, deep: bool = True, seconds: float = FAMILY_SECONDS) -> dict[str, dict]:
    """The line-up of the growth panel: label -> {"family", "kind", "hparams", "seconds"}."""
    lineup = {
        "Gaussian": {"family": "gaussian", "kind": "parametric", "hparams": {}, "seconds": 1.0},
        "KDE": {"family": "kde", "kind": "non-parametric", "hparams": {"num_bandwidths": 16}, "seconds": 1.0},
    }
    family = deep_family(spec) if deep else None
    if family is not None:
        lineup[families()[family].title] = {"family": family, "kind": "deep (parametric)",
                                            "hparams": DEEP_HPARAMS.get(family, {}), "seconds": seconds}
    return lineup


def growth_curve(ds: Dataset, models: Mapping[str, dict], sizes: Sequence[int] | None = None, seed: int = 0,
                 max_test: int = EVAL_ITEMS * 2) -> list[dict]:
    """Fit every model on the first n items of one shuffle of `ds.train` (nested subsets), for each n.

    Returns rows {"model", "kind", "n", "test_nll_nats", "bits_per_dim" (images), "fit_seconds",
    "num_parameters", "log_prob_kind" (on images the Gaussian and KDE are dequantised: "lower_bound")};
    a KDE keeps every one of its n training items (max_points = n), so its
    parameter count grows with the data.
    """
    sizes = growth_sizes(len(ds.train)) if sizes is None else list(sizes)
    order = torch.randperm(len(ds.train), generator=torch.Generator().manual_seed(seed))
    x_test = ds.test[:max_test]
    rows = []
    for n in sizes:
        subset = ds.train[order[:n]]
        for label, entry in models.items():
            hparams = dict(entry["hparams"])
            if entry["family"] == "kde":
                hparams["max_points"] = max(n, 10)
            model, seconds = fit_family(entry["family"], subset, ds.spec, entry["seconds"], seed, **hparams)
            nll = -float(batched_log_prob(model, x_test).double().mean())
            row = {"model": label, "kind": entry["kind"], "n": n, "test_nll_nats": nll, "fit_seconds": seconds,
                   "num_parameters": model.num_parameters(), "log_prob_kind": model.log_prob_kind}
            if ds.view != "continuous":
                row["bits_per_dim"] = nll / (ds.dim * math.log(2))
            rows.append(row)
    return rows


def growth_verdict(rows: Sequence[dict], dim: int, parametric: str = "Gaussian",
                   non_parametric: str = "KDE") -> str:
    """Which of the two baselines has the lower held-out NLL at the smallest and the largest n, in words.

    `dim` is the data's dimension D: with fewer points than D a full Gaussian's covariance is singular.
    """
    nll = {(r["model"], r["n"]): r["test_nll_nats"] for r in rows}
    sizes = sorted({r["n"] for r in rows})
    small, large = sizes[0], sizes[-1]

    def leader(n: int) -> str:
        return parametric if nll[(parametric, n)] < nll[(non_parametric, n)] else non_parametric

    def pair(n: int) -> str:
        return f"{parametric} {nll[(parametric, n)]:,.2f} vs. {non_parametric} {nll[(non_parametric, n)]:,.2f} nats"

    singular = (f" With n = {small:,} points in D = {dim:,} dimensions the {parametric}'s covariance is singular, "
                "held up only by a small ridge." if small <= dim else "")
    if leader(small) == parametric and leader(large) == non_parametric:
        crossing = next(n for n in sizes if leader(n) == non_parametric)
        return (f"The {parametric} wins with {small:,} points ({pair(small)}) and the {non_parametric} "
                f"overtakes it by n = {crossing:,} ({pair(large)} at n = {large:,}): a fixed family stops "
                "improving once its parameters are pinned down; the data-sized model keeps going.")
    if leader(small) == leader(large):
        return (f"On this data the {leader(small)} has the lower held-out NLL at both ends: {pair(small)} at "
                f"n = {small:,}, {pair(large)} at n = {large:,}.{singular}")
    return (f"Reversed here: the {non_parametric} leads at n = {small:,} ({pair(small)}) and the {parametric} "
            f"at n = {large:,} ({pair(large)}).{singular} With all the data, one shared covariance generalises "
            f"better than kernels sitting on single training items in D = {dim:,} dimensions.")
