"""Users' image files as model inputs: read safely, show what the model sees, refuse bad input plainly.

Accepts PNG, JPEG, WebP, BMP, GIF (first frame) and zip archives of them. Every image
is turned grayscale, fitted into the model's H×W keeping its aspect ratio (padded with
the background), optionally inverted so digits are light on dark like MNIST, and
quantised into the data view (binary threshold or gray levels).

Decoding is budgeted per upload, not per image: every image's width × height is read
from its header before its pixels are, and one `PixelBudget` (GENLAB_UPLOAD_PIXELS,
default 100 million pixels) is spent across all images of a zip, of several files, or of
a folder, so a small archive of highly compressible images cannot decode to gigabytes.
"""
from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["UploadError", "ImageFile", "PixelBudget", "OverBudget", "read_images", "to_view", "MAX_FILE_BYTES",
           "MAX_IMAGES",
           "MAX_PIXELS", "upload_pixels"]

MAX_FILE_BYTES = 20 * 1024 * 1024  # one upload (an image or a zip)
MAX_IMAGES = 500  # images taken from one zip
MAX_PIXELS = 40_000_000  # per image, before decoding (a decompression bomb guard)
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # all members of a zip together
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


class UploadError(ValueError):
    """A user's file cannot be used; the message says why and what to do."""


class OverBudget(UploadError):
    """An upload whose images together decode to more pixels than one upload may."""


def upload_pixels() -> int:
    """Pixels one upload may decode in total: GENLAB_UPLOAD_PIXELS, default 100 million (about 100 MB gray)."""
    return int(os.environ.get("GENLAB_UPLOAD_PIXELS", "100000000"))


class PixelBudget:
    """The pixels left to decode for one upload; `spend` refuses an image that would pass the total."""

    def __init__(self, pixels: int | None = None):
        self.total = upload_pixels() if pixels is None else pixels
        self.left = self.total

    def spend(self, name: str, pixels: int) -> None:
        if pixels > self.left:
            raise OverBudget(f"{name} would take the upload past {self.total:,} decoded pixels in total; "
                              "upload fewer or smaller images.")
        self.left -= pixels


@dataclass
class ImageFile:
    """One decoded image: its name and 8-bit grayscale pixels (H, W)."""

    name: str
    pixels: np.ndarray  # uint8 (H, W)
    notes: list[str] = field(default_factory=list)


def _decode(name: str, data: bytes, budget: PixelBudget) -> ImageFile:
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header only
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise UploadError(
                    f"{name} is {width}×{height} pixels, more than the {MAX_PIXELS // 1_000_000} million allowed; "
                    "shrink it first."
                )
            budget.spend(name, width * height)
            notes = []
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"{name} has {img.n_frames} frames; using the first.")
            img.seek(0)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img if img.mode == "RGBA" else img.convert("RGBA")
                img_l = Image.new("L", rgba.size, 255)  # white paper, the gray image pasted through its alpha
                img_l.paste(rgba.convert("L"), mask=rgba.getchannel("A"))
                del rgba
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


def _member(name: str, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """One member's bytes, read no further than its declared size; a plain sentence for damaged,
    encrypted or unusually compressed archives."""
    if member.flag_bits & 0x1:
        raise UploadError(f"{name} is encrypted; upload a zip without a password.")
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UploadError(f"{name} uses a compression GenLab does not read; re-create it as a plain zip.")
    try:
        with archive.open(member) as f:
            raw = f.read(member.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        raise UploadError(f"{name} is damaged (a file inside fails its checksum); re-create the archive.") from None
    if len(raw) > member.file_size:
        raise UploadError(f"{name} is damaged (a file inside is larger than it says); re-create the archive.")
    return raw


def _read_zip(name: str, data: bytes, budget: PixelBudget) -> tuple[list[ImageFile], list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise UploadError(f"{name} looks like a zip but is damaged; re-create the archive.") from None
    members = [m for m in infos if not m.is_dir() and not PurePosixPath(m.filename).name.startswith(".")]
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
        raw = _member(name, archive, member)
        try:
            decoded = _decode(member.filename, raw, budget)
        except OverBudget:
            raise
        except UploadError as exc:
            failures.append(str(exc))
            continue
        out.append(decoded)
    if failures:
        notes.append(f"{len(failures)} image(s) in {name} could not be read, e.g.: {failures[0]}")
    if not out:
        raise UploadError(f"None of the images in {name} could be read.")
    return out, notes


def read_images(name: str, data: bytes, budget: PixelBudget | None = None) -> tuple[list[ImageFile], list[str]]:
    """Decode one upload (an image or a zip of images) into grayscale images and notes.

    Arguments:
        budget: the decoded pixels left for the whole upload; pass one PixelBudget to every
            call for the files of one upload (a fresh budget per call otherwise).

    Raises UploadError with a plain sentence for empty, huge, corrupt or non-image files, and
    for an upload whose images pass the budget.
    """
    budget = budget if budget is not None else PixelBudget()
    if not data:
        raise UploadError(f"{name} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    if data[:4] == b"PK\x03\x04":
        return _read_zip(name, data, budget)
    image = _decode(name, data, budget)
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
