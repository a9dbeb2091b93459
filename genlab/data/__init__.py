"""Data sets D: generated 2-D toys, bundled digits, MNIST-like folders, your images, users' tensors.

Each source is declared once, in its own module, and registered by name (see `genlab.data.registry`).
"""
from __future__ import annotations

from genlab.data.base import IN_MEMORY, VIEWS, DataSpec, Dataset, from_tensors
from genlab.data.registry import Request, Source, source_of, sources

__all__ = ["load_dataset", "from_tensors", "dataset_names", "dataset_title", "is_image_set", "source_of", "sources",
           "Source", "Dataset", "DataSpec", "VIEWS", "image_views"]


def dataset_names(offline_only: bool = False) -> list[str]:
    """Names `load_dataset` accepts, leaving out the sets made from your own drawings or images;
    `offline_only` also leaves out sets that need a local folder."""
    return [s.name for s in sources() if not s.yours and (s.offline or not offline_only)]


def dataset_title(name: str) -> str:
    """The name people read for a data set ("Digits 8×8 (scikit-learn)"); never a path."""
    return "tensors held in memory" if name == IN_MEMORY else source_of(name).title_of(name)


def is_image_set(name: str) -> bool:
    """True for a set of images, False for a set of 2-D points."""
    return source_of(name).kind == "image"


def image_views() -> tuple[str, ...]:
    from genlab.data.images import IMAGE_VIEWS

    return IMAGE_VIEWS


def load_dataset(name: str, view: str | None = None, root: str | None = None, download: bool = False, seed: int = 0,
                 size: int = 28, points: int | None = None) -> Dataset:
    """Load a data set by name, in a view.

    Arguments:
        name: "toy:8gaussians" | "toy:checkerboard" | "toy:moons" | "toy:rings" |
            "toy:spirals" | "toy:pinwheel" | "digits" | "mnist5k" | "mnist" | "fashion-mnist" |
            "folder:PATH" (your own images: a folder or a zip) | "toy:drawn" (the ring of
            blobs the app starts a drawing from; `drawn.drawn_dataset(blobs)` builds your own).
        view: "continuous" for toys; "binary" (default) or "gray8" for images.
        root: local folder for "mnist" / "fashion-mnist" (torchvision layout).
        download: let torchvision download MNIST / Fashion-MNIST into root.
        seed: fixes the generated toy samples and every split.
        size: side of the square images made from a folder:PATH (8, 16, 28 or 32).
        points: training points of a generated toy (100 to 1,000,000; default 20,000); the
            test split stays the same 5,000 points whatever the number, so runs compare.

    Example:
        >>> ds = load_dataset("digits", view="gray8")
    """
    source = source_of(name)
    view = view or source.views[0]
    source.check_view(view)
    source.check_points(points)
    return source.load(Request(name, view, seed=seed, size=size, root=root, download=download, points=points))
