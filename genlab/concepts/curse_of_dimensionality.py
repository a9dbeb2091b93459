"""Lesson 3, the curse of dimensionality: how many inputs there are (L^D, counted by its log10), and
the same curse measured: a KDE against a deep autoregressive model as the resolution grows.

Reference:
    Silverman, "Density Estimation" (1986): the KDE and its curse of dimensionality.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import torch
import torch.nn.functional as F

from genlab.concepts.common import DEEP_HPARAMS, EVAL_ITEMS, FAMILY_SECONDS, deep_family, fit_family
from genlab.data import load_dataset
from genlab.data.base import Dataset, from_tensors
from genlab.evaluate import batched_log_prob
from genlab.models import families

__all__ = ["NOTES_IMAGE", "NOTES_PRINTED_EXPONENT", "DATASET_SIZES", "log10_possible_inputs", "power_of_ten",
           "format_power_of_ten", "downsample", "RESOLUTIONS", "resolution_gap", "gap_summary"]


NOTES_IMAGE = {"height": 700, "width": 1400, "channels": 3, "levels": 256}  # the notes' RGB image
NOTES_PRINTED_EXPONENT = 800_000  # what the notes print: 10^800000
DATASET_SIZES = {"scikit-learn digits": 1_797, "MNIST": 70_000, "the notes' data set": 15_000_000}


def log10_possible_inputs(height: int, width: int, channels: int, levels: int) -> float:
    """log10 of levels^(height·width·channels), the number of distinct inputs, without forming it."""
    for name, value in (("height", height), ("width", width), ("channels", channels), ("levels", levels)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}.")
    return height * width * channels * math.log10(levels)


def power_of_ten(log10_value: float) -> tuple[float, int]:
    """(mantissa in [1, 10), exponent) with mantissa × 10^exponent = 10^log10_value."""
    exponent = math.floor(log10_value)
    return 10 ** (log10_value - exponent), exponent


def format_power_of_ten(log10_value: float, latex: bool = False) -> str:
    """'3.15 × 10^7,080,225' (or LaTeX) for a number given by its log10."""
    mantissa, exponent = power_of_ten(log10_value)
    if latex:
        return f"{mantissa:.2f} \\times 10^{{{exponent:,}}}".replace(",", "{,}")
    return f"{mantissa:.2f} × 10^{exponent:,}"


def _downsample_pixels(x: torch.Tensor, size: int, view: str, levels: int) -> torch.Tensor:
    """Area-average images (N, C, H, W) to size×size, then back into the view's values."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x.clone()
    averaged = F.adaptive_avg_pool2d(x.float(), size)  # mean of the pixels each new pixel covers
    if view == "binary":
        return (averaged >= 0.5).float()
    return averaged.round().clamp(0, levels - 1)


def downsample(ds: Dataset, size: int) -> Dataset:
    """The image set at size×size pixels, in the same view and levels, with the same labels and split.

    Each new pixel is the mean of the pixels it covers, thresholded at 1/2 (binary) or rounded to a
    level (gray8), so the result is a valid data set of that view.
    """
    if ds.view == "continuous":
        raise ValueError(f"{ds.name} is a set of points; only image sets can be downsampled.")
    if size < 1 or size > min(ds.shape[-2:]):
        raise ValueError(f"size must be between 1 and {min(ds.shape[-2:])} pixels; got {size}.")
    train, test = (_downsample_pixels(x, size, ds.view, ds.levels) for x in (ds.train, ds.test))
    small = from_tensors(train, test, view=ds.view, labels_train=ds.labels_train, labels_test=ds.labels_test,
                         levels=ds.levels if ds.view == "gray8" else None, name=f"{ds.name}@{size}x{size}")
    return dataclasses.replace(small, description=f"{ds.name} averaged down to {size}×{size} pixels.")


RESOLUTIONS = (("digits", 4), ("digits", 8), ("mnist5k", 16), ("mnist5k", 28))  # (source, side) of the gap panel


def resolution_gap(source: str, size: int, view: str = "binary", seconds: float = FAMILY_SECONDS,
                   seed: int = 0) -> list[dict]:
    """Held-out bits/dim of a KDE and of the deep autoregressive family on `source` at size×size.

    Returns rows {"source", "size", "dim", "model", "family", "bits_per_dim", "fit_seconds"}.
    """
    ds = downsample(load_dataset(source, view=view, seed=seed), size)
    lineup = {"KDE": ("kde", {"num_bandwidths": 16}, 1.0)}
    family = deep_family(ds.spec)
    if family is not None:
        lineup[families()[family].title] = (family, DEEP_HPARAMS.get(family, {}), seconds)
    rows = []
    for label, (name, hparams, budget) in lineup.items():
        model, took = fit_family(name, ds.train, ds.spec, budget, seed, **hparams)
        nll = -float(batched_log_prob(model, ds.test[:EVAL_ITEMS]).double().mean())
        rows.append({"source": source, "size": size, "dim": ds.dim, "model": label, "family": name,
                     "bits_per_dim": nll / (ds.dim * math.log(2)), "fit_seconds": took})
    return rows


def gap_summary(rows: Sequence[dict]) -> dict:
    """The KDE-minus-deep gap per resolution, per dim and per image, and whether it widens with D.

    Returns {"gaps": [{"label", "dim", "bits_per_dim", "bits_per_image"}, ...] sorted by D,
    "sentence": the finding in words}; no sentence (None) with fewer than two resolutions.
    """
    by_size: dict[tuple, dict] = {}
    for r in rows:
        by_size.setdefault((r["dim"], r["source"], r["size"]), {})[r["family"]] = r["bits_per_dim"]
    gaps = []
    for (dim, source, size), values in sorted(by_size.items()):
        deep = [v for f, v in values.items() if f != "kde"]
        if "kde" in values and deep:
            per_dim = values["kde"] - deep[0]
            gaps.append({"label": f"{size}×{size} {source}", "dim": dim, "bits_per_dim": per_dim,
                         "bits_per_image": per_dim * dim})
    if len(gaps) < 2:
        return {"gaps": gaps, "sentence": None}
    first, last = gaps[0], gaps[-1]
    per_image = all(b["bits_per_image"] > a["bits_per_image"] for a, b in zip(gaps, gaps[1:]))
    per_dim = all(b["bits_per_dim"] > a["bits_per_dim"] for a, b in zip(gaps, gaps[1:]))
    trend = ("widens at every step, per image and per dimension" if per_image and per_dim else
             "widens at every step per image (though not at every step per dimension)" if per_image else
             "does not widen steadily here")
    sentence = (f"The KDE's shortfall against the deep model {trend}: {first['bits_per_image']:,.1f} bits per image "
                f"({first['bits_per_dim']:.3f} per dim) at {first['label']}, {last['bits_per_image']:,.1f} bits per "
                f"image ({last['bits_per_dim']:.3f} per dim) at {last['label']}.")
    return {"gaps": gaps, "sentence": sentence}
