"""The dataset record every source returns, and helpers shared by the sources."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

__all__ = ["Dataset", "DataSpec", "VIEWS", "from_tensors", "split_indices"]

VIEWS = ("continuous", "binary", "gray8")
IN_MEMORY = "tensors"  # the name of a data set made from tensors (`from_tensors`): nothing rebuilds it by name


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its data: shape, view and number of levels.

    `levels` is the number of discrete values a pixel takes (2 for `binary`, 256 or 17
    for `gray8`) and None for `continuous` data.
    """

    shape: tuple[int, ...]
    view: str
    levels: int | None = None

    @property
    def dim(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "view": self.view, "levels": self.levels}

    @classmethod
    def from_json(cls, d: dict) -> "DataSpec":
        return cls(tuple(d["shape"]), d["view"], d.get("levels"))


@dataclass
class Dataset:
    """A data set D: a train and a test split in one view.

    Arguments:
        name: the name `load_dataset` knows it by ("toy:moons", "digits", ...).
        train, test: float32 tensors of shape (N, *shape). `continuous` data are
            points; `binary` pixels are 0/1; `gray8` pixels are integers 0..levels-1.
        view: "continuous" | "binary" | "gray8".
        levels: values per pixel for discrete views, None for continuous.
        labels_train, labels_test: int64 tensors of class labels, or None.
        class_names: what label k means, at position k, where the source names its classes; else None.
        log_prob_true: exact (or numerically exact) log p_data(x) in nats, toys only.
        description: one sentence for the app.
        source: for a set built from arguments beyond its name and view (a drawn density's
            blobs), those arguments as JSON, so a saved run can build it again; else None.
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    view: str
    levels: int | None = None
    labels_train: torch.Tensor | None = None
    labels_test: torch.Tensor | None = None
    log_prob_true_fn: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    description: str = ""
    bounds: tuple[float, float, float, float] | None = None  # toys: xmin, xmax, ymin, ymax for plots
    modes: tuple[torch.Tensor, float] | None = None  # mixtures: (centres (K, D), σ) for mode coverage
    source: dict | None = None
    class_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.view not in VIEWS:
            raise ValueError(f"Unknown view {self.view!r}; choose one of {', '.join(VIEWS)}.")
        if self.train.shape[1:] != self.test.shape[1:]:
            raise ValueError(
                f"Train and test items differ in shape: {tuple(self.train.shape[1:])} vs "
                f"{tuple(self.test.shape[1:])}."
            )
        if self.view == "binary":
            self.levels = 2
        elif self.view == "gray8" and self.levels is None:
            self.levels = 256

    def label_names(self, labels) -> list[str]:
        """What each label means: its class name where the source names them, else the number."""
        return [self.class_names[int(y)] if self.class_names else str(int(y)) for y in labels]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])

    @property
    def spec(self) -> DataSpec:
        return DataSpec(self.shape, self.view, self.levels)

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def is_toy(self) -> bool:
        return self.log_prob_true_fn is not None

    def log_prob_true(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p_data(x) in nats (toy sets only)."""
        if self.log_prob_true_fn is None:
            raise ValueError(f"{self.name} has no known density; only the 2-D toy sets do.")
        return self.log_prob_true_fn(x)

    def split_validation(self, fraction: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Split the training data into (fit, validation) parts, deterministically by seed."""
        n = len(self.train)
        n_valid = max(1, int(round(n * fraction)))
        if n - n_valid < 1:
            raise ValueError(f"{self.name} has only {n} training items; need at least 2.")
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        return self.train[perm[n_valid:]], self.train[perm[:n_valid]]


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic (train, test) split of range(n)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = int(round(n * test_fraction))
    return perm[n_test:], perm[:n_test]


def _check_view_values(x: torch.Tensor, view: str, levels: int | None, what: str) -> None:
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite values; clean them before loading.")
    if view == "binary" and not ((x == 0) | (x == 1)).all():
        raise ValueError(f"{what} must hold only 0 and 1 in the binary view; threshold it first.")
    if view == "gray8":
        top = (levels or 256) - 1
        if (x < 0).any() or (x > top).any() or (x != x.round()).any():
            raise ValueError(f"{what} must hold integers 0..{top} in the gray8 view.")


def from_tensors(
    train,
    test,
    view: str = "binary",
    labels_train=None,
    labels_test=None,
    levels: int | None = None,
    name: str = IN_MEMORY,
) -> Dataset:
    """Wrap your own tensors as a GenLab dataset.

    Arguments:
        train, test: arrays or tensors of shape (N, 2) for 2-D points, or (N, H, W) /
            (N, C, H, W) for images.
        view: "continuous" for points; "binary" (0/1) or "gray8" (integers) for images.
        labels_train, labels_test: optional integer labels.
        levels: values per pixel in the gray8 view (default 256).

    Example:
        >>> ds = from_tensors(torch.rand(100, 2), torch.rand(20, 2), view="continuous")
    """
    train = torch.as_tensor(train, dtype=torch.float32)
    test = torch.as_tensor(test, dtype=torch.float32)
    if view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}; choose one of {', '.join(VIEWS)}.")
    if view != "continuous" and train.dim() == 3:
        train, test = train.unsqueeze(1), test.unsqueeze(1)
    if train.dim() < 2 or len(train) == 0 or len(test) == 0:
        raise ValueError("train and test need at least one item each, shaped (N, ...).")
    for x, what in ((train, "train"), (test, "test")):
        _check_view_values(x, view, levels, what)
    labels = [None if y is None else torch.as_tensor(y, dtype=torch.long) for y in (labels_train, labels_test)]
    for y, x, what in ((labels[0], train, "labels_train"), (labels[1], test, "labels_test")):
        if y is not None and len(y) != len(x):
            raise ValueError(f"{what} has {len(y)} entries for {len(x)} items.")
    return Dataset(name, train, test, view, levels=levels, labels_train=labels[0], labels_test=labels[1])
