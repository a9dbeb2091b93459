"""Lesson 2, parametric vs. non-parametric: a Gaussian, a KDE and (on request) a deep model fitted to
ever more of the sidebar's data, with what each stores and how well it scores on held-out items."""
import streamlit as st

import genlab
from genlab import concepts, figures
from pages._concepts.common import FIT_SECONDS, seconds_input, table
from pages._ui.datasets import dataset_title, load_dataset
from pages._ui.links import forget_unless, linked_flag, persistent


@st.cache_data(show_spinner="Fitting at every n…", max_entries=16)
def growth(name: str, view: str, seed: int, largest: int, deep_seconds: float | None) -> list[dict]:
    ds = load_dataset(name, view)
    models = concepts.growth_models(ds.spec, deep=deep_seconds is not None, seconds=deep_seconds or FIT_SECONDS)
    return concepts.growth_curve(ds, models, concepts.growth_sizes(largest), seed=seed)


KIND_WORDS = {"exact": "exact", "lower_bound": "an upper bound (the log p of dequantised pixels is a lower bound)"}


def show(selection) -> None:
    st.markdown(
        "A **parametric** model has a fixed number of parameters however much data arrives — a Gaussian keeps one "
        "mean and one covariance. A **non-parametric** one grows with the data: a kernel density estimate keeps "
        "every training point. The first is stuck with its shape; the second needs ever more data and memory. "
        f"Here both are fitted to the first n items of **{dataset_title(selection.name)}** (sidebar) and scored "
        "on held-out items.")
    ds = selection.ds
    if ds is None:
        st.info("Pick a data set that loads (sidebar).")
        return
    options = concepts.growth_sizes(len(ds.train))
    default = max(n for n in options if n <= 5000) if options[0] <= 5000 else options[0]
    forget_unless(f"concepts_growth_largest:{len(ds.train)}", options)
    largest = persistent(st.select_slider, "Largest n", f"concepts_growth_largest:{len(ds.train)}", default,
                         options=options, link="growth_n", format_func=lambda n: f"{n:,}",
                         help="A KDE compares each test point with all n training points, and searches its "
                                    "bandwidth the same way: beyond ~5,000 that takes tens of seconds and GBs.")
    rows = growth(selection.name, selection.view, selection.seed, largest, deep_seconds(selection, largest))
    last = {r["model"]: r for r in rows if r["n"] == largest}
    value = "bits_per_dim" if "bits_per_dim" in rows[0] else "test_nll_nats"
    unit = "bits/dim" if value == "bits_per_dim" else "NLL (nats)"
    st.markdown(f"At n = {largest:,}: held-out {unit} and numbers stored")
    columns = st.columns(2 * len(last))
    for i, (model, row) in enumerate(last.items()):
        short = model.split(" (")[0]  # "MADE (masked autoencoder)" -> "MADE"
        bound = row.get("log_prob_kind") == "lower_bound"
        columns[2 * i].metric(f"{short} · {unit}" + (" (upper bound)" if bound else ""),
                              figures.format_number(row[value]), help=model)
        columns[2 * i + 1].metric(f"{short} · stored", f"{row['num_parameters']:,}", help="Numbers the model keeps.")
    st.plotly_chart(figures.growth_figure(rows), key="concepts_growth")
    st.info(concepts.growth_verdict(rows, ds.dim))
    kinds = {model.split(" (")[0]: KIND_WORDS.get(row.get("log_prob_kind"), "exact") for model, row in last.items()}
    if len(set(kinds.values())) > 1:
        st.caption("Bounds beside exact numbers: " + "; ".join(f"{m}: {k}" for m, k in kinds.items())
                   + ". Part of a gap between a bound and an exact number is the bound's own looseness.")
    st.caption("Fit times are wall-clock on a shared machine and include the held-out bandwidth search (KDE) or the "
               "training budget (deep model). A KDE keeps n × D numbers and a bandwidth — its parameters are the "
               "data.")
    with st.expander("All numbers"):
        table(rows)


def deep_seconds(selection, largest: int) -> float | None:
    """The deep model's seconds per fit once its button was pressed for these settings, else None."""
    family = concepts.deep_family(selection.ds.spec)
    if family is None:
        return None
    title = genlab.families()[family].title
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    with left:
        seconds = seconds_input(f"Seconds per {title} fit", "concepts_growth_seconds", "growth_seconds")
    sizes = concepts.growth_sizes(largest)
    key = f"concepts_growth_deep:{selection.name}:{selection.view}:{selection.seed}:{largest}:{seconds}"
    if right.button(f"Add a deep model: {title} ({len(sizes)} fits × {seconds:g} s)", key="concepts_growth_button",
                    icon=":material/model_training:"):
        st.session_state[key] = True
    return seconds if linked_flag("growth_deep", key, True) else None
