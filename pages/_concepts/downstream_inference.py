"""Lesson 4, downstream inference: a linear probe on a model's features, then conditional completion
(`pages/_concepts/completion.py`)."""
import streamlit as st

import genlab
from genlab import concepts, figures
from genlab.models import families_that
from pages._concepts import completion
from pages._concepts.common import FRESH, image_set_or_digits, pick_source, run_stamp, seconds_input
from pages._ui.datasets import load_dataset
from pages._ui.runs import load_model


def show(selection) -> None:
    st.markdown("**Inference** is drawing conclusions from a learned model: here, what its features are worth to a "
                "classifier, and what it believes about the part of an image it cannot see.")
    linear_probe(selection)
    completion.show(selection)


def encoder_family(spec) -> str | None:
    """The family trained on the spot for its features: a VAE, else any encoding family that fits."""
    candidates = [f for f in families_that("encode") if genlab.fits(f, spec) is None]
    return "vae" if "vae" in candidates else (candidates[0] if candidates else None)


@st.cache_resource(show_spinner="Training a small model for its features…", max_entries=8)
def fresh_encoder(name: str, view: str, seed: int, seconds: float):
    ds = load_dataset(name, view)
    family = encoder_family(ds.spec)
    hparams = {"hidden_units": 128, "iw_samples": 8} if family == "vae" else {}
    return concepts.fit_family(family, ds.train, ds.spec, seconds, seed, **hparams)[0]


@st.cache_data(show_spinner="Fitting linear probes…", max_entries=16)
def probe_rows(name: str, view: str, seed: int, source: str, stamp: float, seconds: float) -> list[dict]:
    ds = load_dataset(name, view)
    model = fresh_encoder(name, view, seed, seconds) if source == FRESH else load_model(source, stamp)[0]
    return concepts.probe_comparison(model, ds, seed=seed)


def linear_probe(selection) -> None:
    st.subheader("Linear probe")
    st.markdown(
        "One test of what an unsupervised model learned: fit a linear classifier (logistic regression) on its "
        "features `encode(x)` with few labels, and compare it with the same classifier on raw pixels.")
    name, view = image_set_or_digits(selection, labelled=True)
    family = encoder_family(load_dataset(name, view).spec)
    fresh = None if family is None else f"Train a small {genlab.families()[family].title} here"
    source, options = pick_source(name, view, families_that("encode"), fresh, "Features from",
                                  "concepts_probe_source", "probe_run",
                                  "A saved run on this data whose family has encode(x), or a model trained here.")
    if source is None:
        st.info("No family that encodes fits this data.")
        return
    seconds = seconds_input("Seconds to train the encoder", "concepts_probe_seconds", "probe_seconds", 4.0) \
        if source == FRESH else 0.0
    try:
        rows = probe_rows(name, view, selection.seed, source, run_stamp(source), seconds)
    except (OSError, ValueError, KeyError) as exc:
        st.error(f"Could not probe the features of {options[source]}: {exc}. Pick another run, or train one here.")
        return
    for features in dict.fromkeys(r["features"] for r in rows):
        chosen = [r for r in rows if r["features"] == features]
        st.markdown(f"**{features}** ({chosen[0]['dim']} numbers per image)")
        for column, row in zip(st.columns(len(chosen)), chosen):
            budget = "all labels" if row["per_class"] is None else f"{row['per_class']} labels per class"
            column.metric(budget, f"{row['accuracy']:.1%}", help="Test accuracy of the linear probe.")
    st.plotly_chart(figures.probe_figure(rows), key="concepts_probe")
    st.info(concepts.probe_summary(rows))
    st.caption("Features from a few seconds of training are a weak test; train a model for longer on the Train page "
               "and pick its run here.")
