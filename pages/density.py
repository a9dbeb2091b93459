"""Density: how likely is x under p_θ? Upload, draw or perturb an input and see log p_θ(x) among the test set."""
import numpy as np
import streamlit as st
import torch

import genlab
from genlab import figures, queries
from genlab.data import drawn
from genlab.data.imagefiles import MAX_FILE_BYTES, UploadError, read_images, to_view
from genlab.data.packed import pack_pixels
from genlab.snapshots import density_grid, to_unit_images
from pages._ui.canvas import drawing_canvas
from pages._ui.capabilities import short_title
from pages._ui.datasets import dataset_title, is_image_set, load_dataset
from pages._ui.links import clamp, forget_unless, linked_pixels, not_in_link, persistent, share
from pages._ui.next_steps import ASKED_KEY, next_links
from pages._ui.preamble import open_page
from pages._ui.routing import PAGES
from pages._ui.runs import load_model
from pages._ui.text import plain

REFERENCE_ITEMS = 1000  # test items behind the histogram and the percentiles
OOD_ITEMS = 300  # items per out-of-distribution comparison set
MARKS = 8  # inputs marked one by one on the histogram
CANVAS_PIXELS = 280
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "zip"]
SOURCES = {"upload": "Upload images", "draw": "Draw", "test": "A test image, perturbed"}
NO_OTHER = "none"  # the comparison-set choice of no other data set
DRAWING_LINK = "drawing"  # the query parameter a drawing travels in, packed (genlab.data.packed)
LINKED_DRAWING_KEY = "density_linked_drawing"  # the drawing a link brought, until one is drawn or cleared
CANVAS_ROUND_KEY = "density_canvas_round"  # a new canvas each time the drawing is cleared
INVERT = {"auto": "auto (invert dark-on-light)", "yes": "always invert", "no": "never invert"}


@st.cache_data(show_spinner="Scoring the test set…", max_entries=32)
def reference_log_probs(folder: str, stamp: float, name: str, view: str) -> np.ndarray:
    """log p_θ of the first REFERENCE_ITEMS test items: the crowd an input is ranked in."""
    model, _ = load_model(folder, stamp)
    return queries.log_likelihoods(model, load_dataset(name, view).test[:REFERENCE_ITEMS])


def held_out_crowd(run, ds) -> np.ndarray:
    """The reference log p's, or a plain stop when the model gives none of them a number (NaN everywhere: its
    weights are broken, as a crafted checkpoint's can be)."""
    reference = reference_log_probs(run.folder, run.stamp, ds.name, ds.view)
    if np.isnan(reference).all():
        st.error("This run's model gives no held-out point a number (its log p is NaN everywhere), so there is "
                 "nothing to score an input against: its weights are broken. Pick another run.")
        st.stop()
    return reference


@st.cache_data(show_spinner="Scoring the comparison sets…", max_entries=16)
def ood_log_probs(folder: str, stamp: float, name: str, view: str, other: str | None, seed: int) -> dict:
    model, _ = load_model(folder, stamp)
    ds = load_dataset(name, view)
    other_ds = load_dataset(other, "gray8") if other else None
    sets = queries.ood_sets(ds, OOD_ITEMS, seed=seed, other=other_ds)
    scores = {label: queries.log_likelihoods(model, x) for label, x in sets.items()}
    blank = float(queries.log_likelihoods(model, queries.blank_image(ds.spec))[0])
    return {"sets": scores, "blank": blank}


@st.cache_data(show_spinner="Drawing p_θ on a grid…", max_entries=16)
def log_prob_grid(folder: str, stamp: float, bounds: tuple) -> np.ndarray:
    model, _ = load_model(folder, stamp)
    return density_grid(model, bounds)


# ---- inputs ---------------------------------------------------------------------------
def uploaded_inputs(ds) -> list[tuple[str, torch.Tensor, str]]:
    files = st.file_uploader("Images (PNG, JPEG, WebP, BMP, GIF) or a zip of them", type=UPLOAD_TYPES,
                             accept_multiple_files=True, key="density_uploads",
                             max_upload_size=MAX_FILE_BYTES // 2**20,
                             help="A photo of a handwritten digit works: it is turned grey, fitted into the "
                                  "model's size and quantised like the training data.")
    invert = persistent(st.radio, "Colours", "density_invert", "auto", options=list(INVERT), format_func=INVERT.get,
                        horizontal=True, link="invert",
                        help="The training digits are light on dark; ink on paper is inverted.")
    inputs = []
    for upload in files or []:
        try:
            images, notes = read_images(upload.name, upload.getvalue())
        except UploadError as exc:
            st.error(plain(exc))
            continue
        for note in notes:
            st.warning(note)
        for image in images:
            height, width = image.pixels.shape
            note = queries.resize_note(image.name, (height, width), ds.shape)
            if note:
                st.caption(note)
            try:
                inputs.append((image.name, to_view(image, ds.shape, ds.view, ds.levels, invert=invert),
                               f"{width}×{height}"))
            except UploadError as exc:
                st.error(plain(exc))
    if not files:
        st.caption("Upload one image or many; each is scored on its own.")
    return inputs


def clear_canvas() -> None:
    st.session_state[CANVAS_ROUND_KEY] = st.session_state.get(CANVAS_ROUND_KEY, 0) + 1
    st.session_state.pop(LINKED_DRAWING_KEY, None)


def drawn_inputs(ds) -> list[tuple[str, torch.Tensor, str]]:
    linked = linked_pixels(DRAWING_LINK, LINKED_DRAWING_KEY, ds)
    stroke = int(np.clip(2.2 * CANVAS_PIXELS / ds.shape[2], 12, 40))
    st.space("medium")  # room for the canvas's toolbar, which floats above it, below the input's pills
    canvas, about = st.columns([0.35, 0.65])
    with canvas:
        result = drawing_canvas(CANVAS_PIXELS, stroke, f"density_canvas:{st.session_state.get(CANVAS_ROUND_KEY, 0)}",
                                linked, ds.levels)
        st.button("Clear the drawing", icon=":material/ink_eraser:", on_click=clear_canvas)
    about.caption("Draw a digit large and centred, light on dark like the training data; it is scored when you "
                  "lift the pen. **Clear the drawing** starts again; the canvas's own undo and redo arrows "
                  "show when the pointer is over it.")
    x = None
    pixels = result.image_data if result is not None else None
    try:
        if pixels is not None:
            x = to_view(queries.canvas_image(pixels), ds.shape, ds.view, ds.levels, invert="no")
    except UploadError as exc:
        if linked is None:
            st.info(plain(exc))
    if x is None and linked is not None:
        x = linked
        about.info("The canvas shows the drawing the link carries; draw on it, or **Clear the drawing** to start "
                   "your own.")
    if x is None:
        st.query_params.pop(DRAWING_LINK, None)
        return []
    share(DRAWING_LINK, pack_pixels(x, ds.levels))
    return [("drawing", x, f"{CANVAS_PIXELS}×{CANVAS_PIXELS}")]


def perturbed_inputs(ds, seed: int) -> list[tuple[str, torch.Tensor, str]]:
    pick, how, much = st.columns(3)
    clamp("density_test_index", 0, len(ds.test) - 1, low=0)
    index = persistent(pick.number_input, "Test image #", "density_test_index", 0, min_value=0,
                       max_value=len(ds.test) - 1, step=1, link="test_image")
    kind = persistent(how.selectbox, "Perturbation", "density_perturbation", "none",
                      options=list(queries.PERTURBATIONS), link="perturbation")
    _, meaning, low, high, default = queries.PERTURBATIONS[kind]
    amount = 0.0
    if kind == "shift":  # at most the image's width either way
        low, high, default = 1.0 - ds.shape[2], ds.shape[2] - 1.0, min(default, ds.shape[2] - 1.0)
    if meaning:
        amount = persistent(much.slider, meaning.capitalize(), f"density_amount_{kind}", float(default),
                            min_value=float(low), max_value=float(high), step=1.0 if kind != "noise" else 0.05,
                            link="amount")
    try:
        x = queries.perturb(ds.test[index], kind, amount, ds.spec, seed=seed)
    except ValueError as exc:
        st.error(plain(exc))
        return []
    label = "" if ds.labels_test is None else f" (label {ds.label_names(ds.labels_test[index:index + 1])[0]})"
    detail = "" if kind == "none" else f", {kind}" + (f" {amount:g}" if meaning else "")
    return [(f"test #{index}{label}{detail}", x, "test item")]


# ---- results --------------------------------------------------------------------------
def kind_banner(model) -> None:
    short, sentence = queries.describe_kind(model)
    st.markdown(f"**log p here is: {short}.** {sentence}")


def image_results(run, ds, inputs) -> None:
    """Every input's log p, bits per dim and percentile; a closer look at one, with its cost per pixel."""
    model = run.model
    names = [name for name, _, _ in inputs]
    x = torch.stack([tensor for _, tensor, _ in inputs])
    log_p = queries.log_likelihoods(model, x)
    reference = held_out_crowd(run, ds)
    ranks = queries.percentile(log_p, reference)
    comparable = queries.has_comparable_log_prob(model)
    bpd = queries.bits_per_dim(log_p, ds.dim) if comparable else None
    what = "log p_θ(x), nats" if comparable else "log p̃_θ(x), up to a constant"
    chosen = 0 if len(inputs) == 1 else choose_closer(inputs, what, log_p, bpd, ranks)
    seen, numbers = st.columns([1, 2])
    with seen:
        st.plotly_chart(figures.one_image(to_unit_images(x[chosen:chosen + 1], ds.view, ds.levels)[0],
                                          title="What the model sees"), width="content")
        st.caption(f"{plain(names[chosen])} — {inputs[chosen][2]} → {ds.shape[1]}×{ds.shape[2]}, {ds.view} view")
    with numbers:
        input_numbers(names, chosen, what, log_p, bpd, ranks, reference)
    if model.can("pixels"):
        pixel_costs(model, x[chosen:chosen + 1])


def choose_closer(inputs, what: str, log_p, bpd, ranks) -> int:
    """A table of every input's numbers, and which one to look at closer (its index)."""
    rows = []
    for i, (name, _, size) in enumerate(inputs):
        row = {"input": name, "size": size, what: float(log_p[i])}
        if bpd is not None:
            row["bits/dim"] = float(bpd[i])
        rows.append(row | {"percentile": float(ranks[i])})
    st.dataframe(rows, hide_index=True, width="stretch")
    forget_unless("density_closer", range(len(inputs)))
    return persistent(st.selectbox, "Look closer at", "density_closer", 0, options=range(len(inputs)),
                      format_func=lambda i: inputs[i][0], link="closer")


def input_numbers(names: list[str], chosen: int, what: str, log_p, bpd, ranks, reference) -> None:
    """The chosen input's log p, bits per dim and percentile, and where it falls among held-out test images."""
    value = float(log_p[chosen])
    shown = figures.format_number(value) if np.isfinite(value) else "−∞"
    metrics = st.columns(3)
    metrics[0].metric(what, shown)
    if bpd is not None:
        metrics[1].metric("Bits per dim", figures.format_number(float(bpd[chosen])),
                          help="−log p / (D ln 2): what coding this input with the model would cost per pixel.")
    metrics[2].metric("Percentile among test images", f"{ranks[chosen]:.0f}%",
                      help=f"Share of {len(reference):,} held-out test images the model finds less likely.")
    st.caption(f"{ranks[chosen]:.0f}% of held-out test images are less likely under the model than this input. "
               + ("" if np.isfinite(value) else "p_θ(x) is 0 to working precision: the model rules it out."))
    marks = [(name if len(names) > 1 else "this input", float(v)) for name, v in zip(names[:MARKS], log_p[:MARKS])]
    sets = {"test images": reference} | ({"your inputs": log_p} if len(names) > MARKS else {})
    st.plotly_chart(figures.histograms(sets, marks, title="Where it falls among held-out test images", x_label=what))


def pixel_costs(model, x) -> None:
    """For a family that factorises over pixels: each pixel's share of −log p of the one image `x`."""
    with torch.no_grad():
        pixels = -model.pixel_log_prob(x.to(model.device))[0, 0].cpu().double().numpy()
    left, right = st.columns([1, 2])
    left.plotly_chart(figures.pixel_map(pixels, title="−log p per pixel (nats)"))
    right.markdown("**Where the cost comes from.** This family factorises over pixels, "
                   "log p(x) = Σᵢ log p(xᵢ | …), so each pixel's share of −log p can be drawn. "
                   f"Bright pixels surprised the model. They add up to "
                   f"{figures.format_number(float(pixels.sum()))} nats.")


def ood_panel(run, ds, selection) -> None:
    st.subheader("Out of distribution")
    others = [name for name in genlab.dataset_names() if is_image_set(name) and name != ds.name]
    forget_unless("density_other", [NO_OTHER, *others])
    choice = persistent(st.selectbox, "Another data set, resized into this view", "density_other",
                        others[0] if others else NO_OTHER, options=[NO_OTHER, *others], link="other",
                        format_func=lambda n: n if n == NO_OTHER else dataset_title(n))
    other = None if choice == NO_OTHER else choice
    try:
        scores = ood_log_probs(run.folder, run.stamp, ds.name, ds.view, other, selection.seed)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        st.warning(f"{dataset_title(other)} is not available here ({plain(exc)}); comparing with noise only.")
        scores = ood_log_probs(run.folder, run.stamp, ds.name, ds.view, None, selection.seed)
    comparable = queries.has_comparable_log_prob(run.model)
    held_out = next(iter(scores["sets"].values()))
    st.plotly_chart(figures.histograms(scores["sets"], [("an all-black image", scores["blank"])],
                                       title="log p_θ of held-out images, noise and other data",
                                       x_label="log p, nats" if comparable else "log p̃, up to a constant",
                                       x_range=queries.focus_range(held_out, [*scores["sets"].values(),
                                                                              [scores["blank"]]])))
    rows = [{"set": label, "median log p": float(np.median(v)),
             "share above the median test image": float(np.mean(v > np.median(held_out)))}
            for label, v in scores["sets"].items()]
    rows.append({"set": "an all-black image", "median log p": scores["blank"],
                 "share above the median test image": float(scores["blank"] > np.median(held_out))})
    st.dataframe(rows, hide_index=True, column_config={
        "median log p": st.column_config.NumberColumn(format="%.2f"),
        "share above the median test image": st.column_config.NumberColumn(format="percent")})
    st.markdown("**The lesson.** A high likelihood does not mean *looks like the training data*. Uniform noise is "
                "usually far below, but simple inputs — a blank image, digits from another source, a data set with "
                "less detail — can score *higher* than real test images (Nalisnick et al., 2019, “Do deep "
                "generative models know what they don't know?”). Likelihood is dominated by how easy an input "
                "is to compress, so it is a poor detector of out-of-distribution data on its own.")


def take_click() -> None:
    """A click on the map becomes the point typed below it."""
    points = st.session_state["density_click"]["selection"]["points"]
    if points:
        st.session_state["density_x"], st.session_state["density_y"] = points[0]["x"], points[0]["y"]


def typed_point() -> tuple[tuple[float, float], torch.Tensor] | None:
    """The point to score, as typed (x, y) and as the model's input; None (with a sentence) when it is not one."""
    st.markdown("Click on the map, or type a point.")
    first, second = st.columns(2)
    px = persistent(first.number_input, "x", "density_x", 0.0, min_value=-1e4, max_value=1e4, step=0.1, format="%.3f",
                    link="x")
    py = persistent(second.number_input, "y", "density_y", 0.0, min_value=-1e4, max_value=1e4, step=0.1, format="%.3f",
                    link="y")
    try:
        return (px, py), queries.check_point((px, py))
    except ValueError as exc:
        st.error(plain(exc))
        return None


def toy_panel(run, ds) -> None:
    """Score a clicked or typed point: the learned density around it (beside a drawn truth) and its numbers."""
    typed = typed_point()
    if typed is None:
        return
    (px, py), point = typed
    log_p = float(queries.log_likelihoods(run.model, point)[0])
    reference = held_out_crowd(run, ds)
    xmin, xmax, ymin, ymax = ds.bounds
    grid = log_prob_grid(run.folder, run.stamp, tuple(ds.bounds))
    shown_point = (px, py) if xmin <= px <= xmax and ymin <= py <= ymax else None
    beside_truth = ds.name == drawn.NAME  # the density drawn by hand, next to what the model learned of it
    picture, *truth, numbers = st.columns([3, 3, 2] if beside_truth else [3, 2])
    if truth:
        truth[0].plotly_chart(figures.density_heatmap(figures.log_prob_on_grid(ds.log_prob_true, ds.bounds),
                                                      ds.bounds, title="The density you drew: log p_data(x)"))
    with picture:
        st.plotly_chart(figures.clickable_density(grid, ds.bounds, point=shown_point, points=ds.test[:500],
                                                  title="log p_θ(x), test points in white — click to score a point"),
                        key="density_click", on_select=take_click, selection_mode="points")
        if shown_point is None:
            st.caption("The point lies outside the plotted box, so it is not marked.")
    with numbers:
        point_numbers(run.model, ds, point, log_p, reference)


def point_numbers(model, ds, point, log_p: float, reference) -> None:
    """The point's log p (beside the truth on a toy, with what the gap means) and its percentile."""
    comparable = queries.has_comparable_log_prob(model)
    what = "log p_θ(x), nats" if comparable else "log p̃_θ(x), up to a constant"
    st.metric(what, figures.format_number(log_p) if np.isfinite(log_p) else "−∞")
    if ds.is_toy:
        truth = float(ds.log_prob_true(point)[0])
        st.metric("log p_data(x), the truth", figures.format_number(truth) if np.isfinite(truth) else "−∞",
                  help="This toy's exact density: a perfect model would show the same number.")
        if comparable and np.isfinite(truth) and np.isfinite(log_p):
            gap = log_p - truth
            st.caption(f"log p_θ − log p_data = {gap:+.2f} nats: the model puts "
                       f"{'more' if gap > 0 else 'less'} probability here than the data do"
                       + (" — mass spilt where there is no data." if gap > 1 else
                          " — a region the model under-covers." if gap < -1 else "; close to the truth."))
    st.metric("Percentile among test points", f"{float(queries.percentile([log_p], reference)[0]):.0f}%")
    st.plotly_chart(figures.histograms({"test points": reference}, [("your point", log_p)],
                                       title="Among held-out points", x_label=what, height=300))


selection, run = open_page("Density · log p_θ(x)", "score inputs under a model of it", "how likely an input is",
                           needs="density")
ds = selection.ds
kind_banner(run.model)
if not run.model.can("density") or run.model.log_prob_kind is None:
    st.page_link(PAGES["samples"], label="See its samples instead", icon=":material/auto_awesome:")
    st.stop()

if ds.view == "continuous":
    toy_panel(run, ds)
    next_links(run.folder, short_title(type(run.model)), here="density")
    st.stop()

asked_to_draw = st.session_state.get(ASKED_KEY) == "density"  # came from "Score my handwriting"
source = persistent(st.segmented_control, "Input", "density_source", "draw" if asked_to_draw else "upload",
                    options=list(SOURCES),
                    format_func=SOURCES.get, link="input")
source = source or "upload"
if source != "draw":
    st.query_params.pop(DRAWING_LINK, None)
if source == "upload":
    not_in_link("the uploaded images (upload them again after opening the link)")
readers = {"upload": uploaded_inputs, "draw": drawn_inputs, "test": lambda d: perturbed_inputs(d, selection.seed)}
inputs = readers[source](ds)
if inputs:
    image_results(run, ds, inputs)
else:
    st.info("Give the model an input above: upload an image, draw one, or pick a test image to perturb.")
ood_panel(run, ds, selection)

st.divider()
next_links(run.folder, short_title(type(run.model)), here="density")
