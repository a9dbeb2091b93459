"""Lesson 1's learning curve: accuracy against the number of labels, generative against discriminative."""
import streamlit as st

import genlab
from genlab import concepts, figures
from pages._concepts.classifiers import IMAGE_GENERATIVE, class_data, density_families
from pages._ui.links import persistent


@st.cache_data(show_spinner="Computing the learning curve…", max_entries=16)
def learning_curve(name: str, view: str, seed: int, lineup: tuple[str, ...], repeats: int) -> list[dict]:
    ds = class_data(name, view, seed)
    builders = {c: (lambda s, c=c: concepts.make_classifier(c, ds.spec, s)) for c in lineup}
    return concepts.learning_curve(ds, builders, repeats=repeats, seed=seed)


def show(ds, name, view, seed) -> None:
    st.subheader("Learning curve: accuracy against the number of labels")
    st.markdown("The textbook story (Ng & Jordan, 2001): a generative classifier reaches its best accuracy with "
                "fewer labelled examples, a discriminative one ends higher when labels are plentiful. Each point "
                "is a fresh class-balanced draw from the training split, scored on the disjoint test split.")
    options = [c for c in concepts.CLASSIFIERS] + [
        f for f, cls in genlab.families().items()
        if not cls.trainable and f in density_families(ds.shape, ds.view, ds.levels)]
    default = [c for c in concepts.CURVE_CLASSIFIERS if c in options]
    if ds.view != "continuous":
        default += [c for c in IMAGE_GENERATIVE if c in options]
    left, right = st.columns([4, 1])
    lineup = persistent(left.multiselect, "Classifiers (closed-form density families only: each is refitted at every "
                        "size)", f"concepts_curve_lineup:{name}:{view}", default, options=options, link="curve_lineup",
                        format_func=concepts.classifier_title)
    repeats = int(persistent(right.number_input, "Repeats", "concepts_curve_repeats", 3, link="curve_repeats",
                             min_value=1, max_value=10))
    kinds = {concepts.classifier_kind(c) for c in lineup}
    if kinds != {concepts.GENERATIVE, concepts.DISCRIMINATIVE}:
        st.info("Pick at least one classifier of each kind to compare the two sides.")
        return
    rows = learning_curve(name, view, seed, tuple(lineup), repeats)
    titles = {c: concepts.classifier_title(c) for c in lineup}
    st.plotly_chart(figures.curve_figure(rows, titles, title="Test accuracy (mean ± sd over repeats); "
                                                             "dashed: discriminative"), key="concepts_curve")
    verdict = concepts.curve_verdict(rows)
    (st.success if verdict["cross"] else st.info)(verdict["sentence"])
    st.caption("The verdict compares the best classifier of each side at the smallest and the largest size; closer "
               f"than {concepts.LEVEL:.0%} counts as level. A per-class full Gaussian can dip when the examples per "
               "class approach the number of pixels: its covariance, estimated from barely enough points, is "
               "nearly singular and fits those points too tightly.")
