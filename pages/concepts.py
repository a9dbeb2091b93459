"""Concepts: the notes' first ideas to play with — generative vs. discriminative classifiers, parametric vs.
non-parametric models as the data grow, the curse of dimensionality, and downstream inference: a linear probe on
learned features and the conditional completion of a partly erased image."""
import math
import os

import numpy as np
import pandas as pd
import streamlit as st
import torch

import genlab
from genlab import completion, concepts, figures, queries
from genlab.data import DataSpec
from genlab.data.imagefiles import IMAGE_SUFFIXES, MAX_FILE_BYTES, UploadError, read_images, to_view
from genlab.models import families_that
from genlab.runs import WEIGHTS, default_runs_root
from genlab.snapshots import to_unit_images
from pages._ui.datasets import dataset_title, is_image_set, load_dataset
from pages._ui.links import forget_unless
from pages._ui.runs import load_model, run_label
from pages._ui.sidebar import sidebar

TABS = ("Generative vs. discriminative", "Parametric vs. non-parametric", "Curse of dimensionality",
        "Downstream inference")
CLASS_SETS = {"toy:moons": "Two moons", "blobs": "Gaussian blobs", "digits": "Digits 8×8"}
SIDES = {concepts.DISCRIMINATIVE: ("logistic", "mlp"), concepts.GENERATIVE: ("naive_bayes", "gaussian", "kde")}
IMAGE_GENERATIVE = ("bernoulli",)  # naive Bayes in the pixels' own terms: a Bernoulli (or categorical) per pixel
SIDE_TITLES = {concepts.DISCRIMINATIVE: "Discriminative: p(y | x) directly, a decision boundary",
               concepts.GENERATIVE: "Generative: p(x | y) p(y), turned into p(y | x) by Bayes' rule"}
BOUNDARIES_PER_ROW = 3
SAMPLES_PER_CLASS = 8
NOVEL_ITEMS = 200
FIT_SECONDS = 2.0  # default budget per class (classifiers) or per fit (growth and gap panels)


def image_view(selection) -> str:
    """The sidebar's image view, or binary when the sidebar is on a toy."""
    return selection.view if is_image_set(selection.name) else "binary"


def seconds_input(label: str, key: str, default: float = FIT_SECONDS, help: str | None = None) -> float:
    return float(st.number_input(label, min_value=0.5, max_value=30.0, value=default, step=0.5, key=key, help=help))


def table(rows, percent: tuple[str, ...] = (), digits: int = 3) -> None:
    """Rows as a table, shares shown as percentages."""
    frame = pd.DataFrame(rows)
    config = {c: st.column_config.NumberColumn(format="percent") for c in percent if c in frame}
    config |= {c: st.column_config.NumberColumn(format=f"%.{digits}f") for c in frame.select_dtypes("float")
               if c not in config}
    st.dataframe(frame, hide_index=True, column_config=config)


# ---- 1. generative vs. discriminative ------------------------------------------------
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


@st.cache_data(show_spinner="Computing the learning curve…", max_entries=16)
def learning_curve(name: str, view: str, seed: int, lineup: tuple[str, ...], repeats: int) -> list[dict]:
    ds = class_data(name, view, seed)
    builders = {c: (lambda s, c=c: concepts.make_classifier(c, ds.spec, s)) for c in lineup}
    return concepts.learning_curve(ds, builders, repeats=repeats, seed=seed)


@st.cache_data(show_spinner="Finding the families with a density…", max_entries=8)
def density_families(shape: tuple, view: str, levels: int | None) -> dict[str, str]:
    return concepts.density_families(DataSpec(shape, view, levels))


def family_fit_key(name: str, view: str, seed: int) -> str:
    return f"concepts_family_fit:{name}:{view}:{seed}"


def pick_family(ds, name: str, view: str, seed: int) -> tuple[str, float] | None:
    """A GenLab family fitted per class, behind a button (it trains K models); None until fitted."""
    choices = density_families(ds.shape, ds.view, ds.levels)
    default = concepts.deep_family(ds.spec)
    forget_unless("concepts_family", list(choices))
    left, middle, right = st.columns([3, 1, 2], vertical_alignment="bottom")
    family = left.selectbox("Any GenLab family with a density, fitted per class", list(choices),
                            index=list(choices).index(default) if default in choices else 0,
                            format_func=choices.get, key="concepts_family",
                            help="Families that fit this data and give a normalised log p(x) (exact, a bound or "
                                 "an estimate): Bayes' rule needs densities that compare across classes.")
    trainable = genlab.families()[family].trainable
    with middle:
        seconds = seconds_input("Seconds per class", "concepts_family_seconds") if trainable else None
    k = num_classes(ds)
    cost = f"{k} × {seconds:g} s" if trainable else "closed form"
    key = family_fit_key(name, view, seed)
    if right.button(f"Fit one per class ({cost})", key="concepts_family_button", icon=":material/model_training:"):
        st.session_state[key] = (family, seconds)
    chosen = st.session_state.get(key)
    return tuple(chosen) if chosen and chosen[0] == family and chosen[1] == seconds else None


def boundaries(ds, name, view, seed, lineup: dict[str, float | None]) -> None:
    for side, title in SIDE_TITLES.items():
        members = [c for c in lineup if concepts.classifier_kind(c) == side]
        st.markdown(f"**{title}**")
        for row in range(0, len(members), BOUNDARIES_PER_ROW):
            for column, classifier in zip(st.columns(BOUNDARIES_PER_ROW), members[row:row + BOUNDARIES_PER_ROW]):
                accuracy, _ = test_accuracy(name, view, seed, classifier, lineup[classifier])
                grid = boundary(name, view, seed, classifier, lineup[classifier])
                column.plotly_chart(concepts.boundary_figure(
                    grid, ds.bounds, ds.test, ds.labels_test,
                    title=f"{concepts.classifier_title(classifier)} · {accuracy:.1%}"),
                    key=f"concepts_boundary_{classifier}")


def disagreement(name, view, seed, lineup, a: str, b: str) -> float:
    return float((test_accuracy(name, view, seed, a, lineup[a])[1] != test_accuracy(name, view, seed, b, lineup[b])[1])
                 .mean())


@st.cache_data(show_spinner="Sampling…", max_entries=64)
def class_samples(name, view, seed, classifier, seconds, label: int, n: int) -> np.ndarray:
    model = fitted(name, view, seed, classifier, seconds)
    return model.sample(label, n, torch.Generator().manual_seed(seed)).numpy()


@st.cache_data(show_spinner="Finding the novelty threshold…", max_entries=64)
def threshold(name, view, seed, classifier, seconds, percentile: float) -> float:
    ds = class_data(name, view, seed)
    return concepts.novelty_threshold(fitted(name, view, seed, classifier, seconds), ds.train, percentile)


def generative_vs_discriminative(selection) -> None:
    st.markdown(
        "A **discriminative** model learns p(y | x) — where to draw the line between classes — and nothing else. "
        "A **generative** classifier models how each class produces its inputs, p(x | y), and the class "
        "frequencies p(y), and classifies by Bayes' rule: "
        "$p(y \\mid x) = p(x \\mid y)\\,p(y) / \\sum_{y'} p(x \\mid y')\\,p(y')$.")
    name = st.radio("Labelled data", list(CLASS_SETS), format_func=CLASS_SETS.get, horizontal=True,
                    key="concepts_class_data")
    view, seed = image_view(selection), selection.seed
    ds = class_data(name, view, seed)
    k = num_classes(ds)
    st.caption(f"{ds.description or dataset_title(name)} {len(ds.train):,} training and {len(ds.test):,} test items "
               f"(disjoint), {k} classes" + (f", {view} view." if ds.view != "continuous" else "."))

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
    for column, classifier in zip(st.columns(len(lineup)), lineup):
        accuracy, _ = test_accuracy(name, view, seed, classifier, lineup[classifier])
        column.metric(concepts.classifier_title(classifier), f"{accuracy:.1%}",
                      help=f"Test accuracy on {min(len(ds.test), concepts.EVAL_ITEMS):,} held-out items "
                           f"({concepts.classifier_kind(classifier)}).")
    if ds.view == "continuous":
        boundaries(ds, name, view, seed, lineup)
    st.caption(f"Logistic regression and the per-class KDE disagree on "
               f"{disagreement(name, view, seed, lineup, 'logistic', 'kde'):.1%} of the test items.")

    st.subheader("What only the generative side has: p(x | y)")
    generative = [c for c in lineup if concepts.classifier_kind(c) == concepts.GENERATIVE]
    best = max(generative, key=lambda c: test_accuracy(name, view, seed, c, lineup[c])[0])
    forget_unless("concepts_generative", generative)
    chosen = st.selectbox("Generative classifier", generative, format_func=concepts.classifier_title,
                          index=generative.index(best), key="concepts_generative",
                          help="Starts on the generative classifier with the best test accuracy.")
    seconds = lineup[chosen]
    model = fitted(name, view, seed, chosen, seconds)
    if ds.view == "continuous":
        grids = class_densities(name, view, seed, chosen, seconds)
        top = float(np.nanmax(grids))
        for label, column in enumerate(st.columns(k)):
            column.plotly_chart(figures.density_heatmap(
                grids[label], ds.bounds, points=ds.train[ds.labels_train == label][:300], top=top, height=320,
                title=f"log p(x | y = {label})"), key=f"concepts_class_density_{label}")
    else:
        images = np.concatenate([class_samples(name, view, seed, chosen, seconds, label, SAMPLES_PER_CLASS)
                                 for label in range(k)])
        st.plotly_chart(figures.image_grid(to_unit_images(torch.as_tensor(images), ds.view, ds.levels),
                                           labels=[str(y) for y in range(k) for _ in range(SAMPLES_PER_CLASS)],
                                           columns=SAMPLES_PER_CLASS * 2,
                                           title=f"Samples x ~ p(x | y) from {model.title}"), width="content")

    st.subheader("What only the generative side can do")
    sample_col, novelty_col = st.columns(2)
    with sample_col:
        st.markdown("**Sample a class.** A discriminative model has no p(x | y) to draw from.")
        forget_unless("concepts_sample_class", list(range(k)))
        label = st.selectbox("Class", list(range(k)), key="concepts_sample_class")
        drawn = class_samples(name, view, seed, chosen, seconds, label, 200 if ds.view == "continuous" else 16)
        if ds.view == "continuous":
            st.plotly_chart(figures.scatter_points(drawn, bounds=ds.bounds, background=ds.train[:1000], height=340,
                                                   title=f"200 samples from p(x | y = {label})"),
                            key="concepts_class_samples")
        else:
            st.plotly_chart(figures.image_grid(to_unit_images(torch.as_tensor(drawn), ds.view, ds.levels), columns=8,
                                               title=f"16 samples of class {label}", max_width=420), width="content")
    with novelty_col:
        st.markdown("**Flag an input that fits no class.** If max over y of log p(x | y) is lower than almost all "
                    "training items score, no class explains x — however sure p(y | x) is.")
        percentile = st.slider("Threshold: percentile of the training items' max_y log p(x|y)", 0.5, 10.0, 1.0, 0.5,
                               key="concepts_percentile")
        cut = threshold(name, view, seed, chosen, seconds, percentile)
        st.metric("Novelty threshold (nats)", figures.format_number(cut))
        if ds.view == "continuous":
            point = novelty_point(ds)
            grids = class_densities(name, view, seed, chosen, seconds)
            st.plotly_chart(concepts.novelty_figure(grids, ds.bounds, cut, query=point, height=340,
                                                    title="max_y log p(x | y); dashed: the threshold"),
                            key="concepts_novelty_map")
    if ds.view == "continuous":
        others = {c: fitted(name, view, seed, c, lineup[c]) for c in ("logistic", "mlp", chosen)}
        cuts = {chosen: cut}
        table(concepts.point_table(others, torch.tensor([point], dtype=torch.float32), cuts))
    discriminative = fitted(name, view, seed, "logistic")
    novel = concepts.novelty_table(model, discriminative, concepts.novelty_sets(ds, NOVEL_ITEMS, seed), cut)
    table(novel, percent=tuple(novel[0])[1:])
    if ds.view != "continuous":
        noise = concepts.novelty_sets(ds, 16, seed)["uniform noise"]
        probs = np.exp(discriminative.predict_log_proba(noise))
        st.plotly_chart(figures.image_grid(to_unit_images(noise, ds.view, ds.levels), columns=8, max_width=520,
                                           labels=[f"{p.argmax()} ({p.max():.0%})" for p in probs],
                                           title="Noise, as logistic regression classifies it"), width="content")

    curve_panel(ds, name, view, seed)


def novelty_point(ds) -> list[float]:
    xmin, xmax, ymin, ymax = ds.bounds
    x_col, y_col = st.columns(2)
    x = x_col.number_input("Your input: x", float(xmin), float(xmax), float(xmax) * 0.85, 0.1, key="concepts_point_x")
    y = y_col.number_input("y", float(ymin), float(ymax), float(ymin) * 0.85, 0.1, key="concepts_point_y")
    return [float(x), float(y)]


def curve_panel(ds, name, view, seed) -> None:
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
    lineup = left.multiselect("Classifiers (closed-form density families only: each is refitted at every size)",
                              options, default=default, format_func=concepts.classifier_title,
                              key=f"concepts_curve_lineup:{name}:{view}")
    repeats = int(right.number_input("Repeats", 1, 10, 3, key="concepts_curve_repeats"))
    kinds = {concepts.classifier_kind(c) for c in lineup}
    if kinds != {concepts.GENERATIVE, concepts.DISCRIMINATIVE}:
        st.info("Pick at least one classifier of each kind to compare the two sides.")
        return
    rows = learning_curve(name, view, seed, tuple(lineup), repeats)
    titles = {c: concepts.classifier_title(c) for c in lineup}
    st.plotly_chart(concepts.curve_figure(rows, titles, title="Test accuracy (mean ± sd over repeats); "
                                                              "dashed: discriminative"), key="concepts_curve")
    verdict = concepts.curve_verdict(rows)
    (st.success if verdict["cross"] else st.info)(verdict["sentence"])
    st.caption("The verdict compares the best classifier of each side at the smallest and the largest size; closer "
               f"than {concepts.LEVEL:.0%} counts as level. A per-class full Gaussian can dip when the examples per "
               "class approach the number of pixels: its covariance, estimated from barely enough points, is "
               "nearly singular and fits those points too tightly.")


# ---- 2. parametric vs. non-parametric ---------------------------------------------
@st.cache_data(show_spinner="Fitting at every n…", max_entries=16)
def growth(name: str, view: str, seed: int, largest: int, deep_seconds: float | None) -> list[dict]:
    ds = load_dataset(name, view)
    models = concepts.growth_models(ds.spec, deep=deep_seconds is not None, seconds=deep_seconds or FIT_SECONDS)
    return concepts.growth_curve(ds, models, concepts.growth_sizes(largest), seed=seed)


def parametric_vs_nonparametric(selection) -> None:
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
    largest = st.select_slider("Largest n", options, value=default, format_func=lambda n: f"{n:,}",
                               key=f"concepts_growth_largest:{len(ds.train)}",
                               help="A KDE compares each test point with all n training points, and searches its "
                                    "bandwidth the same way: beyond ~5,000 that takes tens of seconds and GBs.")
    family = concepts.deep_family(ds.spec)
    deep_seconds = None
    if family is not None:
        title = genlab.families()[family].title
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        with left:
            seconds = seconds_input(f"Seconds per {title} fit", "concepts_growth_seconds")
        sizes = concepts.growth_sizes(largest)
        key = f"concepts_growth_deep:{selection.name}:{selection.view}:{selection.seed}:{largest}:{seconds}"
        if right.button(f"Add a deep model: {title} ({len(sizes)} fits × {seconds:g} s)", key="concepts_growth_button",
                        icon=":material/model_training:"):
            st.session_state[key] = True
        deep_seconds = seconds if st.session_state.get(key) else None
    rows = growth(selection.name, selection.view, selection.seed, largest, deep_seconds)
    last = {r["model"]: r for r in rows if r["n"] == largest}
    value = "bits_per_dim" if "bits_per_dim" in rows[0] else "test_nll_nats"
    unit = "bits/dim" if value == "bits_per_dim" else "NLL (nats)"
    st.markdown(f"At n = {largest:,}: held-out {unit} and numbers stored")
    columns = st.columns(2 * len(last))
    for i, (model, row) in enumerate(last.items()):
        short = model.split(" (")[0]  # "MADE (masked autoencoder)" -> "MADE"
        columns[2 * i].metric(f"{short} · {unit}", figures.format_number(row[value]), help=model)
        columns[2 * i + 1].metric(f"{short} · stored", f"{row['num_parameters']:,}", help="Numbers the model keeps.")
    st.plotly_chart(concepts.growth_figure(rows), key="concepts_growth")
    st.info(concepts.growth_verdict(rows, ds.dim))
    st.caption("Fit times are wall-clock on a shared machine and include the held-out bandwidth search (KDE) or the "
               "training budget (deep model). A KDE keeps n × D numbers and a bandwidth — its parameters are the "
               "data.")
    with st.expander("All numbers"):
        table(rows)


# ---- 3. the curse of dimensionality -------------------------------------------------
SHAPES = {"notes": (700, 1400, 3, 256), "mnist": (28, 28, 1, 2)}
SHAPE_KEYS = ("concepts_height", "concepts_width", "concepts_channels", "concepts_levels")


def set_shape(which: str) -> None:
    for key, value in zip(SHAPE_KEYS, SHAPES[which]):
        st.session_state[key] = value


@st.cache_data(show_spinner="Fitting a KDE and a deep model at this resolution…", max_entries=32)
def gap_rows(source: str, size: int, view: str, seconds: float, seed: int) -> list[dict]:
    return concepts.resolution_gap(source, size, view=view, seconds=seconds, seed=seed)


def tex_number(value: float, decimals: int = 0) -> str:
    """A number with thousands separators that LaTeX keeps tight: 2{,}940{,}000."""
    return f"{value:,.{decimals}f}".replace(",", "{,}")


def curse_of_dimensionality(selection) -> None:
    notes = concepts.log10_possible_inputs(**concepts.NOTES_IMAGE)
    dim = math.prod(concepts.NOTES_IMAGE[k] for k in ("height", "width", "channels"))
    st.markdown(
        "An input with D numbers, each taking L values, is one of $L^D$ possible inputs. The notes' example is a "
        f"700×1400 RGB photo with 8-bit channels: D = 700 · 1400 · 3 = {dim:,} numbers, so "
        f"$256^{{{tex_number(dim)}}} = 10^{{{tex_number(dim)} \\cdot \\log_{{10}} 256}} \\approx "
        f"{concepts.format_power_of_ten(notes, latex=True)}$ possible images. The notes print "
        f"$10^{{{tex_number(concepts.NOTES_PRINTED_EXPONENT)}}}$: their exponent is about "
        f"{notes / concepts.NOTES_PRINTED_EXPONENT:.1f} times too small, and the conclusion stands — against that "
        "number, their 15 million training images are nothing.")
    st.metric("Possible 700×1400×3 8-bit images", f"10^{math.floor(notes):,}",
              help=f"256^{dim:,} = {concepts.format_power_of_ten(notes)}: log10 computed as {dim:,} × log10(256).")
    buttons = st.columns(4)
    buttons[0].button("The notes' photo", on_click=set_shape, args=("notes",), key="concepts_shape_notes")
    buttons[1].button("Binary MNIST", on_click=set_shape, args=("mnist",), key="concepts_shape_mnist")
    for key, value in zip(SHAPE_KEYS, SHAPES["mnist"]):
        st.session_state.setdefault(key, value)
    sliders = st.columns(4)
    height = sliders[0].slider("Height (pixels)", 1, 2048, key=SHAPE_KEYS[0])
    width = sliders[1].slider("Width (pixels)", 1, 2048, key=SHAPE_KEYS[1])
    channels = sliders[2].slider("Channels", 1, 4, key=SHAPE_KEYS[2])
    levels = sliders[3].slider("Levels per number", 2, 256, key=SHAPE_KEYS[3])
    log10 = concepts.log10_possible_inputs(height, width, channels, levels)
    dim = height * width * channels
    biggest = max(concepts.DATASET_SIZES.values())
    st.metric("Possible inputs", f"10^{log10:,.1f}",
              help=f"{levels}^{dim:,} ≈ {concepts.format_power_of_ten(log10)}, computed as {dim:,} × "
                   f"log10({levels}).")
    st.markdown(f"${levels}^{{{tex_number(dim)}}} \\approx {concepts.format_power_of_ten(log10, latex=True)}$ possible "
                f"inputs. Even {biggest:,} images would cover at most a fraction "
                f"$10^{{-{tex_number(log10 - math.log10(biggest), 1)}}}$ of them.")
    st.plotly_chart(concepts.possible_inputs_figure(log10), key="concepts_possible")

    st.subheader("The same curse, measured")
    st.markdown("A KDE says an image is likely if it is close to a training image; as D grows, held-out images are "
                "far from all of them. A deep autoregressive model shares what it learns across pixels instead. "
                "Both are fitted to the same digits at several resolutions and scored on held-out images.")
    view = image_view(selection)
    labels = {f"{size}×{size} ({source})": (source, size) for source, size in concepts.RESOLUTIONS}
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Resolutions (16×16 and 28×28 come from MNIST 5k and take longer)", list(labels),
                              default=list(labels)[:2], key="concepts_resolutions")
    with right:
        seconds = seconds_input("Seconds per deep fit", "concepts_gap_seconds")
    if not chosen:
        st.info("Pick at least one resolution.")
        return
    try:
        rows = [row for label in chosen for row in gap_rows(*labels[label], view, seconds, selection.seed)]
    except (ImportError, FileNotFoundError, ValueError) as exc:
        st.error(f"Could not load or fit one of the resolutions: {exc}")
        return
    st.caption(f"{view} view; the KDE's bits/dim are a bound over dequantised pixels, the autoregressive model's "
               "are exact.")
    st.plotly_chart(concepts.gap_figure(rows), key="concepts_gap")
    summary = concepts.gap_summary(rows)
    if summary["sentence"]:
        st.info(summary["sentence"])
    with st.expander("All numbers"):
        table(rows)


# ---- 4a. downstream inference: a linear probe ----------------------------------------
ENCODE_FRESH = "__fresh__"


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
    model = fresh_encoder(name, view, seed, seconds) if source == ENCODE_FRESH else load_model(source, stamp)[0]
    return concepts.probe_comparison(model, ds, seed=seed)


def downstream_inference(selection) -> None:
    st.markdown("**Inference** is drawing conclusions from a learned model: here, what its features are worth to a "
                "classifier, and what it believes about the part of an image it cannot see.")
    linear_probe(selection)
    conditional_completion(selection)


def linear_probe(selection) -> None:
    st.subheader("Linear probe")
    st.markdown(
        "One test of what an unsupervised model learned: fit a linear classifier (logistic regression) on its "
        "features `encode(x)` with few labels, and compare it with the same classifier on raw pixels.")
    if is_image_set(selection.name) and selection.ds is not None and selection.ds.labels_train is not None:
        name, view = selection.name, selection.view
    else:
        name, view = "digits", "binary"
        st.caption("The sidebar is not on a labelled image set, so this panel uses the 8×8 digits, binary view.")
    ds = load_dataset(name, view)
    family = encoder_family(ds.spec)
    runs = [r for r in genlab.list_runs(default_runs_root(), dataset=name, view=view)
            if r["config"]["family"] in families_that("encode")]
    options = {r["folder"]: run_label(r) for r in runs}
    if family is not None:
        options = {ENCODE_FRESH: f"Train a small {genlab.families()[family].title} here"} | options
    if not options:
        st.info("No family that encodes fits this data.")
        return
    forget_unless("concepts_probe_source", list(options))
    source = st.selectbox("Features from", list(options), format_func=options.get, key="concepts_probe_source",
                          index=1 if len(options) > 1 else 0,
                          help="A saved run on this data whose family has encode(x), or a model trained here.")
    seconds = seconds_input("Training seconds", "concepts_probe_seconds", 4.0) if source == ENCODE_FRESH else 0.0
    try:
        stamp = 0.0 if source == ENCODE_FRESH else os.path.getmtime(os.path.join(source, WEIGHTS))
        rows = probe_rows(name, view, selection.seed, source, stamp, seconds)
    except (OSError, ValueError, KeyError) as exc:
        st.error(f"Could not probe the features of {options[source]}: {exc}. Pick another run, or train one here.")
        return
    for features in dict.fromkeys(r["features"] for r in rows):
        chosen = [r for r in rows if r["features"] == features]
        st.markdown(f"**{features}** ({chosen[0]['dim']} numbers per image)")
        for column, row in zip(st.columns(len(chosen)), chosen):
            budget = "all labels" if row["per_class"] is None else f"{row['per_class']} labels per class"
            column.metric(budget, f"{row['accuracy']:.1%}", help="Test accuracy of the linear probe.")
    st.plotly_chart(concepts.probe_figure(rows), key="concepts_probe")
    st.info(concepts.probe_summary(rows))
    st.caption("Features from a few seconds of training are a weak test; train a model for longer on the Train page "
               "and pick its run here.")


# ---- 4b. downstream inference: conditional completion --------------------------------
COMPLETE_FRESH = "__fresh__"
COMPLETIONS = 6  # completions side by side
COMPLETION_INPUTS = {"test": "A test image", "upload": "Upload an image", "draw": "Draw"}
PROPOSAL_CHOICES = (2, 4, 8, 16, 32, 64, 128)
COMPLETION_CANVAS_PIXELS = 196


def completion_family(spec) -> str | None:
    """The family trained on the spot to complete with: the panels' deep model if it completes, else any that does."""
    choices = completion.completing_families(spec)
    family = concepts.deep_family(spec)
    return family if family in choices else next(iter(choices), None)


@st.cache_resource(show_spinner="Training a small model to complete with…", max_entries=8)
def fresh_completer(name: str, view: str, seed: int, seconds: float):
    ds = load_dataset(name, view)
    family = completion_family(ds.spec)
    return concepts.fit_family(family, ds.train, ds.spec, seconds, seed, **concepts.DEEP_HPARAMS.get(family, {}))[0]


def completer(name: str, view: str, seed: int, source: str, stamp: float, seconds: float):
    return fresh_completer(name, view, seed, seconds) if source == COMPLETE_FRESH else load_model(source, stamp)[0]


@st.cache_data(show_spinner="Completing…", max_entries=32)
def completions(name: str, view: str, seed: int, source: str, stamp: float, seconds: float, image: np.ndarray,
                missing: np.ndarray, temperature: float, proposals: int) -> dict:
    model = completer(name, view, seed, source, stamp, seconds)
    result = completion.complete(model, torch.from_numpy(image), torch.from_numpy(missing), COMPLETIONS,
                                 temperature, proposals, seed)
    return {"images": result.images.numpy(), "ess": result.effective_proposals.numpy()}


def completion_input(ds) -> tuple[str, torch.Tensor] | None:
    """The image to erase, in the data view, with a name; None until there is one."""
    source = st.radio("Image", list(COMPLETION_INPUTS), format_func=COMPLETION_INPUTS.get, horizontal=True,
                      key="concepts_completion_input")
    if source == "test":
        index = int(st.columns([1, 3])[0].number_input("Test image #", 0, len(ds.test) - 1, 0,
                                                       key="concepts_completion_index"))
        return f"test image #{index}", ds.test[index]
    if source == "upload":
        upload = st.file_uploader("One image (PNG, JPEG, WebP, BMP, GIF)",
                                  type=[s.removeprefix(".") for s in IMAGE_SUFFIXES],
                                  max_upload_size=MAX_FILE_BYTES // 2**20, key="concepts_completion_upload",
                                  help="Turned grey, fitted into the model's size and quantised like the training "
                                       "data; dark ink on a light background is inverted.")
        if upload is None:
            return None
        try:
            images, _ = read_images(upload.name, upload.getvalue())
            return upload.name, to_view(images[0], ds.shape, ds.view, ds.levels)
        except UploadError as exc:
            st.error(str(exc))
            return None
    from streamlit_drawable_canvas import st_canvas

    stroke = int(np.clip(2.2 * COMPLETION_CANVAS_PIXELS / ds.shape[2], 10, 32))
    result = st_canvas(stroke_width=stroke, stroke_color="#FFFFFF", background_color="#000000",
                       height=COMPLETION_CANVAS_PIXELS, width=COMPLETION_CANVAS_PIXELS, drawing_mode="freedraw",
                       return_image_data=True, key="concepts_completion_canvas")
    if result is None or result.image_data is None:
        return None
    try:
        return "your drawing", to_view(queries.canvas_image(result.image_data), ds.shape, ds.view, ds.levels,
                                       invert="no")
    except UploadError as exc:
        st.caption(str(exc))
        return None


def completion_grid(ds, image: torch.Tensor, missing: torch.Tensor, drawn: dict, title: str):
    unit = to_unit_images(torch.as_tensor(drawn["images"]), ds.view, ds.levels)
    original = to_unit_images(image[None], ds.view, ds.levels)[0]
    tiles = completion.erased_tiles(original, missing.numpy(), unit)
    labels = ["original", "erased"] + [f"#{i + 1}" for i in range(len(unit))]
    return figures.image_grid(tiles, labels=labels, columns=len(tiles), title=title, max_width=720)


def conditional_completion(selection) -> None:
    st.subheader("Conditional completion")
    if is_image_set(selection.name) and selection.ds is not None:
        name, view = selection.name, selection.view
    else:
        name, view = "digits", "binary"
        st.caption("The sidebar is not on an image set, so this panel uses the 8×8 digits, binary view.")
    ds = load_dataset(name, view)
    able = completion.completing_families(ds.spec)
    st.markdown(
        "Erase part of an image and ask the model what belongs there: draws from $p_\\theta(x_{\\text{erased}} "
        "\\mid x_{\\text{kept}})$. An autoregressive model fills the erased pixels one at a time in its ordering, "
        "keeping the others. The families that can: " + (", ".join(able.values()) or "none for this data") + ".")
    if not able:
        st.info("No family that completes fits this data; pick the digits or MNIST in the sidebar.")
        return
    runs = [r for r in genlab.list_runs(default_runs_root(), dataset=name, view=view)
            if r["config"]["family"] in able]
    family = completion_family(ds.spec)
    options = {COMPLETE_FRESH: f"Train a small {able[family]} here"} | {r["folder"]: run_label(r) for r in runs}
    forget_unless("concepts_completion_source", list(options))
    source = st.selectbox("Complete with", list(options), format_func=options.get, key="concepts_completion_source",
                          index=1 if len(options) > 1 else 0,
                          help="A saved run on this data whose family completes, or a model trained here.")
    seconds, stamp = 0.0, 0.0
    if source == COMPLETE_FRESH:
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        with left:
            seconds = seconds_input("Training seconds", "concepts_completion_seconds", 4.0)
        key = f"concepts_completion_fresh:{name}:{view}:{selection.seed}:{seconds}"
        if right.button(f"Train it ({seconds:g} s)", key="concepts_completion_train", icon=":material/model_training:"):
            st.session_state[key] = True
        if not st.session_state.get(key):
            st.info("Train a small model here, or train one on the Train page and pick its run above.")
            return
    else:
        try:
            stamp = os.path.getmtime(os.path.join(source, WEIGHTS))
        except OSError as exc:
            st.error(f"Could not read the run in {source}: {exc}. Pick another run, or train one here.")
            return

    picked = completion_input(ds)
    if picked is None:
        st.info("Pick a test image, upload one or draw one to erase part of it.")
        return
    label, image = picked
    left, middle, right = st.columns(3)
    preset = left.selectbox("Erase", list(completion.MASKS), key="concepts_completion_mask",
                            help="The random box moves with the sidebar's seed.")
    temperature = middle.slider("Temperature", 0.1, 2.0, 1.0, 0.1, key="concepts_completion_temperature",
                                help="Divides every conditional's logits: below 1 sharper, above 1 more varied. "
                                     "Resampling then targets the conditional of that tempered model.")
    missing = completion.erase_mask(preset, ds.shape, selection.seed)
    try:
        exact = completion.observed_first(completer(name, view, selection.seed, source, stamp, seconds), missing)
    except (OSError, KeyError, ValueError) as exc:
        st.error(f"Could not load {options[source]}: {exc}. Pick another run, or train one here.")
        return
    proposals = right.select_slider("Proposals K per completion", PROPOSAL_CHOICES, completion.DEFAULT_PROPOSALS,
                                    key="concepts_completion_proposals", disabled=exact,
                                    help="Importance resampling keeps one of K in-order completions, in proportion to "
                                         "how well it explains the kept pixels that come after erased ones. Not "
                                         "needed when every kept pixel comes first in the model's ordering.")
    try:
        drawn = [completions(name, view, selection.seed, source, stamp, seconds, image.numpy(), missing.numpy(),
                             temperature, k) for k in ((1,) if exact else (1, proposals))]
    except ValueError as exc:
        st.error(f"Could not complete {label}: {exc}")
        return
    st.caption(f"{label}, {preset} erased (red), {COMPLETIONS} completions at temperature {temperature:g}.")
    if exact:
        st.plotly_chart(completion_grid(ds, image, missing, drawn[0], "Exact draws"), width="content")
        st.caption("In this model's ordering every kept pixel comes before every erased one, so drawing pixel by "
                   "pixel already conditions each erased pixel on all the kept ones: these are exact draws from "
                   "p_θ(erased | kept) — the completion PixelRNN made famous (van den Oord et al., 2016).")
        return
    st.plotly_chart(completion_grid(ds, image, missing, drawn[0], "In order only"), width="content")
    st.caption("Each erased pixel i is drawn from p_θ(x_i | x_<i): it sees the kept pixels *before* it in the "
               "model's ordering and none after. The kept pixels further on never condition it, so these "
               "completions may not join up with them.")
    st.plotly_chart(completion_grid(ds, image, missing, drawn[1], f"Resampled from K = {proposals}"),
                    width="content")
    ess = float(np.mean(drawn[1]["ess"]))
    st.caption(f"Importance resampling (Rubin's SIR) conditions on every kept pixel: each completion is one of K "
               f"in-order draws, kept with probability ∝ Π p_θ(x_i | x_<i) over the kept pixels i — the whole "
               f"image's exact p_θ divided by the probability of the in-order draw. As K grows it is a draw from "
               f"p_θ(erased | kept). Effective proposals per completion: {ess:.1f} of {proposals}"
               + (" — one draw carries almost all the weight, so these are the best of K rather than fair draws; "
                  "more proposals help." if ess < 2 else "."))


# ---- the page -----------------------------------------------------------------------
selection = sidebar()
st.title("Concepts · the notes' first ideas, to play with")
PANELS = (generative_vs_discriminative, parametric_vs_nonparametric, curse_of_dimensionality, downstream_inference)
tabs = st.tabs(list(TABS), key="concepts_tab", on_change="rerun", bind="query-params")
for tab, panel in zip(tabs, PANELS):
    with tab:
        if tab.open:
            panel(selection)
