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

from genlab.queries import histogram
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
    "histograms",
    "one_image",
    "pixel_map",
    "clickable_density",
    "latent_scatter",
    "text_thumbnail",
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


def field_map(values, bounds, name: str, points=None, samples=None, height: int = 420) -> go.Figure:
    """A family's own field on a grid: a scalar (n, n) as a heatmap (a discriminator, a critic,
    an energy) or a vector field (n, n, 2) as arrows (a score), with data and samples on top."""
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    xs, ys = grid_axes(bounds, n)
    if values.ndim == 2:
        fig = go.Figure(go.Heatmap(x=xs, y=ys, z=values, colorscale="RdBu", reversescale=True,
                                   colorbar=dict(title=dict(text=name, side="right"), thickness=12),
                                   hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>" + name + "=%{z:.3f}<extra></extra>"))
    else:
        xx, yy = np.meshgrid(xs, ys)
        length = np.linalg.norm(values, axis=-1)
        scale = (xs[1] - xs[0]) * 0.9 / max(float(np.percentile(length, 95)), 1e-12)
        tips = np.stack([xx + values[..., 0] * scale, yy + values[..., 1] * scale], -1)
        seg_x = np.stack([xx, tips[..., 0], np.full_like(xx, np.nan)], -1).ravel()
        seg_y = np.stack([yy, tips[..., 1], np.full_like(yy, np.nan)], -1).ravel()
        fig = go.Figure(go.Scatter(x=seg_x, y=seg_y, mode="lines", line=dict(color="#444", width=1),
                                   hoverinfo="skip", name=name))
        fig.add_trace(go.Scatter(x=xx.ravel(), y=yy.ravel(), mode="markers", marker=dict(size=2, color="#444"),
                                 hoverinfo="skip", showlegend=False))
    for pts, colour, label in ((points, "rgba(40,40,40,0.35)", "data"), (samples, "#e45756", "samples")):
        if pts is not None:
            pts = _as_numpy(pts)[:500]
            fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=label,
                                     marker=dict(size=3, color=colour), hoverinfo="skip"))
    fig.update_layout(title=f"{name} now" + (" (arrows: direction of increasing log p)" if values.ndim == 3 else ""),
                      height=height, margin=MARGIN, legend=dict(orientation="h", y=-0.08))
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
                    x: str = "seconds", height: int = 340, events: bool = False) -> go.Figure:
    """One panel per entry of `keys` (a metric key or a list of keys), titled by `titles`.

    A panel with no finite value yet says so instead of drawing empty axes. With `events`,
    each record carrying an "event" (a mid-run hyper-parameter change) draws a dotted
    vertical line at its x in every panel, labelled in the first.
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
    if events:
        _mark_events(fig, metrics, x, len(panels))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0))
    return fig


def _mark_events(fig: go.Figure, metrics: Sequence[dict], x: str, columns: int) -> None:
    """A dotted vertical line per record with an "event", in each of `columns` panels; the text on the first."""
    for record in metrics:
        if not record.get("event") or x not in record:
            continue
        for col in range(1, columns + 1):
            label = dict(annotation_text=record["event"], annotation_position="top left",
                         annotation_font_size=10) if col == 1 else {}
            fig.add_vline(x=record[x], line=dict(color="gray", dash="dot", width=1), row=1, col=col, **label)


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


def histograms(sets: dict, marks: Sequence[tuple[str, float]] = (), title: str = "", x_label: str = "log p (nats)",
               bins: int = 40, height: int = 360, x_range: tuple[float, float] | None = None) -> go.Figure:
    """One histogram per named set of values (each binned over its own range), overlaid, and a
    dashed vertical line per (label, value) mark. Non-finite values, and values left of `x_range`
    (the initial view; zooming out shows them), are counted in the legend."""
    fig = go.Figure()
    for i, (name, values) in enumerate(sets.items()):
        edges, counts, off = histogram(values, bins)
        notes = [f"{off} at −∞, not drawn"] if off else []
        if x_range is not None:
            values = np.asarray(values, dtype=float)
            left = int((np.isfinite(values) & (values < x_range[0])).sum())
            if left:
                notes.append(f"{left} left of the view, median {np.median(values[np.isfinite(values)]):.4g}")
        label = name + (f" ({'; '.join(notes)})" if notes else "")
        fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), name=label,
                             marker=dict(color=COLORS[i % len(COLORS)], line=dict(width=0)), opacity=0.6,
                             hovertemplate=f"{name}<br>{x_label} %{{x:.4g}}<br>%{{y}} items<extra></extra>"))
    shown = [v for values in sets.values() for v in np.asarray(values, dtype=float).ravel() if math.isfinite(v)]
    shown += [v for _, v in marks if v is not None and math.isfinite(v)]
    low, high = x_range if x_range is not None else (min(shown, default=0.0), max(shown, default=1.0))
    for j, (label, value) in enumerate(marks):
        if value is None or not math.isfinite(value):
            continue
        fig.add_vline(x=value, line=dict(color="#1F2933", width=2, dash="dash"))
        right_half = value > (low + high) / 2  # labels lean inwards so they stay on the chart
        fig.add_annotation(x=value, y=1 - 0.08 * (j % 4), yref="paper", text=label, showarrow=False,
                           xanchor="right" if right_half else "left", font=dict(size=11, color="#1F2933"),
                           bgcolor="rgba(255,255,255,0.8)")
    fig.update_layout(title=title, height=height, margin=MARGIN, barmode="overlay", xaxis_title=x_label,
                      yaxis_title="items", showlegend=len(sets) > 1,
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    return fig


def one_image(image, title: str = "", size: int = 200) -> go.Figure:
    """One image (C, H, W) with values in [0, 1], `size` pixels on its longer side, no frame or gaps."""
    image = _as_numpy(image).astype(float)
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


def clickable_density(log_p, bounds, point=None, title: str = "", points=None, click_grid: int = 41,
                      height: int = 460, top: float | None = None) -> go.Figure:
    """`density_heatmap` with an invisible grid of clickable points on top (for a chart selection)
    and the chosen point marked as a star. Only the grid trace (the last one) can be selected."""
    fig = density_heatmap(log_p, bounds, points=points, title=title, height=height, top=top)
    if point is not None:
        fig.add_trace(go.Scatter(x=[point[0]], y=[point[1]], mode="markers", name="your point", hoverinfo="skip",
                                 marker=dict(symbol="star", size=16, color="#E45756",
                                             line=dict(color="white", width=1))))
    xs, ys = grid_axes(bounds, click_grid)
    xx, yy = np.meshgrid(xs, ys)
    fig.add_trace(go.Scatter(x=xx.ravel(), y=yy.ravel(), mode="markers", name="click to score",
                             marker=dict(size=9, color="white", opacity=0.0),
                             hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>click to score this point<extra></extra>"))
    fig.update_layout(clickmode="event+select", dragmode=False)
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


def latent_scatter(points, labels=None, hover=None, title: str = "", height: int = 520,
                   selected: Sequence[int] = ()) -> go.Figure:
    """2-D projections of codes, one colour per label; each point carries its item index as customdata
    (for a chart selection) and shows `hover[i]` (e.g. a text thumbnail) when the mouse is over it."""
    points = _as_numpy(points)
    n = len(points)
    labels = np.zeros(n, dtype=int) if labels is None else _as_numpy(labels)
    hover = [""] * n if hover is None else list(hover)
    fig = go.Figure()
    for i, label in enumerate(np.unique(labels)):
        index = np.flatnonzero(labels == label)
        fig.add_trace(go.Scatter(
            x=points[index, 0], y=points[index, 1], mode="markers", name=str(label),
            customdata=index, text=[hover[k] for k in index],
            marker=dict(size=6, color=COLORS[i % len(COLORS)], opacity=0.8),
            hovertemplate=f"item %{{customdata}} · label {label}<br>%{{text}}<extra></extra>",
        ))
    chosen = [k for k in selected if 0 <= k < n]
    if chosen:
        fig.add_trace(go.Scatter(x=points[chosen, 0], y=points[chosen, 1], mode="markers", name="shown",
                                 hoverinfo="skip", marker=dict(size=13, color="rgba(0,0,0,0)",
                                                               line=dict(color="#1F2933", width=2))))
    fig.update_layout(title=title, height=height, margin=MARGIN, legend=dict(title="label", itemsizing="constant"),
                      hoverlabel=dict(font=dict(family="DejaVu Sans Mono, Menlo, Consolas, monospace", size=10,
                                                color="#1F2933"), bgcolor="white"),
                      showlegend=len(np.unique(labels)) > 1, dragmode="lasso")
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False)
    return fig
