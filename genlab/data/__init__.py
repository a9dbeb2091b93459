"""Data sets D: generated 2-D toys, bundled digits, MNIST-like folders, users' tensors."""
from __future__ import annotations

from genlab.data.base import VIEWS, DataSpec, Dataset, from_tensors

__all__ = ["load_dataset", "from_tensors", "dataset_names", "Dataset", "DataSpec", "VIEWS", "image_views"]

IMAGE_SETS = ("digits", "mnist5k", "mnist", "fashion-mnist")


def dataset_names(offline_only: bool = False) -> list[str]:
    """Names `load_dataset` accepts; `offline_only` leaves out sets that need a local folder."""
    from genlab.data.toys import TOY_NAMES

    names = list(TOY_NAMES) + ["digits", "mnist5k"]
    return names if offline_only else names + ["mnist", "fashion-mnist"]


def image_views() -> tuple[str, ...]:
    return ("binary", "gray8")


def load_dataset(name: str, view: str | None = None, root: str | None = None, download: bool = False, seed: int = 0,
                 size: int = 28) -> Dataset:
    """Load a data set by name, in a view.

    Arguments:
        name: "toy:8gaussians" | "toy:checkerboard" | "toy:moons" | "toy:rings" |
            "toy:spirals" | "toy:pinwheel" | "digits" | "mnist5k" | "mnist" | "fashion-mnist" |
            "folder:PATH" (your own images: a folder or a zip).
        view: "continuous" for toys; "binary" (default) or "gray8" for images.
        root: local folder for "mnist" / "fashion-mnist" (torchvision layout).
        download: let torchvision download MNIST / Fashion-MNIST into root.
        seed: fixes the generated toy samples and every split.
        size: side of the square images made from a folder:PATH (8, 16, 28 or 32).

    Example:
        >>> ds = load_dataset("digits", view="gray8")
    """
    if not isinstance(name, str) or not name:
        raise ValueError("Dataset name must be a non-empty string, e.g. 'toy:moons' or 'digits'.")
    if name.startswith("toy:"):
        from genlab.data.toys import load_toy

        if view not in (None, "continuous"):
            raise ValueError(f"{name} is a set of 2-D points; its only view is 'continuous', not {view!r}.")
        return load_toy(name, seed=seed)
    view = view or "binary"
    if view not in image_views():
        raise ValueError(f"Image sets come in the views {' / '.join(image_views())}; got {view!r}.")
    from genlab.data import images

    if name == "digits":
        return images.load_digits(view, seed=seed)
    if name == "mnist5k":
        return images.load_mnist5k(view, seed=seed)
    if name.startswith("folder:"):
        from genlab.data.folder import load_folder

        return load_folder(name, view, size=size, seed=seed)
    if name in ("mnist", "fashion-mnist"):
        return images.load_torchvision(name, view, root=root, download=download)
    raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}.")
