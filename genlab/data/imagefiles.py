"""Users' image files as model inputs: read safely, show what the model sees, refuse bad input plainly.

Accepts PNG, JPEG, WebP, BMP, GIF (first frame) and zip archives of them. Every image
is turned grayscale, fitted into the model's H×W keeping its aspect ratio (padded with
the background), optionally inverted so digits are light on dark like MNIST, and
quantised into the data view (binary threshold or gray levels).
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["UploadError", "ImageFile", "read_images", "to_view", "MAX_FILE_BYTES", "MAX_IMAGES", "MAX_PIXELS"]

MAX_FILE_BYTES = 20 * 1024 * 1024  # one upload (an image or a zip)
MAX_IMAGES = 500  # images taken from one zip
MAX_PIXELS = 40_000_000  # per image, before decoding (a decompression bomb guard)
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # all members of a zip together
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


class UploadError(ValueError):
    """A user's file cannot be used; the message says why and what to do."""


@dataclass
class ImageFile:
    """One decoded image: its name and 8-bit grayscale pixels (H, W)."""

    name: str
    pixels: np.ndarray  # uint8 (H, W)
    notes: list[str] = field(default_factory=list)


def _decode(name: str, data: bytes) -> ImageFile:
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise UploadError(
                    f"{name} is {width}×{height} pixels, more than the {MAX_PIXELS // 1_000_000} million allowed; "
                    "shrink it first."
                )
            notes = []
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"{name} has {img.n_frames} frames; using the first.")
            img.seek(0)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img_l = Image.alpha_composite(background, rgba).convert("L")
                notes.append(f"{name} has transparency; it was put on white.")
            else:
                img_l = img.convert("L")
            return ImageFile(name, np.asarray(img_l, dtype=np.uint8).copy(), notes)
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UploadError(
            f"{name} could not be read as an image ({type(exc).__name__}); "
            "upload a PNG, JPEG, WebP, BMP or GIF, or a zip of them."
        ) from None


def _read_zip(name: str, data: bytes) -> tuple[list[ImageFile], list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadError(f"{name} looks like a zip but is damaged; re-create the archive.") from None
    members = [m for m in archive.infolist() if not m.is_dir() and not PurePosixPath(m.filename).name.startswith(".")]
    images = [m for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)]
    skipped = len(members) - len(images)
    notes = [f"Skipped {skipped} file(s) in {name} that are not images."] if skipped else []
    if not images:
        raise UploadError(f"{name} holds no images (PNG, JPEG, WebP, BMP or GIF).")
    if len(images) > MAX_IMAGES:
        notes.append(f"{name} holds {len(images)} images; using the first {MAX_IMAGES}.")
        images = images[:MAX_IMAGES]
    if sum(m.file_size for m in images) > MAX_UNZIPPED_BYTES:
        raise UploadError(f"{name} unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MB; upload a smaller archive.")
    out, failures = [], []
    for member in images:
        try:
            decoded = _decode(member.filename, archive.read(member))
        except UploadError as exc:
            failures.append(str(exc))
            continue
        out.append(decoded)
    if failures:
        notes.append(f"{len(failures)} image(s) in {name} could not be read, e.g.: {failures[0]}")
    if not out:
        raise UploadError(f"None of the images in {name} could be read.")
    return out, notes


def read_images(name: str, data: bytes) -> tuple[list[ImageFile], list[str]]:
    """Decode one upload (an image or a zip of images) into grayscale images and notes.

    Raises UploadError with a plain sentence for empty, huge, corrupt or non-image files.
    """
    if not data:
        raise UploadError(f"{name} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    if data[:4] == b"PK\x03\x04":
        return _read_zip(name, data)
    image = _decode(name, data)
    return [image], list(image.notes)


def _fit(pixels: np.ndarray, height: int, width: int, background: int) -> np.ndarray:
    """Resize keeping the aspect ratio, centred and padded with the background value."""
    h, w = pixels.shape
    scale = min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = np.asarray(Image.fromarray(pixels).resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.uint8)
    canvas = np.full((height, width), background, dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


def _looks_dark_on_light(pixels: np.ndarray) -> bool:
    """True when the border is mostly light: a dark drawing on paper, the opposite of MNIST."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return float(np.median(border)) > 127


def to_view(image: ImageFile, shape: tuple[int, ...], view: str, levels: int | None,
            invert: str = "auto") -> torch.Tensor:
    """The image as the model sees it: (C, H, W) float32 in the data view.

    Arguments:
        shape: (1, H, W), the model's input shape.
        view: "binary" (threshold at half intensity) or "gray8" (rounded to `levels` values).
        invert: "auto" (invert when the background is light), "yes" or "no".
    """
    if len(shape) != 3 or shape[0] != 1:
        raise UploadError(f"Uploads feed grayscale image models; this model takes inputs shaped {shape}.")
    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"invert must be 'auto', 'yes' or 'no'; got {invert!r}.")
    pixels = image.pixels
    flip = _looks_dark_on_light(pixels) if invert == "auto" else invert == "yes"
    if flip:
        pixels = 255 - pixels
    fitted = _fit(pixels, shape[1], shape[2], background=0).astype(np.float32) / 255.0
    if view == "binary":
        values = (fitted >= 0.5).astype(np.float32)
    elif view == "gray8":
        values = np.rint(fitted * (levels - 1)).astype(np.float32)
    else:
        raise UploadError(f"Uploads need an image model; this one works on {view} data.")
    return torch.from_numpy(values).unsqueeze(0)
