"""Lesson 1, generative vs. discriminative: labelled data sets to classify, decision boundaries and
class densities on a grid, and what only a generative classifier can say: that an input fits no class.

Example:
    >>> ds = labelled_set("toy:moons")
    >>> model = make_classifier("kde", ds.spec).fit(ds.train, ds.labels_train, num_classes=2)
    >>> novelty_threshold(model, ds.train)   # below it, an input fits no class
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from genlab.concepts.classifiers import BayesClassifier, Classifier
from genlab.data import load_dataset
from genlab.data.base import Dataset, from_tensors
from genlab.queries import ood_sets
from genlab.snapshots import grid_axes

__all__ = ["Blob", "BLOBS", "CLASS_SETS", "gaussian_blobs", "labelled_set", "decision_grid",
           "class_log_likelihood_grid", "novelty_threshold", "fits_no_class", "novelty_sets", "novelty_table",
           "point_table"]


POINTS_PER_TOY = 2000  # train and test points kept from a 2-D toy (its 20,000 would slow every classifier)


@dataclass(frozen=True)
class Blob:
    """One labelled Gaussian blob: its centre and a lower-triangular scale (Σ = L Lᵀ)."""

    centre: tuple[float, float]
    scale_tril: tuple[tuple[float, float], tuple[float, float]]


# Three blobs with different shapes, so the Bayes-optimal boundaries are quadratic: the per-class
# Gaussian is the true model, naive Bayes ignores the tilts, logistic regression draws straight lines.
BLOBS = (
    Blob((-1.6, 1.0), ((0.9, 0.0), (0.6, 0.5))),
    Blob((1.6, 1.0), ((0.9, 0.0), (-0.6, 0.5))),
    Blob((0.0, -1.4), ((1.3, 0.0), (0.0, 0.35))),
)
BLOB_BOUNDS = (-4.0, 4.0, -4.0, 4.0)


def gaussian_blobs(n_train: int = POINTS_PER_TOY, n_test: int = POINTS_PER_TOY, seed: int = 0,
                   blobs: Sequence[Blob] = BLOBS) -> Dataset:
    """Labelled 2-D Gaussian blobs, equally likely; train and test drawn independently.

    Example:
        >>> ds = gaussian_blobs(300, 300, seed=1)   # ds.labels_train in {0, 1, 2}
    """
    def draw(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(len(blobs), (n,), generator=generator)
        centres = torch.tensor([b.centre for b in blobs])[labels]  # (n, 2)
        scales = torch.tensor([b.scale_tril for b in blobs])[labels]  # (n, 2, 2)
        noise = torch.randn(n, 2, 1, generator=generator)
        return centres + (scales @ noise)[..., 0], labels

    train_x, train_y = draw(n_train, torch.Generator().manual_seed(2 * seed))
    test_x, test_y = draw(n_test, torch.Generator().manual_seed(2 * seed + 1))
    ds = from_tensors(train_x, test_x, view="continuous", labels_train=train_y, labels_test=test_y, name="blobs")
    return dataclasses.replace(ds, bounds=BLOB_BOUNDS,
                               description=f"{len(blobs)} labelled Gaussian blobs of different shapes.")


def _toy(name: str, seed: int) -> Dataset:
    ds = load_dataset(name, seed=seed)
    keep = slice(0, POINTS_PER_TOY)
    return dataclasses.replace(ds, train=ds.train[keep], test=ds.test[keep],
                               labels_train=ds.labels_train[keep], labels_test=ds.labels_test[keep])


CLASS_SETS: dict[str, Callable[[str, int], Dataset]] = {
    "toy:moons": lambda view, seed: _toy("toy:moons", seed),
    "blobs": lambda view, seed: gaussian_blobs(seed=seed),
    "digits": lambda view, seed: load_dataset("digits", view=view, seed=seed),
}


def labelled_set(name: str, view: str = "binary", seed: int = 0) -> Dataset:
    """A labelled data set for the classifiers: "toy:moons" (2,000 + 2,000 points), "blobs", "digits".

    `view` applies to digits only ("binary" or "gray8").
    """
    if name not in CLASS_SETS:
        raise ValueError(f"Unknown labelled set {name!r}; choose one of {', '.join(CLASS_SETS)}.")
    return CLASS_SETS[name](view, seed)


def _grid_points(bounds, n: int) -> torch.Tensor:
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    return torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)


def decision_grid(classifier: Classifier, bounds, n: int = 100) -> dict[str, np.ndarray]:
    """Predicted class and its probability on an n×n grid over bounds, each shaped (n, n) indexed [y, x]."""
    log_post = classifier.predict_log_proba(_grid_points(bounds, n))
    return {"label": log_post.argmax(1).reshape(n, n), "confidence": np.exp(log_post.max(1)).reshape(n, n)}


def class_log_likelihood_grid(classifier: BayesClassifier, bounds, n: int = 100) -> np.ndarray:
    """log p(x|y) for every class on an n×n grid, shape (K, n, n) indexed [class, y, x]."""
    return classifier.class_log_likelihood(_grid_points(bounds, n)).T.reshape(-1, n, n)


def novelty_threshold(classifier: BayesClassifier, x_train: torch.Tensor, percentile: float = 1.0) -> float:
    """The `percentile`-th percentile of max_y log p(x|y) over the training items: below it, an input
    fits no class as well as all but `percentile` % of the data the model was fitted on."""
    return float(np.percentile(classifier.class_log_likelihood(x_train).max(1), percentile))


def fits_no_class(classifier: BayesClassifier, x: torch.Tensor, threshold: float) -> np.ndarray:
    """True where max_y log p(x|y) < threshold: no class explains x (a discriminative model cannot say this)."""
    return classifier.class_log_likelihood(x).max(1) < threshold


def novelty_sets(ds: Dataset, n: int = 200, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs to test "fits no class" on: held-out items, and inputs unlike any class.

    Images: held-out images, uniform pixel noise and inverted held-out images. Points: held-out
    points and points spread uniformly over the plot box (most land far from every class).
    """
    if ds.view == "continuous":
        xmin, xmax, ymin, ymax = ds.bounds or (-4.0, 4.0, -4.0, 4.0)
        u = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed))
        box = torch.stack([xmin + (xmax - xmin) * u[:, 0], ymin + (ymax - ymin) * u[:, 1]], 1)
        return {"held-out points": ds.test[:n], "uniform over the box": box}
    sets = ood_sets(ds, n, seed)
    sets["inverted test images"] = (ds.levels - 1) - ds.test[:n]
    return sets


def novelty_table(generative: BayesClassifier, discriminative: Classifier, sets: Mapping[str, torch.Tensor],
                  threshold: float) -> list[dict]:
    """Per input set: the share the generative classifier flags as fitting no class, and how sure each
    side is of its predicted class on average (the discriminative side is sure even of noise)."""
    def sureness(model: Classifier, x: torch.Tensor) -> float:
        return float(np.exp(model.predict_log_proba(x).max(1)).mean())

    return [{"inputs": name,
             "flagged (fits no class)": float(fits_no_class(generative, x, threshold).mean()),
             f"mean max p(y|x), {generative.title}": sureness(generative, x),
             f"mean max p(y|x), {discriminative.title}": sureness(discriminative, x)}
            for name, x in sets.items()]


def point_table(classifiers: Mapping[str, Classifier], x: torch.Tensor, thresholds: Mapping[str, float]) -> list[dict]:
    """What each classifier says about one input x (1, ...): its class, how sure, and — generative only —
    max_y log p(x|y) and whether that is below the classifier's novelty threshold."""
    rows = []
    for name, model in classifiers.items():
        log_post = model.predict_log_proba(x)[0]
        row = {"classifier": model.title, "kind": model.kind, "predicted class": int(log_post.argmax()),
               "p(class | x)": float(np.exp(log_post.max())), "max_y log p(x|y) (nats)": None, "fits no class": None}
        if isinstance(model, BayesClassifier):
            best = float(model.class_log_likelihood(x).max())
            row["max_y log p(x|y) (nats)"] = best
            row["fits no class"] = best < thresholds[name]
        rows.append(row)
    return rows
