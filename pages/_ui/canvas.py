"""The drawing canvas of Density and Concepts, which opens showing the drawing a shared link carries.

A link carries a drawing as its pixels in the data's view (`genlab.data.packed`). The canvas
(streamlit-drawable-canvas) starts from a fabric.js scene, so the linked pixels are handed to it as one
filled square per lit pixel: the other browser sees the same drawing on its canvas, scores what it
shows, and may draw on, undo or clear it like its own strokes.
"""
from __future__ import annotations

import torch

__all__ = ["pixels_as_scene", "drawing_canvas"]

OVERLAP = 1  # canvas pixels each square reaches into the next, so no seam shows between neighbours


def pixels_as_scene(x: torch.Tensor, levels: int, size: int) -> dict:
    """A (1, H, W) image in a view of `levels` values as a fabric.js scene of `size`×`size` canvas pixels:
    a square per non-zero pixel, white at the top level and gray below it (black pixels are the background)."""
    if x.dim() != 3 or x.shape[0] != 1:
        raise ValueError(f"a drawing is one grayscale channel, shaped (1, H, W); got {tuple(x.shape)}.")
    height, width = x.shape[1:]
    cell_h, cell_w = size / height, size / width
    top = max(1, levels - 1)
    objects = []
    for row, column in torch.nonzero(x[0] > 0).tolist():
        gray = round(255 * min(1.0, float(x[0, row, column]) / top))
        objects.append({"type": "rect", "left": column * cell_w, "top": row * cell_h, "width": cell_w + OVERLAP,
                        "height": cell_h + OVERLAP, "fill": f"rgb({gray},{gray},{gray})", "strokeWidth": 0,
                        "selectable": False})
    return {"version": "4.4.0", "objects": objects}


def drawing_canvas(size: int, stroke: int, key: str, linked: torch.Tensor | None, levels: int):
    """The light-on-dark freehand canvas; where a link brought a drawing (`linked`), it opens with it drawn."""
    from streamlit_drawable_canvas import st_canvas

    scene = None if linked is None else pixels_as_scene(linked, levels, size)
    return st_canvas(stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000", height=size,
                     width=size, drawing_mode="freedraw", initial_drawing=scene, return_image_data=True,
                     key=key if linked is None else f"{key}:linked")
