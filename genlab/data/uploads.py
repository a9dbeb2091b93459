"""Your own images, kept: uploaded files written to a folder named by their contents.

The same files always land in the same folder, so the loader's cache (keyed by the
folder) serves them again. A folder appears whole or not at all: the files are written
into a staging folder first, which is then renamed into place.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol

from genlab.data.imagefiles import IMAGE_SUFFIXES, PixelBudget, UploadError, read_images

__all__ = ["UploadedFile", "save_uploads"]


class UploadedFile(Protocol):
    """What an uploader hands over (Streamlit's UploadedFile is one): a name and the bytes."""

    name: str

    def getvalue(self) -> bytes: ...


MAX_NAME = 100  # characters of a visitor's file name kept on disk


def _safe_file_name(name: str, index: int) -> str:
    """A visitor's file name made harmless: no folders, no hidden files, only plain characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(name.replace("\\", "/")).name).lstrip(".") or "image"
    if len(stem) > MAX_NAME:  # keep the suffix (how the file is read) and the start; disks refuse long names
        suffix = PurePosixPath(stem).suffix[:10]
        stem = stem[:MAX_NAME - len(suffix)] + suffix
    return f"{index:04d}-{stem}"


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
    digest = hashlib.sha256()
    for name, data in zip(names, contents):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _write_whole(folder: Path, names: Sequence[str], contents: Sequence[bytes]) -> None:
    """Write the files into `folder` through a staging folder, so it never shows half written."""
    staging = folder.with_name(folder.name + ".part")
    staging.mkdir(parents=True, exist_ok=True)
    for index, (name, data) in enumerate(zip(names, contents)):
        (staging / _safe_file_name(name, index)).write_bytes(data)
    staging.rename(folder)


def save_uploads(files: Sequence[UploadedFile], session_folder: Path) -> str:
    """Write uploaded files to a folder of their own under `session_folder`; returns "folder:PATH".

    Arguments:
        files: one zip, or several image files (each must decode; a damaged one is refused
            by name, before anything is saved).
        session_folder: where this visitor's uploads live.

    Returns:
        The data set name `genlab.load_dataset` takes: the folder, or the zip inside it.
    """
    _check_files(files)
    names = [f.name for f in files]
    contents = [f.getvalue() for f in files]
    zipped = names[0].lower().endswith(".zip")
    if not zipped:
        budget = PixelBudget()  # one budget for all the files of this upload
        for name, data in zip(names, contents):
            read_images(name, data, budget=budget)
    folder = session_folder / _contents_digest(names, contents)
    if not folder.exists():
        _write_whole(folder, names, contents)
    if zipped:
        return f"folder:{next(folder.iterdir())}"
    return f"folder:{folder}"
