"""Lesson 3, the curse of dimensionality: how many inputs an image shape allows (the notes' example,
then any shape), and the same curse measured: a KDE against a deep model as the resolution grows."""
import math

import streamlit as st

from genlab import concepts, figures
from pages._concepts.common import image_view, seconds_input, table
from pages._ui.links import persistent

SHAPES = {"notes": (700, 1400, 3, 256), "mnist": (28, 28, 1, 2)}
SHAPE_KEYS = ("concepts_height", "concepts_width", "concepts_channels", "concepts_levels")
SHAPE_SLIDERS = (("Height (pixels)", "height", 1, 2048), ("Width (pixels)", "width", 1, 2048),
                 ("Channels", "channels", 1, 4), ("Levels per number", "levels", 2, 256))  # label, link, range


def set_shape(which: str) -> None:
    for key, value in zip(SHAPE_KEYS, SHAPES[which]):
        st.session_state[key] = value


@st.cache_data(show_spinner="Fitting a KDE and a deep model at this resolution…", max_entries=32)
def gap_rows(source: str, size: int, view: str, seconds: float, seed: int) -> list[dict]:
    return concepts.resolution_gap(source, size, view=view, seconds=seconds, seed=seed)


def tex_number(value: float, decimals: int = 0) -> str:
    """A number with thousands separators that LaTeX keeps tight: 2{,}940{,}000."""
    return f"{value:,.{decimals}f}".replace(",", "{,}")


def show(selection) -> None:
    the_notes_count()
    any_shape_count()
    measured(selection)


def the_notes_count() -> None:
    notes = concepts.log10_possible_inputs(**concepts.NOTES_IMAGE)
    dim = math.prod(concepts.NOTES_IMAGE[k] for k in ("height", "width", "channels"))
    st.markdown(
        "An input with D numbers, each taking L values, is one of $L^D$ possible inputs. The notes' example is a "
        f"700×1400 RGB photo with 8-bit channels: D = 700 · 1400 · 3 = {dim:,} numbers, so "
        f"$256^{{{tex_number(dim)}}} = 10^{{{tex_number(dim)} \\cdot \\log_{{10}} 256}} \\approx "
        f"{concepts.format_power_of_ten(notes, latex=True)}$ possible images. The notes print "
        f"$10^{{{tex_number(concepts.NOTES_PRINTED_EXPONENT)}}}$: their exponent is about "
        f"{notes / concepts.NOTES_PRINTED_EXPONENT:.1f} times too small, and the conclusion stands — against that "
        "number, even 15 million training images would be nothing.")
    st.metric("Possible 700×1400×3 8-bit images", f"10^{math.floor(notes):,}",
              help=f"256^{dim:,} = {concepts.format_power_of_ten(notes)}: log10 computed as {dim:,} × log10(256).")


def any_shape_count() -> None:
    buttons = st.columns(4)
    buttons[0].button("The notes' photo", on_click=set_shape, args=("notes",), key="concepts_shape_notes")
    buttons[1].button("Binary MNIST", on_click=set_shape, args=("mnist",), key="concepts_shape_mnist")
    height, width, channels, levels = [
        persistent(column.slider, label, key, default, link=link, min_value=low, max_value=high)
        for column, key, default, (label, link, low, high) in zip(st.columns(4), SHAPE_KEYS, SHAPES["mnist"],
                                                                  SHAPE_SLIDERS)]
    log10 = concepts.log10_possible_inputs(height, width, channels, levels)
    dim = height * width * channels
    biggest = max(concepts.DATASET_SIZES.values())
    st.metric("Possible inputs", f"10^{log10:,.1f}",
              help=f"{levels}^{dim:,} ≈ {concepts.format_power_of_ten(log10)}, computed as {dim:,} × "
                   f"log10({levels}).")
    st.markdown(f"${levels}^{{{tex_number(dim)}}} \\approx {concepts.format_power_of_ten(log10, latex=True)}$ possible "
                f"inputs. Even {biggest:,} images would cover at most a fraction "
                f"$10^{{-{tex_number(log10 - math.log10(biggest), 1)}}}$ of them.")
    st.plotly_chart(figures.possible_inputs_figure(log10), key="concepts_possible")


def measured(selection) -> None:
    st.subheader("The same curse, measured")
    st.markdown("A KDE says an image is likely if it is close to a training image; as D grows, held-out images are "
                "far from all of them. A deep autoregressive model shares what it learns across pixels instead. "
                "Both are fitted at several resolutions and scored on held-out images: sklearn's 8×8 digits "
                "at 4×4 and 8×8, and the MNIST 5k subset at 16×16 and 28×28 (two data sets, so compare "
                "the gap within a row, not rows with each other).")
    view = image_view(selection)
    labels = {f"{size}×{size} ({source})": (source, size) for source, size in concepts.RESOLUTIONS}
    left, right = st.columns([3, 1])
    chosen = persistent(left.multiselect, "Resolutions (16×16 and 28×28 come from MNIST 5k and take longer)",
                        "concepts_resolutions", list(labels)[:2], options=list(labels), link="resolutions",
                        link_format=lambda label: "-".join(map(str, labels[label])))
    with right:
        seconds = seconds_input("Seconds per deep fit", "concepts_gap_seconds", "gap_seconds")
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
    st.plotly_chart(figures.gap_figure(rows), key="concepts_gap")
    summary = concepts.gap_summary(rows)
    if summary["sentence"]:
        st.info(summary["sentence"])
    with st.expander("All numbers"):
        table(rows)
