"""Figures of images: a labelled grid, one image, a per-pixel heat map, and a text thumbnail."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from genlab.figures.base import MARGIN, as_numpy

__all__ = ["image_grid", "one_image", "pixel_map", "text_thumbnail"]


GAP_RGB = (176, 186, 201)  # the gaps between the tiles of a grid: a light slate


def image_grid(images, labels: Sequence | None = None, columns: int = 8, title: str = "",
               tile_pixels: int = 64, max_width: int = 880) -> go.Figure:
    """Images (N, C, H, W) with values in [0, 1] tiled into one figure, a label above each.

    One-channel images are drawn white on black, as digits usually are; three channels
    as colour. Tiles are `tile_pixels` wide on screen, smaller if the grid would be wider
    than `max_width` (the figure has a fixed size, so its pixels stay square).
    """
    images = as_numpy(images).astype(float)
    n, c, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    gap = 1 if labels is None else max(2, h // 3)  # pixels between tiles (room for a label)
    cell_h, cell_w = h + gap, w + 1
    canvas = np.empty((rows * cell_h, columns * cell_w, 3))
    canvas[:] = GAP_RGB  # neither white nor black, so no tile runs into its neighbour
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = r * cell_h + gap, col * cell_w
        tile = images[i].transpose(1, 2, 0)  # (H, W, C)
        rgb = np.repeat(tile, 3, axis=2) if c == 1 else tile[..., :3]  # (H, W, 3)
        canvas[top:top + h, left:left + w] = rgb * 255
    fig = go.Figure(go.Image(z=canvas.clip(0, 255).astype(np.uint8), hoverinfo="skip"))
    if labels is not None:
        for i, label in enumerate(labels[:n]):
            r, col = divmod(i, columns)
            fig.add_annotation(x=col * cell_w + w / 2 - 0.5, y=r * cell_h + gap / 2 - 0.5, text=str(label),
                               showarrow=False, font=dict(size=11, color="#1F2933"), yanchor="middle")
    scale = min(tile_pixels / max(h, w), max_width / (columns * cell_w))
    fig.update_layout(title=title, margin=dict(l=0, r=0, t=40 if title else 0, b=0),
                      height=int(rows * cell_h * scale) + (40 if title else 0),
                      width=int(columns * cell_w * scale))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def one_image(image, title: str = "", size: int = 200) -> go.Figure:
    """One image (C, H, W) with values in [0, 1], `size` pixels on its longer side, no frame or gaps."""
    image = as_numpy(image).astype(float)
    c, h, w = image.shape
    rgb = np.repeat(image.transpose(1, 2, 0), 3, axis=2) if c == 1 else image.transpose(1, 2, 0)[..., :3]
    fig = go.Figure(go.Image(z=np.rint(rgb.clip(0, 1) * 255).astype(np.uint8), hoverinfo="skip"))
    scale = size / max(h, w)
    top = 40 if title else 0
    fig.update_layout(title=title, margin=dict(l=0, r=0, t=top, b=0), height=int(h * scale) + top, width=int(w * scale))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def pixel_map(values, title: str = "", colorbar: str = "−log p (nats)", height: int = 360) -> go.Figure:
    """A per-pixel map (H, W) drawn as the image is, top row first, square pixels."""
    values = np.asarray(values, dtype=float)
    h, w = values.shape
    fig = go.Figure(go.Heatmap(z=values, colorscale="Magma",
                               colorbar=dict(title=dict(text=colorbar, side="right"), thickness=12),
                               hovertemplate="row %{y}, column %{x}<br>%{z:.3f}<extra></extra>"))
    fig.update_xaxes(visible=False, constrain="domain", range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(title=title, height=height, margin=MARGIN)
    return fig


TEXT_SHADES = " ░▒▓█"


def text_thumbnail(image, max_side: int = 14) -> str:
    """An image (H, W) with values in [0, 1] as block characters, rows joined by <br>, for a hover label.

    Larger images are averaged down to at most `max_side` rows; each pixel is two characters wide
    so the picture keeps its shape in a monospace font.
    """
    image = np.asarray(image, dtype=float)
    h, w = image.shape
    factor = max(1, math.ceil(max(h, w) / max_side))
    if factor > 1:
        pad_h, pad_w = (-h) % factor, (-w) % factor
        image = np.pad(image, ((0, pad_h), (0, pad_w)))
        image = image.reshape(image.shape[0] // factor, factor, image.shape[1] // factor, factor).mean(axis=(1, 3))
    levels = np.clip(np.rint(image * (len(TEXT_SHADES) - 1)), 0, len(TEXT_SHADES) - 1).astype(int)
    return "<br>".join("".join(TEXT_SHADES[v] * 2 for v in row) for row in levels)
