"""Figures of 2-D points and densities: scatter plots, log-density heatmaps, vector fields, a
clickable density and a latent-space scatter."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from genlab.figures.base import COLORS, LOG_P_RANGE, MARGIN, as_numpy, square_axes
from genlab.snapshots import GRID, grid_axes

__all__ = ["log_prob_on_grid", "scatter_points", "density_heatmap", "field_map", "clickable_density",
           "latent_scatter"]


def log_prob_on_grid(log_prob: Callable[[torch.Tensor], torch.Tensor], bounds, n: int = GRID) -> np.ndarray:
    """log p on an n×n grid over bounds (xmin, xmax, ymin, ymax), shape (n, n) indexed [y, x].

    `log_prob` maps points (N, 2) to log-densities (N,), e.g. a dataset's `log_prob_true`.
    """
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    with torch.no_grad():
        return log_prob(points).double().numpy().reshape(n, n)


def scatter_points(points, labels=None, bounds=None, title: str = "", max_points: int = 2000,
                   height: int = 420, background=None) -> go.Figure:
    """2-D points as a scatter plot, one colour per label (labels optional).

    `background` points (e.g. the data behind a model's samples) are drawn first, in grey.
    """
    points = as_numpy(points)[:max_points]
    fig = go.Figure()
    if background is not None:
        behind = as_numpy(background)[:max_points]
        fig.add_trace(go.Scatter(x=behind[:, 0], y=behind[:, 1], mode="markers", name="data",
                                 marker=dict(size=4, color="#BAB0AC", opacity=0.5), hoverinfo="skip"))
    if labels is None:
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers",
                                 name="data" if background is None else "samples",
                                 marker=dict(size=4, color=COLORS[0], opacity=0.7)))
    else:
        labels = as_numpy(labels)[:max_points]
        for i, label in enumerate(np.unique(labels)):
            chosen = points[labels == label]
            fig.add_trace(go.Scatter(x=chosen[:, 0], y=chosen[:, 1], mode="markers", name=str(label),
                                     marker=dict(size=4, color=COLORS[i % len(COLORS)], opacity=0.75)))
    fig.update_layout(title=title, height=height, margin=MARGIN,
                      showlegend=labels is not None or background is not None,
                      legend=dict(title="label" if labels is not None else None, itemsizing="constant"))
    square_axes(fig, bounds)
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
        points = as_numpy(points)[:1000]
        fig.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name="data",
                                 marker=dict(size=3, color="white", opacity=0.55), hoverinfo="skip"))
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False)
    square_axes(fig, bounds)
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
            pts = as_numpy(pts)[:500]
            fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=label,
                                     marker=dict(size=3, color=colour), hoverinfo="skip"))
    fig.update_layout(title=f"{name} now" + (" (arrows: direction of increasing log p)" if values.ndim == 3 else ""),
                      height=height, margin=MARGIN, legend=dict(orientation="h", y=-0.08))
    square_axes(fig, bounds)
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


def latent_scatter(points, labels=None, hover=None, title: str = "", height: int = 520,
                   selected: Sequence[int] = (), axes: Sequence[str] = ("", "")) -> go.Figure:
    """2-D projections of codes, one colour per label, the axes titled by `axes` ("PC 1", "PC 2"); each point
    carries its item index as customdata (for a chart selection) and shows `hover[i]` (e.g. a text thumbnail)
    when the mouse is over it."""
    points = as_numpy(points)
    n = len(points)
    labels = np.zeros(n, dtype=int) if labels is None else as_numpy(labels)
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
    fig.update_xaxes(showgrid=False, zeroline=False, title_text=axes[0])
    fig.update_yaxes(showgrid=False, zeroline=False, title_text=axes[1])
    return fig
