"""Plotly figures for the app's pages: pure builders from arrays and records, no Streamlit.

Every builder takes plain numbers (numpy arrays, lists of metric dicts) and returns a
`plotly.graph_objects.Figure`, so a page reads: widgets, one genlab call, one figure.
One module per topic, every builder re-exported here (`figures.image_grid`):

- `base`: the palette, margins, number and metric labels, and the helpers every builder shares.
- `points`: 2-D points and densities. `images`: image grids and pixel maps.
- `charts`: training curves, run comparisons, histograms. `concepts`: the Concepts lessons.
"""
from genlab.figures import charts, concepts, images, points
from genlab.figures.base import COLORS, LOG_P_RANGE, MARGIN, METRIC_LABELS, format_number, metric_label, plain_label  # noqa: F401
from genlab.figures.charts import *  # noqa: F403
from genlab.figures.concepts import *  # noqa: F403
from genlab.figures.images import *  # noqa: F403
from genlab.figures.points import *  # noqa: F403

__all__ = (["metric_label", "format_number", "plain_label"] + points.__all__ + images.__all__ + charts.__all__
           + concepts.__all__)
