"""Data: browse D, see how large the space it lives in is, and fit the two classic baselines."""
import math

import numpy as np
import pandas as pd
import streamlit as st

import genlab
from genlab import figures
from genlab.data import drawn
from genlab.snapshots import live_snapshot, to_unit_images
from pages._ui.datasets import DRAWN_KEY, dataset_title, dataset_variant, drawn_blobs, load_dataset
from pages._ui.links import blobs_from_text, blobs_text, link_on_first_sight, persistent, share
from pages._ui.preamble import open_page
from pages._ui.routing import PAGES
from pages._ui.text import plain

# family -> (kind, hyper-parameters); the KDE keeps 2,000 kernels so the page answers in seconds.
BASELINES = {"gaussian": ("parametric", {}), "kde": ("non-parametric", {"max_points": 2000, "num_bandwidths": 16})}
BASELINE_SECONDS = 10.0  # both are closed-form fits; this only caps them
EXAMPLES = 32
HALF_WIDTH = 440  # pixels a figure may take in one of two columns of the wide layout
BLOB_COLUMNS = ("x", "y", "weight", "std")
DRAFT_LINK = "draft"  # the blob table while it differs from the density in use
CLICK_GRID = np.stack(np.meshgrid(np.linspace(-4, 4, 33), np.linspace(-4, 4, 33)), -1).reshape(-1, 2)  # (1089, 2)


@st.cache_resource(show_spinner="Fitting a Gaussian and a kernel density estimate…", max_entries=16)
def fit_baselines(name: str, view: str, variant: tuple) -> dict:
    """Each baseline's test numbers and what it looks like, fitted once per data set (and size or drawing)."""
    ds = load_dataset(name, view)
    fits = {}
    for family, (_, hparams) in BASELINES.items():
        model = genlab.create_model(family, ds, **hparams)
        summary = genlab.train_and_save(model, ds, seconds=BASELINE_SECONDS, seed=0)
        fits[family] = {"title": model.title, "summary": summary, "live": live_snapshot(model, ds, seed=0),
                        "about": type(model).summary, "hparams": hparams}
    return fits


def blob_rows(table: pd.DataFrame) -> list[tuple]:
    """The editor's rows as (x, y, weight, std), leaving out rows not yet filled in."""
    return [tuple(float(v) for v in row) for row in table[list(BLOB_COLUMNS)].dropna().itertuples(index=False)]


def _start_drawing(rows) -> None:
    st.session_state["drawn_table"] = [tuple(r) for r in rows]
    st.session_state["drawn_version"] = st.session_state.get("drawn_version", 0) + 1


def _add_clicked_blob(chart_key: str) -> None:
    """A click on the canvas adds a blob there (with the chosen std) to the rows edited so far."""
    points = st.session_state[chart_key]["selection"]["points"]
    if points:
        std = float(st.session_state.get("drawn_new_std", 0.3))
        _start_drawing(st.session_state.get("drawn_edited", []) + [(points[0]["x"], points[0]["y"], 1.0, std)])


def linked_draft() -> None:
    """A link's blob table (a drawing not yet in use) starts the table, read once per session."""
    raw = link_on_first_sight(DRAFT_LINK)
    if not raw:
        return
    try:
        _start_drawing(blobs_from_text(raw))
    except ValueError as exc:
        st.warning(f"The link's blob table cannot be shown ({plain(exc)}); showing the table drawn here instead.")


def share_draft(rows: list[tuple]) -> None:
    """The link carries the table while it differs from the density in use (else that density says it all)."""
    if rows and rows != list(drawn_blobs()):
        share(DRAFT_LINK, blobs_text(rows))
    else:
        st.query_params.pop(DRAFT_LINK, None)


def draw_density(name: str) -> None:
    """Blobs in a table and on a clickable canvas; "Use this density" makes them the data set."""
    st.markdown(f"Each row is a round Gaussian blob on the canvas [{drawn.CANVAS[0]:g}, {drawn.CANVAS[1]:g}]²; "
                "the weights are scaled to sum to one, and that mixture is log p_data exactly, so every model "
                "trained on it reports a true KL. Click the canvas to add a blob, edit or delete rows in the table.")
    linked_draft()
    st.session_state.setdefault("drawn_table", list(drawn_blobs()))
    version = st.session_state.get("drawn_version", 0)
    table, canvas = st.columns(2)
    with table:
        edited = st.data_editor(
            pd.DataFrame(st.session_state["drawn_table"], columns=BLOB_COLUMNS), num_rows="dynamic",
            key=f"drawn_editor:{version}", hide_index=True, width="stretch",
            column_config={
                "x": st.column_config.NumberColumn("x", min_value=drawn.CANVAS[0], max_value=drawn.CANVAS[1]),
                "y": st.column_config.NumberColumn("y", min_value=drawn.CANVAS[2], max_value=drawn.CANVAS[3]),
                "weight": st.column_config.NumberColumn("weight", min_value=0.0, help="Relative mass of the blob."),
                "std": st.column_config.NumberColumn("std", min_value=drawn.MIN_STD, help="Width of the blob."),
            })
        rows = blob_rows(edited)
        st.session_state["drawn_edited"] = rows
        share_draft(rows)
        persistent(st.slider, "std of a clicked blob", "drawn_new_std", 0.3, link="blob_std", min_value=drawn.MIN_STD,
                   max_value=1.5, step=0.01)
        ring, use = st.columns(2)
        ring.button("Start from a ring", on_click=_start_drawing, args=(drawn.ring(),), width="stretch",
                    help="Sixteen equal blobs on a circle of radius 2.5.")
        chosen = use.button("Use this density", type="primary", width="stretch",
                            help=f"Makes it the data set of every page ({dataset_title(drawn.NAME)} in the sidebar).")
    labels = ["click to add a blob"] * len(CLICK_GRID) + ["your blobs"] * len(rows)
    centres = np.array([row[:2] for row in rows]).reshape(-1, 2)
    chart_key = f"drawn_canvas:{version}"
    canvas.plotly_chart(figures.scatter_points(np.concatenate([CLICK_GRID, centres]), labels, drawn.CANVAS,
                                               title="Click to add a blob", max_points=len(labels)),
                        key=chart_key, on_select=lambda: _add_clicked_blob(chart_key), selection_mode="points")
    if chosen:
        try:
            drawn.check_blobs(rows)
        except ValueError as exc:
            st.error(plain(exc))
            return
        st.session_state[DRAWN_KEY] = rows
        st.session_state["dataset"] = drawn.NAME
        st.rerun()
    if name == drawn.NAME and rows != list(drawn_blobs()):
        st.caption("The table differs from the density in use: press **Use this density** to train on it.")


selection, _ = open_page("Data · D ~ p_data", "browse it")
ds = selection.ds
st.caption(ds.description or dataset_title(selection.name))

is_image = ds.bounds is None
facts = st.columns(4)
facts[0].metric("Training items", f"{len(ds.train):,}")
facts[1].metric("Test items", f"{len(ds.test):,}")
facts[2].metric("Shape of one item", " × ".join(map(str, ds.shape)))
facts[3].metric("View", ds.view if ds.levels is None else f"{ds.view} ({ds.levels})",
                help=None if ds.levels is None else f"Each pixel takes one of {ds.levels} values.")

if is_image:
    examples = to_unit_images(ds.train[:EXAMPLES], ds.view, ds.levels)
    labels = ds.label_names(ds.labels_train[:EXAMPLES]) if ds.labels_train is not None else None
    st.plotly_chart(figures.image_grid(examples, labels=labels, columns=16, title=f"{EXAMPLES} training examples"),
                    width="content")
else:
    scatter, truth = st.columns(2)
    scatter.plotly_chart(figures.scatter_points(ds.train, ds.labels_train, ds.bounds, title="Training points"))
    true_grid = figures.log_prob_on_grid(ds.log_prob_true, ds.bounds)
    peak = float(true_grid.max())  # one colour scale for the truth and both fits
    truth.plotly_chart(figures.density_heatmap(true_grid, ds.bounds, title="The true density: log p_data(x)"))
    if selection.name == drawn.NAME and st.session_state.get("drawing_for") != drawn.NAME:
        st.session_state["drawing"] = True  # choosing the drawn density opens its drawing at once
    st.session_state["drawing_for"] = selection.name
    if persistent(st.toggle, "Draw your own 2-D density", "drawing", False, link="drawing",
                  help="Place Gaussian blobs by clicking or in a table, then train any family on that density."):
        draw_density(selection.name)
    else:
        st.query_params.pop(DRAFT_LINK, None)

st.subheader("The curse of dimensionality")
if is_image:
    digits = ds.dim * math.log10(ds.levels)  # log10 of levels^D, computed without overflow
    share = math.log10(len(ds.train)) - digits
    st.markdown(
        f"One item has D = {ds.dim} pixels with {ds.levels} values each, so there are "
        f"${ds.levels}^{{{ds.dim}}} \\approx 10^{{{digits:,.0f}}}$ possible inputs. "
        f"We have {len(ds.train):,} training items: about $10^{{{share:,.0f}}}$ of the space. "
        "A table with one probability per possible image could never be filled in; the model family "
        "has to generalise from these few examples to the rest.")
else:
    cells = 2 * math.log10(100)
    st.markdown(
        f"These points are continuous: infinitely many inputs are possible. But D = {ds.dim}, so a histogram "
        f"with 100 bins per axis has only $100^{{{ds.dim}}} = 10^{{{cells:.0f}}}$ cells for "
        f"{len(ds.train):,} training points, and counting works. The same histogram over a 28×28 image would "
        f"need $10^{{{784 * 2}}}$ cells — the space grows exponentially with D, the data do not.")

st.subheader("Two baselines: parametric vs. non-parametric")
fits = fit_baselines(selection.name, selection.view, dataset_variant(selection.name))
for column, (family, (kind, _)) in zip(st.columns(2), BASELINES.items()):
    fit, summary = fits[family], fits[family]["summary"]
    with column:
        st.markdown(f"**{fit['title']}** — {kind}")
        settings = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in fit["hparams"].items())
        st.caption(fit["about"] + (f" Here: {settings}." if settings else ""))
        numbers = st.columns(2)
        numbers[0].metric("Test NLL (nats)", figures.format_number(summary["test_nll_nats"]),
                          help="Average −log p_θ(x) over the test split; lower is better.")
        if "kl_nats" in summary:
            numbers[1].metric("KL(p_data‖p_θ) (nats)", figures.format_number(summary["kl_nats"]),
                              help="Held-out KL with the exact p_data; 0 would be a perfect model.")
        elif "bits_per_dim" in summary:
            numbers[1].metric("Bits per dim", figures.format_number(summary["bits_per_dim"]),
                              help="NLL / (D ln 2): the cost of coding one pixel.")
        if summary.get("log_prob_kind") == "lower_bound":
            st.caption("Dequantized density: log p is a lower bound, so the NLL is an upper bound.")
        live = fit["live"]
        if "log_prob_grid" in live:
            st.plotly_chart(figures.density_heatmap(live["log_prob_grid"], live["bounds"], points=ds.test[:500],
                                                    title="log p_θ(x), test points in white", top=peak))
        elif "images" in live:
            st.plotly_chart(figures.image_grid(live["images"], columns=8, title="Samples x ~ p_θ",
                                               max_width=HALF_WIDTH), width="content")
if not is_image and "data_entropy_nats" in fits["gaussian"]["summary"]:
    entropy = fits["gaussian"]["summary"]["data_entropy_nats"]
    st.caption(f"NLL = KL(p_data‖p_θ) + H(p_data), and here H(p_data) ≈ {figures.format_number(entropy)} nats, "
               "so a perfect model would score that NLL.")
st.page_link(PAGES["train"], label="Now train a model that beats both", icon=":material/model_training:")
