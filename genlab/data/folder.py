"""Your own images as a data set: a folder (or a zip) of PNG/JPEG/WebP/BMP/GIF files.

`load_dataset("folder:PATH", view="binary", size=28)` reads every image under PATH
(sub-folders become class labels when there are several), turns each grayscale,
fits it into size×size keeping its aspect ratio, quantises it into the view and splits
train/test deterministically by seed. Results are cached by (path, modification time,
size, view), so reloading an unchanged folder is instant.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch

from genlab.data.base import Dataset, split_indices
from genlab.data.imagefiles import IMAGE_SUFFIXES, MAX_IMAGES, ImageFile, UploadError, read_images, to_view

__all__ = ["load_folder", "MIN_IMAGES", "SIZES"]

MIN_IMAGES = 10  # fewer than this cannot be split into train, validation and test
SIZES = (8, 16, 28, 32)
GRAY_LEVELS = 256


def _collect(path: Path) -> tuple[list[ImageFile], list[str], list[str]]:
    """Images, their class names (first folder level, "" when flat) and notes."""
    if path.is_file():
        images, notes = read_images(path.name, path.read_bytes())
        return images, [Path(i.name).parent.parts[0] if Path(i.name).parent.parts else "" for i in images], notes
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) > MAX_IMAGES * 20:
        files = files[: MAX_IMAGES * 20]
    images, classes, notes, failures = [], [], [], []
    for file in files:
        try:
            decoded, _ = read_images(str(file.relative_to(path)), file.read_bytes())
        except UploadError as exc:
            failures.append(str(exc))
            continue
        images += decoded
        relative = file.relative_to(path).parts
        classes += [relative[0] if len(relative) > 1 else ""] * len(decoded)
    if failures:
        notes.append(f"{len(failures)} file(s) could not be read, e.g.: {failures[0]}")
    return images, classes, notes


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int, view: str) -> tuple[torch.Tensor, torch.Tensor | None, tuple, tuple]:
    images, classes, notes = _collect(Path(path))
    if not images:
        raise ValueError(f"No readable images under {path}. " + " ".join(notes))
    levels = 2 if view == "binary" else GRAY_LEVELS
    x = torch.stack([to_view(image, (1, size, size), view, levels) for image in images])  # (N, 1, size, size)
    names = sorted(set(classes))
    labels = torch.tensor([names.index(c) for c in classes]) if len(names) > 1 else None
    return x, labels, tuple(names), tuple(notes)


def load_folder(spec: str, view: str = "binary", size: int = 28, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """Load "folder:PATH" (a folder or a .zip of images) as a Dataset in the binary or gray8 view."""
    path = Path(spec.removeprefix("folder:")).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: point folder: at a folder or a .zip of images "
                                "(PNG, JPEG, WebP, BMP or GIF; one sub-folder per class for labels).")
    if size not in SIZES:
        raise ValueError(f"Image size must be one of {', '.join(map(str, SIZES))}; got {size}.")
    if view not in ("binary", "gray8"):
        raise ValueError(f"Your images can be used in the binary or gray8 view; got {view!r}.")
    stamp = max([path.stat().st_mtime_ns] + [p.stat().st_mtime_ns for p in path.rglob("*")] if path.is_dir()
                else [path.stat().st_mtime_ns])
    x, labels, names, notes = _load(str(path.resolve()), stamp, size, view)
    if len(x) < MIN_IMAGES:
        raise ValueError(f"{path} holds {len(x)} usable image(s); GenLab needs at least {MIN_IMAGES} to split "
                         "into train, validation and test.")
    train_idx, test_idx = split_indices(len(x), test_fraction, seed)
    description = f"{len(x)} of your images from {path.name}, {size}×{size}" + (
        f", {len(names)} classes ({', '.join(names)})" if labels is not None else "") + "."
    return Dataset(
        f"folder:{path}", x[train_idx].clone(), x[test_idx].clone(), view,
        levels=2 if view == "binary" else GRAY_LEVELS,
        labels_train=None if labels is None else labels[train_idx],
        labels_test=None if labels is None else labels[test_idx],
        description=description + (" " + " ".join(notes) if notes else ""),
    )
