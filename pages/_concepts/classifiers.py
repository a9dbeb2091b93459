"""The classifiers of lesson 1, fitted once and shared by every session: the labelled data, the fits,
and what the panels read from them (accuracy, boundaries, class densities, samples, thresholds)."""
import numpy as np
import streamlit as st
import torch

from genlab import concepts
from genlab.data import DataSpec

IMAGE_GENERATIVE = ("bernoulli",)  # naive Bayes in the pixels' own terms: a Bernoulli (or categorical) per pixel


@st.cache_resource(show_spinner="Loading the labelled data…", max_entries=8)
def class_data(name: str, view: str, seed: int):
    return concepts.labelled_set(name, view, seed)


def num_classes(ds) -> int:
    return int(ds.labels_train.max()) + 1


@st.cache_resource(show_spinner="Fitting the classifier…", max_entries=64)
def fitted(name: str, view: str, seed: int, classifier: str, seconds: float | None = None):
    """A classifier fitted on the whole training split, shared by every session (read-only)."""
    ds = class_data(name, view, seed)
    options = {} if seconds is None else {"seconds": seconds}
    model = concepts.make_classifier(classifier, ds.spec, seed, **options)
    return model.fit(ds.train, ds.labels_train, num_classes(ds))


@st.cache_data(show_spinner="Drawing the decision boundary…", max_entries=64)
def boundary(name: str, view: str, seed: int, classifier: str, seconds: float | None) -> dict:
    ds = class_data(name, view, seed)
    return concepts.decision_grid(fitted(name, view, seed, classifier, seconds), ds.bounds)


@st.cache_data(show_spinner="Drawing p(x | y) for every class…", max_entries=32)
def class_densities(name: str, view: str, seed: int, classifier: str, seconds: float | None) -> np.ndarray:
    ds = class_data(name, view, seed)
    return concepts.class_log_likelihood_grid(fitted(name, view, seed, classifier, seconds), ds.bounds)


@st.cache_data(show_spinner="Scoring the test set…", max_entries=64)
def test_accuracy(name: str, view: str, seed: int, classifier: str, seconds: float | None) -> tuple[float, np.ndarray]:
    ds = class_data(name, view, seed)
    model = fitted(name, view, seed, classifier, seconds)
    x, y = ds.test[:concepts.EVAL_ITEMS], ds.labels_test[:concepts.EVAL_ITEMS]
    return concepts.accuracy(model, x, y), model.predict(x)


@st.cache_data(show_spinner="Finding the families with a density…", max_entries=8)
def density_families(shape: tuple, view: str, levels: int | None) -> dict[str, str]:
    return concepts.density_families(DataSpec(shape, view, levels))


@st.cache_data(show_spinner="Sampling…", max_entries=64)
def class_samples(name, view, seed, classifier, seconds, label: int, n: int) -> np.ndarray:
    model = fitted(name, view, seed, classifier, seconds)
    return model.sample(label, n, torch.Generator().manual_seed(seed)).numpy()


@st.cache_data(show_spinner="Finding the novelty threshold…", max_entries=64)
def threshold(name, view, seed, classifier, seconds, percentile: float) -> float:
    ds = class_data(name, view, seed)
    return concepts.novelty_threshold(fitted(name, view, seed, classifier, seconds), ds.train, percentile)
