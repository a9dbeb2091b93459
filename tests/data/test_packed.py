"""A view's pixels as link text: read back exactly, and anything else refused in a sentence."""
import base64
import zlib

import pytest
import torch

from genlab.data.packed import MAX_PACKED_CHARS, pack_pixels, unpack_pixels


@pytest.mark.parametrize("shape, levels", [((1, 28, 28), 2), ((1, 8, 8), 17), ((1, 8, 8), 256)])
def test_pixels_come_back_exactly(shape, levels):
    x = torch.randint(0, levels, shape, generator=torch.Generator().manual_seed(0)).float()
    text = pack_pixels(x, levels)
    assert torch.equal(unpack_pixels(text, shape, levels), x)
    assert text.isascii() and "=" not in text and "+" not in text and "/" not in text  # fits a URL as is


def test_a_binary_digit_packs_into_a_short_link():
    x = torch.zeros(1, 28, 28)
    x[0, 4:24, 12:16] = 1
    assert len(pack_pixels(x, 2)) < 80


def squeezed(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


@pytest.mark.parametrize("text, why", [
    ("not base64 at all!", "not a packed image"),
    (squeezed(bytes(10)), "784 pixels"),
    (squeezed(bytes(10**6)), "784 pixels"),  # a short text that would inflate to a megabyte
    ("A" * (MAX_PACKED_CHARS + 1), "at most"),
])
def test_anything_else_is_refused(text, why):
    with pytest.raises(ValueError, match=why):
        unpack_pixels(text, (1, 28, 28), 2)


def test_values_above_the_levels_are_refused():
    with pytest.raises(ValueError, match="above 16"):
        unpack_pixels(squeezed(bytes([200] * 64)), (1, 8, 8), 17)
    with pytest.raises(ValueError, match="0..1"):
        pack_pixels(torch.full((1, 2, 2), 3.0), 2)
