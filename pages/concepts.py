"""Concepts: the notes' first ideas to play with — generative vs. discriminative classifiers, parametric vs.
non-parametric models as the data grow, the curse of dimensionality, and downstream inference: a linear probe on
learned features and the conditional completion of a partly erased image.

One tab per lesson; each lesson is a module of `pages/_concepts/`, over its module of `genlab/concepts/`."""
import streamlit as st

from pages._concepts import (
    curse_of_dimensionality,
    downstream_inference,
    generative_vs_discriminative,
    parametric_vs_nonparametric,
)
from pages._ui.links import linked_tabs
from pages._ui.sidebar import sidebar

TABS = ("Generative vs. discriminative", "Parametric vs. non-parametric", "Curse of dimensionality",
        "Downstream inference")  # a literal: the home page's test reads it from this source
LESSONS = (generative_vs_discriminative, parametric_vs_nonparametric, curse_of_dimensionality, downstream_inference)

selection = sidebar()
st.title("Concepts · the notes' first ideas, to play with")
tabs = linked_tabs(TABS, key="concepts_tab")
for tab, lesson in zip(tabs, LESSONS):
    with tab:
        if tab.open:
            lesson.show(selection)
