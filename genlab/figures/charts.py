"""Charts of runs and scores: training curves, bars that compare runs, and histograms of log p."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genlab.figures.base import COLORS, MARGIN, format_number, metric_label, plain_label
from genlab.queries import histogram

__all__ = ["training_curves", "training_marks", "objective_name", "compare_bars", "histograms"]


def _series(metrics: Sequence[dict], x: str, key: str) -> tuple[list, list]:
    xs, ys = [], []
    for record in metrics:
        value = record.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and record.get(x) is not None:
            xs.append(record[x])
            ys.append(value)
    return xs, ys


ZOOM_MIN_POINTS = 3  # a curve's points before `training_curves` zooms past its first (two left to span)


def training_curves(metrics: Sequence[dict], keys: Sequence[str | Sequence[str]], titles: Sequence[str],
                    x: str = "seconds", height: int = 340, events: bool = False,
                    units: Sequence[str] | None = None, zoom: bool = False,
                    labels: Mapping[str, str] | None = None) -> go.Figure:
    """One panel per entry of `keys` (a metric key or a list of keys), titled by `titles`.

    Each curve is named by `metric_label`, or by `labels[key]` where given (a number with its
    method beside it: "validation KL (nats), by a Gaussian mixture fitted to samples").

    A panel with no finite value yet says so instead of drawing empty axes. With `events`,
    each record carrying an "event" (a mid-run change, dotted) or a "control" (pause, resume,
    single steps, speed; dashed, lighter) draws a vertical line at its x in every panel,
    numbered in the first as `training_marks` numbers them, its text shown on hover. `units` titles
    each panel's y axis; each panel with several curves has its own legend beneath it. With
    `zoom`, each y axis spans the values after every curve's first point, so the late
    progress is not flattened by a high start (the first point then sits off the chart), once a
    curve of the panel has `ZOOM_MIN_POINTS` points (before that there is no late progress to show).
    """
    panels = [[k] if isinstance(k, str) else list(k) for k in keys]
    spacing = 0.08
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(titles), horizontal_spacing=spacing)
    colors = iter(COLORS * (1 + sum(map(len, panels)) // len(COLORS)))  # one colour per curve, all panels
    width = (1 - spacing * (len(panels) - 1)) / len(panels)
    for col, panel in enumerate(panels, start=1):
        legend = "legend" if col == 1 else f"legend{col}"
        later: list[float] = []  # the values after each curve's first point
        longest = 0
        for key in panel:
            xs, ys = _series(metrics, x, key)
            if not xs:
                continue
            later += ys[1:]
            longest = max(longest, len(xs))
            name = (labels or {}).get(key) or metric_label(key)
            fig.add_trace(go.Scatter(x=xs, y=ys, name=name, legendgroup=key, legend=legend,
                                     mode="lines+markers" if len(xs) < 20 else "lines",
                                     line=dict(color=next(colors), width=2),
                                     showlegend=len(panel) > 1),
                          row=1, col=col)
        if not any(trace.legend == legend for trace in fig.data):
            fig.add_annotation(text="no values yet", showarrow=False, font=dict(color="gray"),
                               xref=f"x{col if col > 1 else ''} domain", yref=f"y{col if col > 1 else ''} domain",
                               x=0.5, y=0.5)
        fig.update_layout({legend: dict(orientation="h", yanchor="top", y=-0.22, x=(col - 1) * (width + spacing),
                                        xanchor="left")})
        fig.update_xaxes(title_text="seconds of training" if x == "seconds" else x, rangemode="nonnegative",
                         row=1, col=col)
        if units:
            fig.update_yaxes(title_text=units[col - 1], row=1, col=col)
        if zoom and longest >= ZOOM_MIN_POINTS:
            low, high = min(later), max(later)
            pad = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
            fig.update_yaxes(range=[low - pad, high + pad], row=1, col=col)
    fig.update_annotations(font_size=13)
    if events:
        _mark_events(fig, metrics, x, len(panels))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=70))
    return fig


def objective_name(objective: str, per: str = "example") -> str:
    """A chart title from a family's objective sentence: its name up to the first top-level
    " = ", ", ", ": ", "; " or parenthesised aside, with nats written as a unit per `per`.

    Example:
        >>> objective_name("−ELBO (nats) = KL(p_data‖p_θ) + H(p_data) + E KL(q‖p(z|x)) ≥ NLL", "image")
        '−ELBO, nats per image'
    """
    depth, end = 0, len(objective)
    for i, char in enumerate(objective):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and objective.startswith((" = ", ", ", ": ", "; "), i):
            end = i
            break
        if depth == 0 and char == " " and objective.startswith(" (", i) and not objective.startswith(" (nats)", i):
            end = i
            break
    name = objective[:end].strip()
    if " (nats)" in name:
        name = name.replace(" (nats)", "") + f", nats per {per}"
    return name


MARK_ROWS = 3  # marks' numbers take turns over this many heights, so close ones do not overlap
MARK_LINES = {"event": dict(color="gray", dash="dot", width=1),  # a change of settings, a reset
              "control": dict(color="#B0B8C1", dash="dash", width=1)}  # pause, resume, single steps, speed


def training_marks(metrics: Sequence[dict], x: str = "seconds") -> list[tuple[int, float, str, str]]:
    """The chart's marks, numbered from 1: (number, x, what happened, kind), for a list beside the chart.

    A record's "event" (a change of settings, a reset) and its "control" (pause, resume, single
    steps, speed) make one mark; its kind is "event" when it holds a change, else "control".
    """
    marks = []
    for record in metrics:
        text = "; ".join(record[kind] for kind in MARK_LINES if record.get(kind))
        if text and x in record:
            marks.append((len(marks) + 1, record[x], text, "event" if record.get("event") else "control"))
    return marks


def _mark_events(fig: go.Figure, metrics: Sequence[dict], x: str, columns: int) -> None:
    """A vertical line per mark (see `training_marks`) in each of `columns` panels; on the first, its
    number, staggered over MARK_ROWS heights so close marks stay apart, with the whole text on hover."""
    for number, at, text, kind in training_marks(metrics, x):
        for col in range(1, columns + 1):
            fig.add_vline(x=at, line=MARK_LINES[kind], row=1, col=col)
        fig.add_annotation(x=at, xref="x", y=1 - 0.07 * ((number - 1) % MARK_ROWS), yref="y domain",
                           text=str(number), hovertext=text, showarrow=False, xanchor="left", yanchor="top",
                           font=dict(size=10, color="#52606D"), bgcolor="rgba(255,255,255,0.8)")


def compare_bars(names: Sequence[str], values: Sequence, title: str = "", value_label: str = "",
                 groups: Sequence[str] | None = None, notes: Sequence[Sequence[str]] | None = None,
                 height: int = 380) -> go.Figure:
    """One bar per run (missing values left out), coloured by group, value printed on each bar; `notes`: lines
    of text for each bar's hover. Names, groups and notes come from saved (or uploaded) runs: all are shown as
    written (`plain_label`), never read as markup."""
    names, groups = [plain_label(n) for n in names], [plain_label(g) for g in groups or [""] * len(names)]
    notes = ["<br>".join(plain_label(line) for line in lines) for lines in notes or [()] * len(names)]
    rows = [(n, v, g, t) for n, v, g, t in zip(names, values, groups, notes)
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
