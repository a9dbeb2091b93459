"""Your own images as a data set: a folder (or a zip) of PNG/JPEG/WebP/BMP/GIF files.

`load_dataset("folder:PATH", view="binary", size=28)` reads every image under PATH
(sub-folders become class labels when there are several; a single folder holding them all is
looked through, as `zip -r shapes.zip shapes/` makes it), turns each grayscale,
fits it into size×size keeping its aspect ratio, quantises it into the view and splits
train/test deterministically by seed. The decoded images are cached by what they were made
from: the bytes and relative names of the files, the size and the view. Reloading an
unchanged folder skips the decoding; editing, adding, removing or renaming a file (or
changing the size or view) decodes again, whatever the files' timestamps say.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import torch

from genlab.data.base import Dataset, split_indices
from genlab.data.imagefiles import (
    IMAGE_SUFFIXES,
    MAX_IMAGES,
    OverBudget,
    PixelBudget,
    UploadError,
    read_images,
    to_view,
)
from genlab.data.images import IMAGE_VIEWS
from genlab.data.registry import Request, Source, register

__all__ = ["PREFIX", "load_folder", "cache_key", "MIN_IMAGES", "SIZES", "NO_LABELS", "SHOWN_NAMES", "Shown", "shown",
           "too_few"]

PREFIX = "folder:"  # "folder:PATH" names the images under PATH

MIN_IMAGES = 10  # fewer than this cannot be split into train, validation and test
SIZES = (8, 16, 28, 32)
GRAY_LEVELS = 256
MAX_CLASS_NAME = 40  # characters of a class folder's name that are shown
NO_LABELS = ("No labels found: to get them, put each class's images in a folder of its own (shapes/circles/…, "
             "shapes/squares/…) and zip the folder that holds them (`zip -r shapes.zip shapes/`).")
CACHE_ENTRIES = 8  # decoded folders kept, least recently used dropped first
SHOWN_NAMES = ".shown-names.json"  # beside saved uploads: what the visitor called them (genlab.data.uploads)
MAX_SHOWN = 100  # characters of a visitor's name that are shown

Decoded = tuple[torch.Tensor, "torch.Tensor | None", tuple, tuple]  # images, labels, class names, notes
_decoded: OrderedDict[tuple, Decoded] = OrderedDict()
_decoded_lock = threading.Lock()


@dataclass(frozen=True)
class Shown:
    """What messages call a set of images: the set, and each file by its name relative to the set."""

    name: str
    files: dict[str, str] = field(default_factory=dict)

    def file(self, name: str) -> str:
        return self.files.get(name, name)


def too_few(what: str, count: int) -> str:
    """The sentence refusing a set of `count` usable images, whether at upload or at loading."""
    return (f"{what} holds {count} usable image(s); GenLab needs at least {MIN_IMAGES} to split them into train, "
            "validation and test.")


def _visitor_names(folder: Path) -> dict:
    """The SHOWN_NAMES record an upload left in `folder`, or {} (a folder of one's own, or a damaged record)."""
    try:
        record = json.loads((folder / SHOWN_NAMES).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _clipped(name) -> str | None:
    return name[:MAX_SHOWN] if isinstance(name, str) and name else None


def shown(path: Path) -> Shown:
    """How messages name the images at `path`: for an upload, by the names the visitor gave its files (never
    the saved names or the folder they were saved in); otherwise by the folder's or the file's own name."""
    record = _visitor_names(path.parent if path.is_file() else path)
    files = record.get("files") if isinstance(record.get("files"), dict) else {}
    files = {saved: _clipped(name) for saved, name in files.items() if _clipped(name)}
    if path.is_file():
        return Shown(files.get(path.name, path.name), {path.name: files.get(path.name, path.name)})
    return Shown(_clipped(record.get("set")) or path.name, files)


def _read_files(path: Path) -> list[tuple[str, bytes]]:
    """(name relative to path, bytes) of each image file under a folder, sorted; a zip or image is one file."""
    if path.is_file():
        return [(path.name, path.read_bytes())]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [(file.relative_to(path).as_posix(), file.read_bytes()) for file in files[: MAX_IMAGES * 20]]


def _key(files: list[tuple[str, bytes]], size: int, view: str) -> tuple[str, int, str]:
    digest = hashlib.blake2b(digest_size=16)
    for name, data in files:
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest(), size, view


def cache_key(spec: str, size: int = 28, view: str = "binary") -> tuple[str, int, str]:
    """The key the decoded images of "folder:PATH" are cached under: a digest of the image files'
    relative names and bytes, the size and the view."""
    return _key(_read_files(Path(spec.removeprefix(PREFIX)).expanduser()), size, view)


def _classes(names: list[str]) -> list[str]:
    """Each image's class: its first folder below the folders every image shares ("" when flat).

    A zip made as `zip -r shapes.zip shapes/` holds shapes/circles/… and shapes/squares/…: the
    shared top folder "shapes" is looked through, so circles and squares are the classes.
    """
    parts = [PurePosixPath(name).parts for name in names]
    depth = 0
    while parts and all(len(p) > depth + 2 for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    return [_shown(p[depth]) if len(p) > depth + 1 else "" for p in parts]


def safe_text(text: str, limit: int) -> str:
    """A visitor's name (a folder, a file) as text safe to show anywhere, in a title, a list or markdown: letters,
    digits, space, . and - (anything else becomes -: an _ or * could open emphasis), at most `limit` characters,
    with a zero-width space after each "www" so no page turns it into a link to another site."""
    kept = "".join(c if c.isalnum() or c in " .-" else "-" for c in text)[:limit]
    return re.sub(r"(www)", "\\1\u200b", kept, flags=re.IGNORECASE)


def _shown(folder: str) -> str:
    """A visitor's folder name as a class name that is safe to show."""
    return safe_text(folder, MAX_CLASS_NAME)


def _collect(path: Path, files: list[tuple[str, bytes]], names_shown: Shown) -> tuple[list, list[str], list[str]]:
    """Images, their class names ("" when flat) and notes, naming files as `names_shown` does; one pixel
    budget for them all."""
    budget = PixelBudget()
    if path.is_file():
        images, notes = read_images(names_shown.name, files[0][1], budget=budget)
        return images, _classes([image.name for image in images]), notes
    images, names, notes, failures = [], [], [], []
    for name, data in files:
        try:
            decoded, _ = read_images(names_shown.file(name), data, budget=budget)
        except OverBudget:
            raise
        except UploadError as exc:
            failures.append(str(exc))
            continue
        images += decoded
        names += [name] * len(decoded)
    if failures:
        notes.append(f"{len(failures)} file(s) could not be read, e.g.: {failures[0]}")
    return images, _classes(names), notes


def _decode(path: Path, files: list[tuple[str, bytes]], size: int, view: str, names_shown: Shown) -> Decoded:
    images, classes, notes = _collect(path, files, names_shown)
    if not images:
        raise ValueError(f"No readable images in {names_shown.name}. " + " ".join(notes))
    levels = 2 if view == "binary" else GRAY_LEVELS
    x = torch.stack([to_view(image, (1, size, size), view, levels) for image in images])  # (N, 1, size, size)
    names = sorted(set(classes))
    labels = torch.tensor([names.index(c) for c in classes]) if len(names) > 1 else None
    return x, labels, tuple(names), tuple(notes)


def _load(path: Path, size: int, view: str, names_shown: Shown) -> Decoded:
    """The folder's images decoded in the view, from the cache when its files, size, view and the names its
    notes give them are unchanged."""
    files = _read_files(path)
    key = (*_key(files, size, view), names_shown.name, tuple(sorted(names_shown.files.items())))
    with _decoded_lock:
        if key in _decoded:
            _decoded.move_to_end(key)
            return _decoded[key]
    value = _decode(path, files, size, view, names_shown)
    with _decoded_lock:
        _decoded[key] = value
        while len(_decoded) > CACHE_ENTRIES:
            _decoded.popitem(last=False)
    return value


def load_folder(spec: str, view: str = "binary", size: int = 28, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    """Load "folder:PATH" (a folder or a .zip of images) as a Dataset in the binary or gray8 view."""
    path = Path(spec.removeprefix(PREFIX)).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path.name} does not exist: point folder: at a folder or a .zip of images "
                                "(PNG, JPEG, WebP, BMP or GIF; one sub-folder per class for labels).")
    if size not in SIZES:
        raise ValueError(f"Image size must be one of {', '.join(map(str, SIZES))}; got {size}.")
    if view not in IMAGE_VIEWS:
        raise ValueError(f"Your images can be used in the binary or gray8 view; got {view!r}.")
    names_shown = shown(path)
    x, labels, names, notes = _load(path, size, view, names_shown)
    if len(x) < MIN_IMAGES:
        raise ValueError(too_few(names_shown.name, len(x)))
    train_idx, test_idx = split_indices(len(x), test_fraction, seed)
    description = f"{len(x)} of your images from {names_shown.name}, {size}×{size}" + (
        f", {len(names)} classes ({', '.join(names)})." if labels is not None else f". {NO_LABELS}")
    return Dataset(
        f"{PREFIX}{path}", x[train_idx].clone(), x[test_idx].clone(), view,
        levels=2 if view == "binary" else GRAY_LEVELS,
        labels_train=None if labels is None else labels[train_idx],
        labels_test=None if labels is None else labels[test_idx],
        description=description + (" " + " ".join(notes) if notes else ""),
        class_names=names if labels is not None else None,
    )


def _load_request(request: Request) -> Dataset:
    return load_folder(request.name, request.view, size=request.size, seed=request.seed)


def _shown_name(place: str) -> str:
    return shown(Path(place).expanduser()).name


register(Source(f"{PREFIX}PATH", "your images ({})", "image", IMAGE_VIEWS, offline=True, load=_load_request,
                short="yours", prefix=PREFIX, yours=True, shown=_shown_name))
