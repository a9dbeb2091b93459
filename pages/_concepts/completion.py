"""Lesson 4b, conditional completion: erase part of an image and draw what a model believes belongs
there, in order only or resampled so that every kept pixel conditions the draw."""
import numpy as np
import streamlit as st
import torch

from genlab import completion, concepts, figures, queries
from genlab.data.imagefiles import IMAGE_SUFFIXES, MAX_FILE_BYTES, UploadError, read_images, to_view
from genlab.data.packed import pack_pixels
from genlab.snapshots import to_unit_images
from pages._concepts.common import FRESH, image_set_or_digits, pick_source, run_stamp, seconds_input
from pages._ui.canvas import drawing_canvas
from pages._ui.datasets import load_dataset
from pages._ui.links import clamp, linked_flag, linked_pixels, not_in_link, persistent, share
from pages._ui.runs import load_model

COMPLETIONS = 6  # completions side by side
COMPLETION_INPUTS = {"test": "A test image", "upload": "Upload an image", "draw": "Draw"}
PROPOSAL_CHOICES = (2, 4, 8, 16, 32, 64, 128)
COMPLETION_CANVAS_PIXELS = 196
DRAWING_LINK = "completion_drawing"
LINKED_DRAWING_KEY = "_concepts_completion_linked_drawing"  # the drawing a link brought


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
    return fresh_completer(name, view, seed, seconds) if source == FRESH else load_model(source, stamp)[0]


@st.cache_data(show_spinner="Completing…", max_entries=32)
def completions(name: str, view: str, seed: int, source: str, stamp: float, seconds: float, image: np.ndarray,
                missing: np.ndarray, temperature: float, proposals: int) -> dict:
    model = completer(name, view, seed, source, stamp, seconds)
    result = completion.complete(model, torch.from_numpy(image), torch.from_numpy(missing), COMPLETIONS,
                                 temperature, proposals, seed)
    return {"images": result.images.numpy(), "ess": result.effective_proposals.numpy()}


def completion_input(ds) -> tuple[str, torch.Tensor] | None:
    """The image to erase, in the data view, with a name; None until there is one."""
    source = persistent(st.radio, "Image", "concepts_completion_input", "test", options=list(COMPLETION_INPUTS),
                        link="completion_input", format_func=COMPLETION_INPUTS.get, horizontal=True)
    if source == "test":
        clamp("concepts_completion_index", 0, len(ds.test) - 1, low=0)
        index = int(persistent(st.columns([1, 3])[0].number_input, "Test image #", "concepts_completion_index", 0,
                               link="completion_index", min_value=0, max_value=len(ds.test) - 1))
        return f"test image #{index}", ds.test[index]
    if source == "upload":
        not_in_link("the uploaded image to complete (upload it again after opening the link)")
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
    return drawn_input(ds)


def drawn_input(ds) -> tuple[str, torch.Tensor] | None:
    """A drawing on the canvas, else the one a link carries (its pixels travel in the link), else None."""
    linked = linked_pixels(DRAWING_LINK, LINKED_DRAWING_KEY, ds)
    stroke = int(np.clip(2.2 * COMPLETION_CANVAS_PIXELS / ds.shape[2], 10, 32))
    result = drawing_canvas(COMPLETION_CANVAS_PIXELS, stroke, "concepts_completion_canvas", linked, ds.levels)
    picked = None
    if result is not None and result.image_data is not None:
        try:
            picked = "your drawing", to_view(queries.canvas_image(result.image_data), ds.shape, ds.view, ds.levels,
                                             invert="no")
        except UploadError as exc:
            if linked is None:
                st.caption(str(exc))
    if picked is None and linked is not None:
        st.info("The canvas shows the drawing the link carries, and that is what is completed; draw on it to "
                "change it.")
        picked = "the linked drawing", linked
    if picked is None:
        st.query_params.pop(DRAWING_LINK, None)
        return None
    share(DRAWING_LINK, pack_pixels(picked[1], ds.levels))
    return picked




def completion_grid(ds, image: torch.Tensor, missing: torch.Tensor, drawn: dict, title: str):
    unit = to_unit_images(torch.as_tensor(drawn["images"]), ds.view, ds.levels)
    original = to_unit_images(image[None], ds.view, ds.levels)[0]
    tiles = completion.erased_tiles(original, missing.numpy(), unit)
    labels = ["original", "erased"] + [f"#{i + 1}" for i in range(len(unit))]
    return figures.image_grid(tiles, labels=labels, columns=len(tiles), title=title, max_width=720)


def show(selection) -> None:
    st.subheader("Conditional completion")
    name, view = image_set_or_digits(selection)
    ds = load_dataset(name, view)
    able = completion.completing_families(ds.spec)
    st.markdown(
        "Erase part of an image and ask the model what belongs there: draws from $p_\\theta(x_{\\text{erased}} "
        "\\mid x_{\\text{kept}})$. An autoregressive model fills the erased pixels one at a time in its ordering, "
        "keeping the others. The families that can: " + (", ".join(able.values()) or "none for this data") + ".")
    if not able:
        st.info("No family that completes fits this data; pick the digits or MNIST in the sidebar.")
        return
    source, options = pick_source(name, view, able, f"Train a small {able[completion_family(ds.spec)]} here",
                                  "Complete with", "concepts_completion_source", "completion_run",
                                  "A saved run on this data whose family completes, or a model trained here.")
    ready = completer_ready(name, view, selection.seed, source)
    if ready is None:
        return
    picked = completion_input(ds)
    if picked is None:
        st.info("Pick a test image, upload one or draw one to erase part of it.")
        return
    model_key = (name, view, selection.seed, source, *ready)
    complete_and_show(ds, model_key, options[source], *picked, selection.seed)


def completer_ready(name: str, view: str, seed: int, source: str) -> tuple[float, float] | None:
    """(weights' stamp, training seconds) of the model to complete with, once there is one; None until then."""
    if source == FRESH:
        left, right = st.columns([1, 2], vertical_alignment="bottom")
        with left:
            seconds = seconds_input("Seconds to train the completer", "concepts_completion_seconds",
                                    "completion_seconds", 4.0)
        key = f"concepts_completion_fresh:{name}:{view}:{seed}:{seconds}"
        if right.button(f"Train it ({seconds:g} s)", key="concepts_completion_train", icon=":material/model_training:"):
            st.session_state[key] = True
        if not linked_flag("completion_trained", key, True):
            st.info("Train a small model here, or train one on the Train page and pick its run above.")
            return None
        return 0.0, seconds
    try:
        return run_stamp(source), 0.0
    except OSError as exc:
        st.error(f"Could not read the run in {source}: {exc}. Pick another run, or train one here.")
        return None


def complete_and_show(ds, model_key: tuple, title: str, label: str, image: torch.Tensor, seed: int) -> None:
    """The erase and temperature controls, then the completions: exact draws, or in order and resampled."""
    left, middle, right = st.columns(3)
    preset = persistent(left.selectbox, "Erase", "concepts_completion_mask", next(iter(completion.MASKS)),
                        options=list(completion.MASKS), link="erase",
                        help="The random box moves with the sidebar's seed.")
    temperature = persistent(middle.slider, "Temperature", "concepts_completion_temperature", 1.0,
                             link="completion_temperature", min_value=0.1, max_value=2.0, step=0.1,
                             help="Divides every conditional's logits: below 1 sharper, above 1 more varied. "
                                  "Resampling then targets the conditional of that tempered model.")
    missing = completion.erase_mask(preset, ds.shape, seed)
    try:
        exact = completion.observed_first(completer(*model_key), missing)
    except (OSError, KeyError, ValueError) as exc:
        st.error(f"Could not load {title}: {exc}. Pick another run, or train one here.")
        return
    proposals = persistent(right.select_slider, "Proposals K per completion", "concepts_completion_proposals",
                           completion.DEFAULT_PROPOSALS, options=PROPOSAL_CHOICES, link="proposals", disabled=exact,
                           help="Importance resampling keeps one of K in-order completions, in proportion to how "
                                "well it explains the kept pixels that come after erased ones. Not needed when "
                                "every kept pixel comes first in the model's ordering.")
    try:
        drawn = [completions(*model_key, image.numpy(), missing.numpy(), temperature, k)
                 for k in ((1,) if exact else (1, proposals))]
    except ValueError as exc:
        st.error(f"Could not complete {label}: {exc}")
        return
    st.caption(f"{label}, {preset} erased (red), {COMPLETIONS} completions at temperature {temperature:g}.")
    if exact:
        st.plotly_chart(completion_grid(ds, image, missing, drawn[0], "Exact draws"), width="content")
        st.caption("In this model's ordering every kept pixel comes before every erased one, so drawing pixel by "
                   "pixel already conditions each erased pixel on all the kept ones: these are exact draws from "
                   "p_θ(erased | kept) — the completion PixelRNN made famous (van den Oord et al., 2016).")
    else:
        show_resampled(ds, image, missing, drawn, proposals)


def show_resampled(ds, image: torch.Tensor, missing: torch.Tensor, drawn: list[dict], proposals: int) -> None:
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
