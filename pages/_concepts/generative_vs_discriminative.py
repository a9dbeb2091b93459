"""Lesson 1, generative vs. discriminative: the two kinds of classifier side by side, what only the
generative side has (p(x | y)) and can do (sample a class, flag an input that fits no class), and the
learning curve."""
import numpy as np
import streamlit as st
import torch

import genlab
from genlab import concepts, figures
from genlab.snapshots import to_unit_images
from pages._concepts import learning_curves
from pages._concepts.classifiers import (
    IMAGE_GENERATIVE,
    boundary,
    class_data,
    class_densities,
    class_samples,
    density_families,
    fitted,
    num_classes,
    test_accuracy,
    threshold,
)
from pages._concepts.common import image_view, seconds_input, table
from pages._ui.datasets import dataset_title
from pages._ui.links import clamp, forget_unless, linked_flag, persistent

CLASS_SETS = {"toy:moons": "Two moons", "blobs": "Gaussian blobs", "digits": "Digits 8×8"}
SIDES = {concepts.DISCRIMINATIVE: ("logistic", "mlp"), concepts.GENERATIVE: ("naive_bayes", "gaussian", "kde")}
SIDE_TITLES = {concepts.DISCRIMINATIVE: "Discriminative: p(y | x) directly, a decision boundary",
               concepts.GENERATIVE: "Generative: p(x | y) p(y), turned into p(y | x) by Bayes' rule"}
BOUNDARIES_PER_ROW = 3
SAMPLES_PER_CLASS = 8
NOVEL_ITEMS = 200


def show(selection) -> None:
    st.markdown(
        "A **discriminative** model learns p(y | x) — where to draw the line between classes — and nothing else. "
        "A **generative** classifier models how each class produces its inputs, p(x | y), and the class "
        "frequencies p(y), and classifies by Bayes' rule: "
        "$p(y \\mid x) = p(x \\mid y)\\,p(y) / \\sum_{y'} p(x \\mid y')\\,p(y')$.")
    name = persistent(st.radio, "Labelled data", "concepts_class_data", next(iter(CLASS_SETS)),
                      options=list(CLASS_SETS), link="class_data", format_func=CLASS_SETS.get, horizontal=True)
    view, seed = image_view(selection), selection.seed
    ds = class_data(name, view, seed)
    st.caption(f"{ds.description or dataset_title(name)} {len(ds.train):,} training and {len(ds.test):,} test items "
               f"(disjoint), {num_classes(ds)} classes" + (f", {view} view." if ds.view != "continuous" else "."))
    lineup = classifier_lineup(ds, name, view, seed)
    for column, classifier in zip(st.columns(len(lineup)), lineup):
        accuracy, _ = test_accuracy(name, view, seed, classifier, lineup[classifier])
        column.metric(concepts.classifier_title(classifier), f"{accuracy:.1%}",
                      help=f"Test accuracy on {min(len(ds.test), concepts.EVAL_ITEMS):,} held-out items "
                           f"({concepts.classifier_kind(classifier)}).")
    if ds.view == "continuous":
        boundaries(ds, name, view, seed, lineup)
    st.caption(f"Logistic regression and the per-class KDE disagree on "
               f"{disagreement(name, view, seed, lineup, 'logistic', 'kde'):.1%} of the test items.")
    chosen = class_densities_panel(ds, name, view, seed, lineup)
    generative_only(ds, name, view, seed, lineup, chosen)
    learning_curves.show(ds, name, view, seed)


def classifier_lineup(ds, name, view, seed) -> dict[str, float | None]:
    """Classifier -> its training seconds (None: closed form), the per-class family picked here included."""
    lineup: dict[str, float | None] = {c: None for side in SIDES.values() for c in side}
    if ds.view != "continuous":
        lineup |= {c: None for c in IMAGE_GENERATIVE if c in density_families(ds.shape, ds.view, ds.levels)}
    extra = pick_family(ds, name, view, seed)
    if extra is not None:
        try:
            fitted(name, view, seed, *extra)
            lineup[extra[0]] = extra[1]
        except ValueError as exc:
            st.error(f"Could not fit {concepts.classifier_title(extra[0])}: {exc}")
    return lineup


def family_fit_key(name: str, view: str, seed: int) -> str:
    return f"concepts_family_fit:{name}:{view}:{seed}"


def pick_family(ds, name: str, view: str, seed: int) -> tuple[str, float] | None:
    """A GenLab family fitted per class, behind a button (it trains K models); None until fitted."""
    choices = density_families(ds.shape, ds.view, ds.levels)
    default = concepts.deep_family(ds.spec)
    forget_unless("concepts_family", list(choices))
    left, middle, right = st.columns([3, 1, 2], vertical_alignment="bottom")
    family = persistent(left.selectbox, "Any GenLab family with a density, fitted per class", "concepts_family",
                        default if default in choices else next(iter(choices)), options=list(choices),
                        link="class_family", format_func=choices.get,
                        help="Families that fit this data and give a normalised log p(x) (exact, a bound or "
                                 "an estimate): Bayes' rule needs densities that compare across classes.")
    trainable = genlab.families()[family].trainable
    with middle:
        seconds = seconds_input("Seconds per class", "concepts_family_seconds", "class_seconds") if trainable else None
    cost = f"{num_classes(ds)} × {seconds:g} s" if trainable else "closed form"
    key = family_fit_key(name, view, seed)
    if right.button(f"Fit one per class ({cost})", key="concepts_family_button", icon=":material/model_training:"):
        st.session_state[key] = (family, seconds)
    return (family, seconds) if linked_flag("class_fitted", key, (family, seconds)) else None


def boundaries(ds, name, view, seed, lineup: dict[str, float | None]) -> None:
    for side, title in SIDE_TITLES.items():
        members = [c for c in lineup if concepts.classifier_kind(c) == side]
        st.markdown(f"**{title}**")
        for row in range(0, len(members), BOUNDARIES_PER_ROW):
            for column, classifier in zip(st.columns(BOUNDARIES_PER_ROW), members[row:row + BOUNDARIES_PER_ROW]):
                accuracy, _ = test_accuracy(name, view, seed, classifier, lineup[classifier])
                grid = boundary(name, view, seed, classifier, lineup[classifier])
                column.plotly_chart(figures.boundary_figure(
                    grid, ds.bounds, ds.test, ds.labels_test,
                    title=f"{concepts.classifier_title(classifier)} · {accuracy:.1%}"),
                    key=f"concepts_boundary_{classifier}")


def disagreement(name, view, seed, lineup, a: str, b: str) -> float:
    return float((test_accuracy(name, view, seed, a, lineup[a])[1] != test_accuracy(name, view, seed, b, lineup[b])[1])
                 .mean())


def class_densities_panel(ds, name, view, seed, lineup) -> str:
    """p(x | y) of the generative classifier picked here, per class; returns its name."""
    st.subheader("What only the generative side has: p(x | y)")
    generative = [c for c in lineup if concepts.classifier_kind(c) == concepts.GENERATIVE]
    best = max(generative, key=lambda c: test_accuracy(name, view, seed, c, lineup[c])[0])
    forget_unless("concepts_generative", generative)
    chosen = persistent(st.selectbox, "Generative classifier", "concepts_generative", best, options=generative,
                        link="generative", format_func=concepts.classifier_title,
                        help="Starts on the generative classifier with the best test accuracy.")
    seconds, k = lineup[chosen], num_classes(ds)
    if ds.view == "continuous":
        grids = class_densities(name, view, seed, chosen, seconds)
        top = float(np.nanmax(grids))
        for label, column in enumerate(st.columns(k)):
            column.plotly_chart(figures.density_heatmap(
                grids[label], ds.bounds, points=ds.train[ds.labels_train == label][:300], top=top, height=320,
                title=f"log p(x | y = {label})"), key=f"concepts_class_density_{label}")
    else:
        model = fitted(name, view, seed, chosen, seconds)
        images = np.concatenate([class_samples(name, view, seed, chosen, seconds, label, SAMPLES_PER_CLASS)
                                 for label in range(k)])
        st.plotly_chart(figures.image_grid(to_unit_images(torch.as_tensor(images), ds.view, ds.levels),
                                           labels=[str(y) for y in range(k) for _ in range(SAMPLES_PER_CLASS)],
                                           columns=SAMPLES_PER_CLASS * 2,
                                           title=f"Samples x ~ p(x | y) from {model.title}"), width="content")
    return chosen


def generative_only(ds, name, view, seed, lineup, chosen: str) -> None:
    """Sample a class, flag inputs that fit no class, and show how each side judges them."""
    st.subheader("What only the generative side can do")
    sample_col, novelty_col = st.columns(2)
    with sample_col:
        sample_a_class(ds, name, view, seed, chosen, lineup[chosen])
    with novelty_col:
        cut, point = flag_novelty(ds, name, view, seed, chosen, lineup[chosen])
    if ds.view == "continuous":
        others = {c: fitted(name, view, seed, c, lineup[c]) for c in ("logistic", "mlp", chosen)}
        table(concepts.point_table(others, torch.tensor([point], dtype=torch.float32), {chosen: cut}))
    model = fitted(name, view, seed, chosen, lineup[chosen])
    discriminative = fitted(name, view, seed, "logistic")
    novel = concepts.novelty_table(model, discriminative, concepts.novelty_sets(ds, NOVEL_ITEMS, seed), cut)
    table(novel, percent=tuple(novel[0])[1:])
    if ds.view != "continuous":
        noise = concepts.novelty_sets(ds, 16, seed)["uniform noise"]
        probs = np.exp(discriminative.predict_log_proba(noise))
        st.plotly_chart(figures.image_grid(to_unit_images(noise, ds.view, ds.levels), columns=8, max_width=520,
                                           labels=[f"{p.argmax()} ({p.max():.0%})" for p in probs],
                                           title="Noise, as logistic regression classifies it"), width="content")


def sample_a_class(ds, name, view, seed, chosen: str, seconds: float | None) -> None:
    st.markdown("**Sample a class.** A discriminative model has no p(x | y) to draw from.")
    forget_unless("concepts_sample_class", list(range(num_classes(ds))))
    label = persistent(st.selectbox, "Class", "concepts_sample_class", 0, options=list(range(num_classes(ds))),
                       link="sample_class")
    drawn = class_samples(name, view, seed, chosen, seconds, label, 200 if ds.view == "continuous" else 16)
    if ds.view == "continuous":
        st.plotly_chart(figures.scatter_points(drawn, bounds=ds.bounds, background=ds.train[:1000], height=340,
                                               title=f"200 samples from p(x | y = {label})"),
                        key="concepts_class_samples")
    else:
        st.plotly_chart(figures.image_grid(to_unit_images(torch.as_tensor(drawn), ds.view, ds.levels), columns=8,
                                           title=f"16 samples of class {label}", max_width=420), width="content")


def flag_novelty(ds, name, view, seed, chosen: str, seconds: float | None) -> tuple[float, list[float] | None]:
    """The novelty threshold picked here and, on points, an input to judge: (threshold, point or None)."""
    st.markdown("**Flag an input that fits no class.** If max over y of log p(x | y) is lower than almost all "
                "training items score, no class explains x — however sure p(y | x) is.")
    percentile = persistent(st.slider, "Threshold: percentile of the training items' max_y log p(x|y)",
                            "concepts_percentile", 1.0, link="percentile", min_value=0.5, max_value=10.0, step=0.5)
    cut = threshold(name, view, seed, chosen, seconds, percentile)
    st.metric("Novelty threshold (nats)", figures.format_number(cut))
    if ds.view != "continuous":
        return cut, None
    point = novelty_point(ds)
    grids = class_densities(name, view, seed, chosen, seconds)
    st.plotly_chart(figures.novelty_figure(grids, ds.bounds, cut, query=point, height=340,
                                           title="max_y log p(x | y); dashed: the threshold"),
                    key="concepts_novelty_map")
    return cut, point


def novelty_point(ds) -> list[float]:
    xmin, xmax, ymin, ymax = ds.bounds
    x_col, y_col = st.columns(2)
    clamp("concepts_point_x", float(xmax) * 0.85, float(xmax), low=float(xmin))
    clamp("concepts_point_y", float(ymin) * 0.85, float(ymax), low=float(ymin))
    x = persistent(x_col.number_input, "Your input: x", "concepts_point_x", float(xmax) * 0.85, link="point_x",
                   min_value=float(xmin), max_value=float(xmax), step=0.1)
    y = persistent(y_col.number_input, "y", "concepts_point_y", float(ymin) * 0.85, link="point_y",
                   min_value=float(ymin), max_value=float(ymax), step=0.1)
    return [float(x), float(y)]
