"""What every figure shares: the palette, margins, how a metric key and a number read, and the two
small helpers every builder uses (arrays from tensors, square 2-D axes)."""
from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
import torch

__all__ = ["COLORS", "LOG_P_RANGE", "MARGIN", "METRIC_LABELS", "metric_label", "format_number", "plain_label",
           "as_numpy", "square_axes"]


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


def plain_label(text: str) -> str:
    """Text someone typed, for a plotly label, shown as written: plotly reads a subset of HTML in every
    label and %{...} placeholders in hover templates, so tags, entities and braces are escaped."""
    return html.escape(str(text), quote=False).replace("{", "&#123;").replace("}", "&#125;")


def square_axes(fig: go.Figure, bounds=None) -> None:
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain",
                     range=None if bounds is None else [bounds[0], bounds[1]])
    fig.update_yaxes(showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1, constrain="domain",
                     range=None if bounds is None else [bounds[2], bounds[3]])


def as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
