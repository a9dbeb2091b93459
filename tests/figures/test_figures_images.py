"""Figures of images: tiles, labels, square pixels, text thumbnails."""

import numpy as np

from genlab import figures


def test_image_grid_tiles_every_image_with_its_label():
    images = np.zeros((5, 1, 4, 3))
    images[2] = 1.0  # one white image
    fig = figures.image_grid(images, labels=list("abcde"), columns=2)
    canvas = np.asarray(fig.data[0].z)
    rows, gap = 3, max(2, 4 // 3)
    assert canvas.shape == (rows * (4 + gap), 2 * (3 + 1), 3)
    top = 1 * (4 + gap) + gap  # image 2 sits in row 1, column 0
    assert (canvas[top:top + 4, 0:3] == 255).all()
    assert [a.text for a in fig.layout.annotations] == list("abcde")
    gap_colour = canvas[top - 1, 0]
    assert 0 < gap_colour.min() and gap_colour.max() < 255  # the gaps show against white and black tiles


def test_one_image_and_pixel_map_keep_pixels_square_and_rows_in_order():
    image = np.zeros((1, 4, 8))
    image[0, 0, :] = 1.0  # the top row white
    fig = figures.one_image(image, size=160)
    assert np.asarray(fig.data[0].z).shape == (4, 8, 3) and (fig.layout.width, fig.layout.height) == (160, 80)
    assert (np.asarray(fig.data[0].z)[0] == 255).all()
    heat = figures.pixel_map(np.arange(12.0).reshape(3, 4))
    assert heat.layout.yaxis.autorange == "reversed" and heat.layout.yaxis.scaleanchor == "x"


def test_text_thumbnail_draws_an_image_in_block_characters():
    image = np.zeros((28, 28))
    image[:, 14:] = 1.0  # right half white
    rows = figures.text_thumbnail(image, max_side=14).split("<br>")
    assert len(rows) == 14 and all(len(r) == 28 for r in rows)
    assert rows[0] == " " * 14 + "█" * 14
