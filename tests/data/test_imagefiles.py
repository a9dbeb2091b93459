"""Uploads: every supported format reads; hostile or broken files get a plain message."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from genlab.data.imagefiles import MAX_IMAGES, UploadError, read_images, to_view


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def digit_on_paper(size=(40, 20)) -> Image.Image:
    """A dark vertical bar on white, taller than wide."""
    arr = np.full((size[0], size[1]), 255, np.uint8)
    arr[5:-5, 6:14] = 0
    return Image.fromarray(arr)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_each_format_reads(fmt):
    images, notes = read_images(f"x.{fmt.lower()}", encode(digit_on_paper(), fmt))
    assert len(images) == 1 and images[0].pixels.shape == (40, 20)


def test_gif_uses_the_first_frame():
    frames = [Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    images, notes = read_images("anim.gif", buf.getvalue())
    assert images[0].pixels.max() == 0 and "first" in notes[0]


def test_transparent_png_goes_on_white():
    rgba = Image.new("RGBA", (6, 6), (0, 0, 0, 0))
    images, notes = read_images("t.png", encode(rgba, "PNG"))
    assert images[0].pixels.min() == 255 and "transparency" in notes[0]


def test_view_keeps_aspect_inverts_paper_and_quantises():
    image = read_images("d.png", encode(digit_on_paper(), "PNG"))[0][0]
    binary = to_view(image, (1, 8, 8), "binary", 2)
    assert binary.shape == (1, 8, 8) and set(binary.unique().tolist()) <= {0.0, 1.0}
    assert binary[0, :, 0].sum() == 0 and binary[0, :, -1].sum() == 0  # padded left and right, not stretched
    assert binary[0, 2:6, 3:5].sum() > 0  # the bar is light after inversion
    gray = to_view(image, (1, 8, 8), "gray8", 17)
    assert gray.max() <= 16 and (gray == gray.round()).all()
    kept = to_view(image, (1, 8, 8), "binary", 2, invert="no")
    assert kept[0, 0, 0] == 0  # padding is background (0) whatever the inversion


def test_zip_of_images_skips_other_files():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.png", encode(digit_on_paper(), "PNG"))
        z.writestr("b.jpg", encode(digit_on_paper(), "JPEG"))
        z.writestr("notes.txt", "hello")
        z.writestr("broken.png", b"\x89PNG not really")
    images, notes = read_images("set.zip", buf.getvalue())
    assert [i.name for i in images] == ["a.png", "b.jpg"]
    assert any("not images" in n for n in notes) and any("could not be read" in n for n in notes)


def test_zip_is_capped():
    buf = io.BytesIO()
    tiny = encode(Image.new("L", (2, 2)), "PNG")
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(MAX_IMAGES + 3):
            z.writestr(f"{i}.png", tiny)
    images, notes = read_images("many.zip", buf.getvalue())
    assert len(images) == MAX_IMAGES and any("first" in n for n in notes)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.png", b"", "empty"),
        ("words.png", b"this is not an image at all", "could not be read"),
        ("cut.png", encode(digit_on_paper(), "PNG")[:40], "could not be read"),
        ("bad.zip", b"PK\x03\x04garbage", "damaged"),
    ],
)
def test_bad_files_get_plain_messages(name, data, message):
    with pytest.raises(UploadError, match=message):
        read_images(name, data)


def test_huge_image_is_refused_before_decoding(monkeypatch):
    import genlab.data.imagefiles as imagefiles

    monkeypatch.setattr(imagefiles, "MAX_PIXELS", 100)
    with pytest.raises(UploadError, match="pixels"):
        read_images("big.png", encode(Image.new("L", (20, 20)), "PNG"))


def test_non_image_model_is_refused():
    image = read_images("d.png", encode(digit_on_paper(), "PNG"))[0][0]
    with pytest.raises(UploadError, match="inputs shaped"):
        to_view(image, (2,), "continuous", None)
