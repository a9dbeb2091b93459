"""Hostile uploads: each crafted zip or image is refused with its own plain sentence, within one pixel budget."""
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from genlab.data import load_dataset
from genlab.data.imagefiles import OverBudget, PixelBudget, UploadError, read_images


def one_bit_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (side, side), 0).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    return buf.getvalue()


def corrupt(data: bytes, signature: bytes, offset: int, value: bytes) -> bytes:
    out = bytearray(data)
    start = out.find(signature)
    while start >= 0:
        out[start + offset : start + offset + len(value)] = value
        start = out.find(signature, start + 1)
    return bytes(out)


def refused(data: bytes, message: str, budget=None, name="x.zip") -> str:
    with pytest.raises(UploadError, match=message) as caught:
        read_images(name, data, budget=budget)
    assert "/tmp" not in str(caught.value) and "Traceback" not in str(caught.value)
    return str(caught.value)


def test_the_pixel_cap_is_per_upload_not_per_image(monkeypatch):
    monkeypatch.setenv("GENLAB_UPLOAD_PIXELS", "5000000")
    bomb = zipped({f"{i}.png": one_bit_png(1000) for i in range(8)})  # 8 million pixels, each image under the cap
    assert len(bomb) < 10_000
    refused(bomb, "past 5,000,000 decoded pixels in total", budget=None)
    images, _ = read_images("ok.zip", zipped({f"{i}.png": one_bit_png(1000) for i in range(4)}))
    assert len(images) == 4


def test_one_budget_spans_several_files():
    budget = PixelBudget(2_500_000)
    read_images("a.png", one_bit_png(1000), budget=budget)
    read_images("b.png", one_bit_png(1000), budget=budget)
    with pytest.raises(OverBudget, match="c.png would take the upload past 2,500,000"):
        read_images("c.png", one_bit_png(1000), budget=budget)


def test_dimensions_come_from_the_header_before_decoding():
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 10_000, 5_000, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")  # no pixels
    refused(png, "10000×5000 pixels, more than the 40 million", name="huge.png")


def test_a_folder_shares_one_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_UPLOAD_PIXELS", "3000000")
    for i in range(12):
        (tmp_path / f"{i}.png").write_bytes(one_bit_png(600))  # 360,000 pixels each, 4.3 million together
    with pytest.raises(OverBudget, match="decoded pixels in total"):
        load_dataset(f"folder:{tmp_path}", size=8)


def good_zip() -> bytes:
    arr = np.zeros((16, 16), np.uint8)
    arr[4:12, 6:10] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return zipped({"a.png": buf.getvalue(), "b.png": buf.getvalue()})


@pytest.mark.parametrize("make, message", [
    (lambda z: corrupt(z, b"PK\x01\x02", 16, b"\0\0\0\0"), "damaged \\(a file inside fails its checksum\\)"),
    (lambda z: corrupt(corrupt(z, b"PK\x01\x02", 8, b"\x01\x00"), b"PK\x03\x04", 6, b"\x01\x00"), "encrypted"),
    (lambda z: corrupt(z, b"PK\x01\x02", 10, b"\x63\x00"), "compression GenLab does not read"),
    (lambda z: z[: len(z) // 2], "looks like a zip but is damaged"),
    (lambda z: z[:30] + b"\xff" * 40 + z[70:], "damaged"),
    (lambda z: corrupt(z, b"PK\x01\x02", 24, struct.pack("<I", 10)), "damaged"),  # declares 10 bytes, holds more
])
def test_malformed_zips_get_one_sentence(make, message):
    refused(make(good_zip()), message)


def test_other_compressions_are_refused_plainly():
    refused(zipped({"a.png": one_bit_png(8)}, compression=zipfile.ZIP_LZMA), "compression GenLab does not read")
    refused(zipped({"a.png": one_bit_png(8)}, compression=zipfile.ZIP_BZIP2), "compression GenLab does not read")
