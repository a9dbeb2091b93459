"""Data: browse D, see how large the space it lives in is, and fit the two classic baselines."""
import math

import streamlit as st

import genlab
from genlab import figures
from genlab.data.images import SOURCES, class_names
from genlab.snapshots import live_snapshot, to_unit_images
from pages._shared import PAGES, dataset_title, load_dataset, sidebar

# family -> (kind, hyper-parameters); the KDE keeps 2,000 kernels so the page answers in seconds.
BASELINES = {"gaussian": ("parametric", {}), "kde": ("non-parametric", {"max_points": 2000, "num_bandwidths": 16})}
BASELINE_SECONDS = 10.0  # both are closed-form fits; this only caps them
EXAMPLES = 32
HALF_WIDTH = 440  # pixels a figure may take in one of two columns of the wide layout


@st.cache_resource(show_spinner="Fitting a Gaussian and a kernel density estimate…")
def fit_baselines(name: str, view: str) -> dict:
    """Each baseline's test numbers and what it looks like, fitted once per data set."""
    ds = load_dataset(name, view)
    fits = {}
    for family, (_, hparams) in BASELINES.items():
        model = genlab.create_model(family, ds, **hparams)
        summary = genlab.train_and_save(model, ds, seconds=BASELINE_SECONDS, seed=0)
        fits[family] = {"title": model.title, "summary": summary, "live": live_snapshot(model, ds, seed=0),
                        "about": type(model).summary, "hparams": hparams}
    return fits


def label_names(name: str, labels) -> list[str]:
    names = class_names(name) if name in SOURCES else None
    return [names[int(y)] if names else str(int(y)) for y in labels]


selection = sidebar()
st.title("Data · D ~ p_data")
ds = selection.ds
if ds is None:
    st.info("Pick a data set that loads (sidebar) to browse it.")
    st.stop()
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
    labels = label_names(selection.name, ds.labels_train[:EXAMPLES]) if ds.labels_train is not None else None
    st.plotly_chart(figures.image_grid(examples, labels=labels, columns=16, title=f"{EXAMPLES} training examples"),
                    width="content")
else:
    scatter, truth = st.columns(2)
    scatter.plotly_chart(figures.scatter_points(ds.train, ds.labels_train, ds.bounds, title="Training points"))
    true_grid = figures.log_prob_on_grid(ds.log_prob_true, ds.bounds)
    peak = float(true_grid.max())  # one colour scale for the truth and both fits
    truth.plotly_chart(figures.density_heatmap(true_grid, ds.bounds, title="The true density: log p_data(x)"))

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
fits = fit_baselines(selection.name, selection.view)
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
            st.plotly_chart(figures.image_grid(live["images"], columns=8, title="Samples x ~ p_θ", max_width=HALF_WIDTH),
                            width="content")
if not is_image and "data_entropy_nats" in fits["gaussian"]["summary"]:
    entropy = fits["gaussian"]["summary"]["data_entropy_nats"]
    st.caption(f"NLL = KL(p_data‖p_θ) + H(p_data), and here H(p_data) ≈ {figures.format_number(entropy)} nats, "
               "so a perfect model would score that NLL.")
st.page_link(PAGES["train"], label="Now train a model that beats both", icon=":material/model_training:")
