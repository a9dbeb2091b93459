"""An image in a data view written as short text (for a link) and read back, checked: zlib, then base64url.

Binary pixels are packed eight to a byte, gray levels one to a byte; the text says neither
shape nor levels, so the reader must know them (the data set's spec) and refuses anything else.

Example:
    >>> text = pack_pixels(x, levels=2)            # x: (1, 28, 28) of 0/1
    >>> unpack_pixels(text, (1, 28, 28), levels=2)  # the same tensor
"""
from __future__ import annotations

import base64
import binascii
import math
import zlib

import numpy as np
import torch

__all__ = ["pack_pixels", "unpack_pixels", "MAX_PACKED_CHARS"]

MAX_PACKED_CHARS = 8192  # a link's drawing is refused past this many characters, before decoding


def _raw_length(shape: tuple[int, ...], levels: int) -> int:
    count = math.prod(shape)
    return (count + 7) // 8 if levels == 2 else count


def pack_pixels(x: torch.Tensor, levels: int) -> str:
    """Integer pixel values in 0..levels-1 (levels at most 256) as base64url text of their zlib'd bytes."""
    if not 2 <= levels <= 256:
        raise ValueError(f"Only 2 to 256 pixel levels can be packed; got {levels}.")
    values = np.asarray(torch.as_tensor(x).detach().cpu(), dtype=np.int64).ravel()
    if values.size and (values.min() < 0 or values.max() >= levels):
        raise ValueError(f"Pixel values must lie in 0..{levels - 1}.")
    raw = np.packbits(values.astype(np.uint8)) if levels == 2 else values.astype(np.uint8)
    return base64.urlsafe_b64encode(zlib.compress(raw.tobytes(), 9)).decode("ascii").rstrip("=")


def unpack_pixels(text: str, shape: tuple[int, ...], levels: int) -> torch.Tensor:
    """The float tensor of `shape` that `pack_pixels` wrote as `text`; ValueError, in a sentence, if it is not one."""
    if not isinstance(text, str) or len(text) > MAX_PACKED_CHARS:
        raise ValueError(f"a drawing is at most {MAX_PACKED_CHARS} characters of text")
    expected = _raw_length(shape, levels)
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, expected + 1)  # never inflates more than one byte past what fits
    except (binascii.Error, ValueError, zlib.error):
        raise ValueError("the drawing's text is not a packed image") from None
    if len(raw) != expected or inflater.unconsumed_tail:
        raise ValueError(f"the drawing does not have the {math.prod(shape)} pixels of this data set")
    values = np.frombuffer(raw, dtype=np.uint8)
    if levels == 2:
        values = np.unpackbits(values)[:math.prod(shape)]
    if values.max(initial=0) >= levels:
        raise ValueError(f"the drawing has pixel values above {levels - 1}")
    return torch.from_numpy(values.astype(np.float32).reshape(shape))
