"""Figures of the Concepts lessons: decision boundaries, the novelty map, learning and growth
curves, the count of possible inputs, the resolution gap and the linear probe."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genlab.concepts.common import DISCRIMINATIVE
from genlab.concepts.curse_of_dimensionality import DATASET_SIZES, format_power_of_ten
from genlab.concepts.learning_curves import curve_means
from genlab.figures.base import COLORS, MARGIN, as_numpy, square_axes
from genlab.figures.points import density_heatmap
from genlab.snapshots import grid_axes

__all__ = ["boundary_figure", "novelty_figure", "curve_figure", "growth_figure", "possible_inputs_figure",
           "gap_figure", "probe_figure"]


def _class_colorscale(k: int) -> list:
    """A stepped colour scale: value i in [−0.5 + i, 0.5 + i] gets COLORS[i]."""
    scale = []
    for i in range(k):
        colour = COLORS[i % len(COLORS)]
        scale += [[i / k, colour], [(i + 1) / k, colour]]
    return scale


def boundary_figure(grid: dict[str, np.ndarray], bounds, points, labels, title: str = "",
                    height: int = 340, max_points: int = 600) -> go.Figure:
    """Predicted class on a grid (shaded, paler where the classifier is unsure) with labelled points on top."""
    label_grid = grid["label"]
    k = int(max(label_grid.max(), as_numpy(labels).max())) + 1
    xs, ys = grid_axes(bounds, label_grid.shape[0])
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=label_grid, zmin=-0.5, zmax=k - 0.5, colorscale=_class_colorscale(k), showscale=False,
        opacity=0.35, customdata=grid["confidence"],
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>class %{z}, p=%{customdata:.2f}<extra></extra>"))
    fig.add_trace(go.Contour(x=xs, y=ys, z=grid["confidence"], showscale=False, hoverinfo="skip",
                             contours=dict(start=0.5, end=1.0, size=0.1, coloring="none"),
                             line=dict(color="rgba(40,40,40,0.25)", width=1)))
    points, labels = as_numpy(points)[:max_points], as_numpy(labels)[:max_points]
    for c in range(k):
        chosen = points[labels == c]
        fig.add_trace(go.Scatter(x=chosen[:, 0], y=chosen[:, 1], mode="markers", name=f"class {c}",
                                 marker=dict(size=4, color=COLORS[c % len(COLORS)],
                                             line=dict(width=0.5, color="#1F2933"))))
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False)
    square_axes(fig, bounds)
    return fig


def novelty_figure(log_likelihood: np.ndarray, bounds, threshold: float, points=None, query=None,
                   title: str = "", height: int = 380) -> go.Figure:
    """max_y log p(x|y) on a grid (K, n, n) with the novelty threshold drawn as a dashed contour."""
    best = log_likelihood.max(0)
    fig = density_heatmap(best, bounds, points=points, title=title, height=height)
    xs, ys = grid_axes(bounds, best.shape[0])
    fig.add_trace(go.Contour(x=xs, y=ys, z=best, showscale=False, hoverinfo="skip",
                             contours=dict(start=threshold, end=threshold, size=1, coloring="none"),
                             line=dict(color="#E45756", width=2, dash="dash")))
    if query is not None:
        fig.add_trace(go.Scatter(x=[query[0]], y=[query[1]], mode="markers", name="your input",
                                 marker=dict(size=13, symbol="x", color="#E45756", line=dict(width=1, color="white"))))
    return fig


def curve_figure(rows: Sequence[dict], titles: Mapping[str, str] | None = None, title: str = "",
                 y: str = "accuracy", y_title: str = "test accuracy", x_title: str = "labelled examples per class",
                 height: int = 400) -> go.Figure:
    """Mean ± standard deviation over repeats per classifier; discriminative dashed, generative solid."""
    means = curve_means(rows, value=y)
    kinds = {row["classifier"]: row["kind"] for row in rows}
    fig = go.Figure()
    for i, (name, points) in enumerate(means.items()):
        xs = list(points)
        fig.add_trace(go.Scatter(
            x=xs, y=[m for m, _ in points.values()], name=(titles or {}).get(name, name),
            error_y=dict(type="data", array=[s for _, s in points.values()], visible=True, thickness=1),
            mode="lines+markers", line=dict(color=COLORS[i % len(COLORS)], width=2,
                                            dash="dash" if kinds[name] == DISCRIMINATIVE else "solid"),
            hovertemplate="%{x:,.0f} per class: %{y:.3f}<extra>" + (titles or {}).get(name, name) + "</extra>"))
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title=x_title, yaxis_title=y_title,
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    sizes = sorted({row["per_class"] for row in rows})
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{s:,.0f}" for s in sizes])
    return fig


def growth_figure(rows: Sequence[dict], height: int = 380) -> go.Figure:
    """Three panels against n (log axis): held-out NLL (or bits/dim), fit seconds, stored parameters."""
    value = "bits_per_dim" if "bits_per_dim" in rows[0] else "test_nll_nats"
    panels = ((value, "held-out bits/dim" if value == "bits_per_dim" else "held-out NLL (nats)"),
              ("fit_seconds", "fit time (s)"), ("num_parameters", "numbers stored (parameters)"))
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in panels], horizontal_spacing=0.07)
    models = list(dict.fromkeys(r["model"] for r in rows))
    for col, (key, _) in enumerate(panels, start=1):
        for i, model in enumerate(models):
            chosen = [r for r in rows if r["model"] == model]
            fig.add_trace(go.Scatter(x=[r["n"] for r in chosen], y=[r[key] for r in chosen], name=model,
                                     legendgroup=model, showlegend=col == 1, mode="lines+markers",
                                     line=dict(color=COLORS[i % len(COLORS)], width=2)), row=1, col=col)
        fig.update_xaxes(type="log", title_text="training items n", row=1, col=col)
    if all(r[value] > 0 for r in rows):  # a singular fit can be off by orders of magnitude
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=3)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig


def possible_inputs_figure(log10_inputs: float, sizes: Mapping[str, int] = DATASET_SIZES,
                           height: int = 360) -> go.Figure:
    """How many decimal digits it takes to write each count: the data sets vs. the possible inputs.

    The bars are on a log axis: 7 digits (15 million) vs. millions of digits (every possible image).
    """
    names = list(sizes) + ["possible inputs"]
    digits = [math.floor(math.log10(n)) + 1 for n in sizes.values()] + [math.floor(log10_inputs) + 1]
    texts = [f"{n:,} items" for n in sizes.values()] + [f"≈ {format_power_of_ten(log10_inputs)}"]
    fig = go.Figure(go.Bar(x=names, y=digits, text=texts, textposition="outside",
                           marker_color=[COLORS[0]] * len(sizes) + [COLORS[3]],
                           hovertemplate="%{x}: a %{y:,}-digit number<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Decimal digits needed to write each count (log axis)", yaxis_title="digits")
    fig.update_yaxes(type="log", range=[0, math.log10(max(digits)) + 0.6])
    return fig


def gap_figure(rows: Sequence[dict], height: int = 380) -> go.Figure:
    """Held-out bits/dim per model against the resolution (D pixels): the gap between them."""
    fig = go.Figure()
    models = list(dict.fromkeys(r["model"] for r in rows))
    for i, model in enumerate(models):
        chosen = sorted((r for r in rows if r["model"] == model), key=lambda r: r["dim"])
        fig.add_trace(go.Bar(x=[f"{r['size']}×{r['size']} {r['source']}<br>D = {r['dim']}" for r in chosen],
                             y=[r["bits_per_dim"] for r in chosen], name=model, marker_color=COLORS[i % len(COLORS)],
                             text=[f"{r['bits_per_dim']:.3f}" for r in chosen], textposition="outside"))
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Held-out bits per dim (lower is better)", yaxis_title="bits/dim",
                      legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig


def probe_figure(rows: Sequence[dict], height: int = 360) -> go.Figure:
    """Probe accuracy per label budget, one bar per feature set."""
    fig = go.Figure()
    for i, features in enumerate(dict.fromkeys(r["features"] for r in rows)):
        chosen = [r for r in rows if r["features"] == features]
        fig.add_trace(go.Bar(x=["all" if r["per_class"] is None else f"{r['per_class']} per class" for r in chosen],
                             y=[r["accuracy"] for r in chosen], name=features, marker_color=COLORS[i % len(COLORS)],
                             text=[f"{r['accuracy']:.1%}" for r in chosen], textposition="outside"))
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Linear-probe test accuracy", yaxis_title="accuracy", yaxis_range=[0, 1.1],
                      xaxis_title="labels used", legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig
