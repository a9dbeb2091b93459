"""A drawing a link carries opens on the other browser's canvas: its pixels as a fabric.js scene."""
import pytest
import torch

from pages._ui.canvas import OVERLAP, pixels_as_scene


def test_each_lit_pixel_becomes_one_square_at_its_place_and_gray_level():
    x = torch.zeros(1, 4, 4)
    x[0, 1, 2], x[0, 3, 0] = 16, 8  # gray8 view with 17 levels: 16 is white
    scene = pixels_as_scene(x, levels=17, size=200)
    squares = {(o["left"], o["top"]): o for o in scene["objects"]}
    assert set(squares) == {(100.0, 50.0), (0.0, 150.0)}
    assert squares[(100.0, 50.0)]["fill"] == "rgb(255,255,255)" and squares[(0.0, 150.0)]["fill"] == "rgb(128,128,128)"
    side = 50.0 + OVERLAP
    assert all(o["width"] == side and o["height"] == side and o["type"] == "rect" for o in scene["objects"])


def test_a_binary_drawing_is_white_on_the_black_background_and_a_blank_one_is_empty():
    x = torch.zeros(1, 8, 8)
    x[0, 2:6, 3] = 1
    scene = pixels_as_scene(x, levels=2, size=280)
    assert len(scene["objects"]) == 4 and {o["fill"] for o in scene["objects"]} == {"rgb(255,255,255)"}
    assert pixels_as_scene(torch.zeros(1, 8, 8), levels=2, size=280)["objects"] == []


def test_anything_but_one_grayscale_channel_is_refused():
    with pytest.raises(ValueError, match="one grayscale channel"):
        pixels_as_scene(torch.zeros(3, 8, 8), levels=2, size=280)
