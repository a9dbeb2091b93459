"""Your own images, kept: uploaded files written to a folder named by their contents.

Every file is decoded, and the set counted, before anything is written: a set the loader
would refuse (a damaged file, too many pixels, fewer than MIN_IMAGES images) is refused
here, naming the visitor's own file, and takes no disk. The same files always land in the
same folder, so the loader's cache serves them again. A folder appears whole or not at
all: the files are written into a staging folder first, which is then renamed into place.
Beside them, SHOWN_NAMES keeps the names the visitor gave them, so that messages and
titles name those, never the names the files were saved under or their folder.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from genlab.data.folder import MIN_IMAGES, SHOWN_NAMES, safe_text, too_few
from genlab.data.imagefiles import IMAGE_SUFFIXES, PixelBudget, UploadError, read_images

MAX_SHOWN_NAME = 60  # characters of a visitor's file name in their set's title

__all__ = ["UploadedFile", "save_uploads"]


class UploadedFile(Protocol):
    """What an uploader hands over (Streamlit's UploadedFile is one): a name and the bytes."""

    name: str

    def getvalue(self) -> bytes: ...


MAX_NAME = 100  # characters of a visitor's file name kept on disk
LAYOUT = b"shown-names\0"  # in every digest: a folder saved before the visitor's names were kept is not reused


def _own_name(name: str) -> str:
    """The file's own name, without the folders a browser or a crafted request may put before it."""
    return PurePosixPath(name.replace("\\", "/")).name


def _safe_file_name(name: str, index: int | None) -> str:
    """A visitor's file name made harmless: no folders, no hidden files, only plain characters; numbered
    (`index`) when it is one of several, so two names made alike stay apart."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", _own_name(name)).lstrip(".") or "image"
    if len(stem) > MAX_NAME:  # keep the suffix (how the file is read) and the start; disks refuse long names
        suffix = PurePosixPath(stem).suffix[:10]
        stem = stem[:MAX_NAME - len(suffix)] + suffix
    return stem if index is None else f"{index:04d}-{stem}"


def _check_files(files: Sequence[UploadedFile]) -> None:
    """Refuse, in plain words, a set of files GenLab cannot take as one data set."""
    if not files:
        raise UploadError("Choose a zip of images, or several image files.")
    zips = [f for f in files if f.name.lower().endswith(".zip")]
    if zips and len(files) > 1:
        raise UploadError("Upload one zip, or several images, not a zip together with other files.")
    strays = [f.name for f in files if not f.name.lower().endswith((".zip", *IMAGE_SUFFIXES))]
    if strays:
        raise UploadError(f"{strays[0]} is not an image GenLab reads; "
                          "use PNG, JPEG, WebP, BMP or GIF, or a zip of them.")


def _contents_digest(names: Sequence[str], contents: Sequence[bytes]) -> str:
    """A short hex digest of the files' names and bytes: the same files give the same digest."""
    digest = hashlib.sha256(LAYOUT)
    for name, data in zip(names, contents):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _check_images(names: Sequence[str], contents: Sequence[bytes]) -> None:
    """Decode every file as the loader will, within one pixel budget, and count the images (a zip holds
    several); refuse, naming the visitor's file, what the loader would refuse."""
    budget = PixelBudget()  # one budget for all the files of this upload
    count = sum(len(read_images(_own_name(name), data, budget=budget)[0]) for name, data in zip(names, contents))
    if count < MIN_IMAGES:
        what = _own_name(names[0]) if len(names) == 1 else "Your upload"
        raise UploadError(too_few(what, count) + " Add more and upload again; nothing was saved.")


def _shown_set(names: Sequence[str]) -> str:
    """The set's name in its title ("your images (cats.zip and 9 more)"), safe to show to a whole room."""
    first = safe_text(_own_name(names[0]), MAX_SHOWN_NAME)
    return first if len(names) == 1 else f"{first} and {len(names) - 1} more"


def _write_whole(folder: Path, names: Sequence[str], contents: Sequence[bytes]) -> None:
    """Write the files, and the names the visitor gave them (SHOWN_NAMES), into `folder` through a staging
    folder, so it never shows half written."""
    staging = folder.with_name(folder.name + ".part")
    staging.mkdir(parents=True, exist_ok=True)
    saved = [_safe_file_name(name, index if len(names) > 1 else None) for index, name in enumerate(names)]
    for name, data in zip(saved, contents):
        (staging / name).write_bytes(data)
    shown = {"set": _shown_set(names), "files": {s: _own_name(name) for s, name in zip(saved, names)}}
    (staging / SHOWN_NAMES).write_text(json.dumps(shown))
    staging.rename(folder)


def save_uploads(files: Sequence[UploadedFile], session_folder: Path) -> str:
    """Write uploaded files to a folder of their own under `session_folder`; returns "folder:PATH".

    Arguments:
        files: one zip, or several image files, holding at least MIN_IMAGES images (each file
            must decode; a damaged one is refused by name, before anything is saved).
        session_folder: where this visitor's uploads live.

    Returns:
        The data set name `genlab.load_dataset` takes: the folder, or the zip inside it.
    """
    _check_files(files)
    names = [f.name for f in files]
    contents = [f.getvalue() for f in files]
    _check_images(names, contents)
    zipped = names[0].lower().endswith(".zip")
    folder = session_folder / _contents_digest(names, contents)
    if not folder.exists():
        _write_whole(folder, names, contents)
    if zipped:
        return f"folder:{folder / _safe_file_name(names[0], None)}"
    return f"folder:{folder}"
