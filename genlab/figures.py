"""Plotly figures for the app's pages: pure builders from arrays and records, no Streamlit.

Every builder takes plain numbers (numpy arrays, lists of metric dicts) and returns a
`plotly.graph_objects.Figure`, so a page reads: widgets, one genlab call, one figure.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from genlab.snapshots import GRID, grid_axes

__all__ = [
    "scatter_points",
    "density_heatmap",
    "image_grid",
    "training_curves",
    "compare_bars",
    "log_prob_on_grid",
    "metric_label",
    "format_number",
]

COLORS = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#EECA3B", "#9D755D", "#FF9DA6", "#BAB0AC")
LOG_P_RANGE = 10.0  # nats of log-density shown below the peak of a heatmap
MARGIN = dict(l=10, r=10, t=40, b=10)

# How a metric key reads on a chart axis or legend.
METRIC_LABELS = {
    "train_loss": "train",
    "valid_loss": "validation",
    "valid_nll_nats": "validation NLL (nats)",
    "valid_kl_nats": "validation KL (nats)",
    "valid_bits_per_dim": "validation bits/dim",
}


def metric_label(key: str) -> str:
    """A metric key as words: 'valid_kl_nats' -> 'validation KL (nats)', 'train_recon_nats' -> 'recon (nats)'."""
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    words = key.removeprefix("train_").split("_")
    unit = f" ({words.pop()})" if len(words) > 1 and words[-1] in ("nats", "bits") else ""
    return " ".join(words) + unit


def format_number(value, digits: int = 3) -> str:
    """A number for people: fixed decimals for ordinary sizes, '—' for missing or infinite."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 10 ** -digits):
        return f"{value:.{digits}g}"
    return f"{value:,.{digits}f}"


def log_prob_on_grid(log_prob: Callable[[torch.Tensor], torch.Tensor], bounds, n: int = GRID) -> np.ndarray:
    """log p on an n×n grid over bounds (xmin, xmax, ymin, ymax), shape (n, n) indexed [y, x].

    `log_prob` maps points (N, 2) to log-densities (N,), e.g. a dataset's `log_prob_true`.
    """
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    with torch.no_grad():
        return log_prob(points).double().numpy().reshape(n, n)


def _square_axes(fig: go.Figure, bounds=None) -> None:
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain",
                     range=None if bounds is None else [bounds[0], bounds[1]])
    fig.update_yaxes(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1, constrain="domain",
                     range=None if bounds is None else [bounds[2], bounds[3]])


def _as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def scatter_points(points, labels=None, bounds=None, title: str = "", max_points: int = 2000,
                   height: int = 420, background=None) -> go.Figure:
    """2-D points as a scatter plot, one colour per label (labels optional).

    `background` points (e.g. the data behind a model's samples) are drawn first, in grey.
    """
    points = _as_numpy(points)[:max_points]
    fig = go.Figure()
    if background is not None:
        behind = _as_numpy(background)[:max_points]
        fig.add_trace(go.Scatter(x=behind[:, 0], y=behind[:, 1], mode="markers", name="data",
                                 marker=dict(size=4, color="#BAB0AC", opacity=0.5), hoverinfo="skip"))
    if labels is None:
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers",
                                 name="data" if background is None else "samples",
                                 marker=dict(size=4, color=COLORS[0], opacity=0.7)))
    else:
        labels = _as_numpy(labels)[:max_points]
        for i, label in enumerate(np.unique(labels)):
            chosen = points[labels == label]
            fig.add_trace(go.Scatter(x=chosen[:, 0], y=chosen[:, 1], mode="markers", name=str(label),
                                     marker=dict(size=4, color=COLORS[i % len(COLORS)], opacity=0.75)))
    fig.update_layout(title=title, height=height, margin=MARGIN,
                      showlegend=labels is not None or background is not None,
                      legend=dict(title="label" if labels is not None else None, itemsizing="constant"))
    _square_axes(fig, bounds)
    return fig


def density_heatmap(log_p, bounds, points=None, title: str = "", height: int = 420,
                    log_p_range: float = LOG_P_RANGE, top: float | None = None) -> go.Figure:
    """A log-density grid (n×n, indexed [y, x]) as a heatmap, optionally with points on top.

    Colours span `log_p_range` nats below `top` (default: the grid's own peak), so the
    shape of the density stays visible where it is tiny; everything lower shows as the
    floor colour. Pass the same `top` to heatmaps that should be compared by eye.
    """
    log_p = np.asarray(log_p, dtype=float)
    xs, ys = grid_axes(bounds, log_p.shape[0])
    finite = log_p[np.isfinite(log_p)]
    if top is None:
        top = float(finite.max()) if finite.size else 0.0
    shown = np.clip(np.nan_to_num(log_p, nan=top - log_p_range, neginf=top - log_p_range), top - log_p_range, top)
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=shown, colorscale="Viridis", zmin=top - log_p_range, zmax=top,
        colorbar=dict(title=dict(text="log p (nats)", side="right"), thickness=12),
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>log p=%{z:.2f}<extra></extra>",
    ))
    if points is not None:
        points = _as_numpy(points)[:1000]
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                                 marker=dict(size=3, color="white", opacity=0.55), hoverinfo="skip"))
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False)
    _square_axes(fig, bounds)
    return fig


def image_grid(images, labels: Sequence | None = None, columns: int = 8, title: str = "",
               tile_pixels: int = 64, max_width: int = 880) -> go.Figure:
    """Images (N, C, H, W) with values in [0, 1] tiled into one figure, a label above each.

    One-channel images are drawn white on black, as digits usually are; three channels
    as colour. Tiles are `tile_pixels` wide on screen, smaller if the grid would be wider
    than `max_width` (the figure has a fixed size, so its pixels stay square).
    """
    images = _as_numpy(images).astype(float)
    n, c, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    gap = 1 if labels is None else max(2, h // 3)  # pixels between tiles (room for a label)
    cell_h, cell_w = h + gap, w + 1
    canvas = np.full((rows * cell_h, columns * cell_w, 3), 255.0)  # white gaps
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


def _series(metrics: Sequence[dict], x: str, key: str) -> tuple[list, list]:
    xs, ys = [], []
    for record in metrics:
        value = record.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and record.get(x) is not None:
            xs.append(record[x])
            ys.append(value)
    return xs, ys


def training_curves(metrics: Sequence[dict], keys: Sequence[str | Sequence[str]], titles: Sequence[str],
                    x: str = "seconds", height: int = 340) -> go.Figure:
    """One panel per entry of `keys` (a metric key or a list of keys), titled by `titles`.

    A panel with no finite value yet says so instead of drawing empty axes.
    """
    panels = [[k] if isinstance(k, str) else list(k) for k in keys]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(titles), horizontal_spacing=0.08)
    colors = iter(COLORS * (1 + sum(map(len, panels)) // len(COLORS)))  # one colour per curve, all panels
    for col, panel in enumerate(panels, start=1):
        drawn = False
        for key in panel:
            xs, ys = _series(metrics, x, key)
            if not xs:
                continue
            drawn = True
            fig.add_trace(go.Scatter(x=xs, y=ys, name=metric_label(key), legendgroup=key,
                                     mode="lines+markers" if len(xs) < 20 else "lines",
                                     line=dict(color=next(colors), width=2),
                                     showlegend=len(panel) > 1),
                          row=1, col=col)
        if not drawn:
            fig.add_annotation(text="no values yet", showarrow=False, font=dict(color="gray"),
                               xref=f"x{col if col > 1 else ''} domain", yref=f"y{col if col > 1 else ''} domain",
                               x=0.5, y=0.5)
        fig.update_xaxes(title_text="seconds of training" if x == "seconds" else x, rangemode="nonnegative",
                         row=1, col=col)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0))
    return fig


def compare_bars(names: Sequence[str], values: Sequence, title: str = "", value_label: str = "",
                 groups: Sequence[str] | None = None, notes: Sequence[str] | None = None,
                 height: int = 380) -> go.Figure:
    """One bar per run (missing values left out), coloured by group, value printed on each bar."""
    rows = [(n, v, g, t) for n, v, g, t in zip(names, values, groups or [""] * len(names), notes or [""] * len(names))
            if isinstance(v, (int, float)) and math.isfinite(v)]
    fig = go.Figure()
    palette: dict[str, str] = {}
    for name, value, group, note in rows:
        first_of_group = group not in palette
        color = palette.setdefault(group, COLORS[len(palette) % len(COLORS)])
        fig.add_trace(go.Bar(x=[name], y=[value], name=group or name, marker_color=color,
                             text=[format_number(value)], textposition="outside", legendgroup=group,
                             showlegend=bool(group) and first_of_group,
                             hovertemplate=f"{name}<br>{value_label} %{{y:.4g}}<br>{note}<extra></extra>"))
    if not rows:
        fig.add_annotation(text="no values to compare", showarrow=False, font=dict(color="gray"),
                           xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10), yaxis_title=value_label,
                      bargap=0.35, legend_title_text="family", uniformtext_minsize=9)
    top = max((r[1] for r in rows), default=1.0)
    if top > 0:
        fig.update_yaxes(range=[min(0.0, min(r[1] for r in rows)), top * 1.15])
    return fig
