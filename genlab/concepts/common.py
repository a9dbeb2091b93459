"""What the Concepts lessons share: the two kinds of classifier, the evaluation size, one BLAS
thread for scikit-learn, items as flat features, and fitting a GenLab family with the trainer."""
from __future__ import annotations

import time

import numpy as np
import torch

from genlab.data.base import DataSpec, from_tensors
from genlab.models import create_model, families, fits
from genlab.models.base import GenerativeModel
from genlab.train import train

__all__ = ["DISCRIMINATIVE", "GENERATIVE", "EVAL_ITEMS", "FAMILY_SECONDS", "one_blas_thread", "flat_features",
           "fit_family", "DEEP_CHOICES", "DEEP_HPARAMS", "deep_family"]


DISCRIMINATIVE, GENERATIVE = "discriminative", "generative"
EVAL_ITEMS = 1000  # held-out items scored per point of a curve


def one_blas_thread():
    """A context in which numpy's BLAS (what scikit-learn's solvers run on) uses one thread.

    Like torch's pool (docs/DESIGN.md), BLAS threads oversubscribe a small shared box: on two busy
    cores an MLP fit took 20.7 s with OpenBLAS's 2 threads and 0.5 s with 1.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def flat_features(x: torch.Tensor, spec: DataSpec) -> np.ndarray:
    """Items as rows of numbers in [0, 1] for images (pixel / (levels − 1)), as they are for points."""
    x = x.reshape(len(x), -1).double()
    if spec.view != "continuous":
        x = x / (spec.levels - 1)
    return x.numpy()


FAMILY_SECONDS = 2.0  # training budget per class for a trainable family


def fit_family(family: str, x: torch.Tensor, spec: DataSpec, seconds: float = FAMILY_SECONDS, seed: int = 0,
               **hparams) -> tuple[GenerativeModel, float]:
    """Fit GenLab family `family` to items x (in the view of `spec`) with `genlab.train`.

    Returns the model (best held-out weights, eval mode) and the wall-clock seconds the fit took.
    The trainer holds out a tenth of x to pick the weights (or a KDE's bandwidth), so x needs at
    least 2 items.
    """
    if len(x) < 2:
        raise ValueError(f"Fitting {family} needs at least 2 items; got {len(x)}.")
    levels = spec.levels if spec.view == "gray8" else None
    # the trainer never reads a test split; x stands in for one because a Dataset needs it
    ds = from_tensors(x, x[:1], view=spec.view, levels=levels, name=f"{family}-fit")
    model = create_model(family, ds, **hparams)
    start = time.perf_counter()
    train(model, ds, seconds=seconds, seed=seed)
    return model.eval(), time.perf_counter() - start


DEEP_CHOICES = {"continuous": ("realnvp", "nsf"), "binary": ("made", "nade", "pixelcnn"), "gray8": ("made", "pixelcnn")}
DEEP_HPARAMS = {"realnvp": {"num_layers": 6}, "made": {"hidden_units": 256, "num_masks": 1}}


def deep_family(spec: DataSpec) -> str | None:
    """The deep family the panels fit to data of this spec: a flow on points, an autoregressive
    model (exact likelihood) on images; the first registered one that fits, else None."""
    registered = families()
    return next((f for f in DEEP_CHOICES[spec.view] if f in registered and fits(f, spec) is None), None)
