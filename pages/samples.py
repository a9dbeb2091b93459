"""Samples: new x ~ p_θ — a grid with seed and temperature, generation step by step, interpolations."""
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from genlab import figures, queries, zoo
from genlab.runs import WEIGHTS, default_runs_root, list_run_folder
from genlab.snapshots import sample_points, to_unit_images
from pages._ui.capabilities import short_title
from pages._ui.links import clamp, persistent
from pages._ui.next_steps import next_links
from pages._ui.preamble import open_page
from pages._ui.routing import PAGES
from pages._ui.runs import load_model, run_label
from pages._ui.text import plain

STEP_SAMPLES = {True: 8, False: 500}  # samples followed step by step: images / 2-D points
MAX_FRAMES = 32
INTERPOLATION_STEPS = 10
HALF_WIDTH = 440


@st.cache_data(show_spinner="Sampling…", max_entries=32)
def draw(folder: str, stamp: float, n: int, seed: int, temperature: float) -> np.ndarray:
    """n samples in the data view, (n, *shape)."""
    model, _ = load_model(folder, stamp)
    return sample_points(model, n, seed, temperature)


@st.cache_data(show_spinner="Generating step by step…", max_entries=16)
def steps(folder: str, stamp: float, n: int, seed: int, temperature: float) -> list[tuple[str, np.ndarray]]:
    model, _ = load_model(folder, stamp)
    with torch.no_grad():
        frames = model.sample_steps(n, temperature=temperature, generator=torch.Generator().manual_seed(seed),
                                    max_frames=MAX_FRAMES)
    return [(caption, x.cpu().numpy()) for caption, x in frames]


@st.cache_data(show_spinner=False, max_entries=16)
def baseline_nll(name: str, view: str, _ds) -> float:
    return queries.independent_pixels_nll(_ds)


def open_run(folder: str) -> None:
    st.session_state["run"] = folder


def weak_model_note(selection, run) -> None:
    """One sentence when the run scores no better than independent pixels: its samples can only be speckle."""
    nll = run.info["summary"].get("test_nll_nats")
    if selection.ds.view == "continuous" or not run.model.trainable or not isinstance(nll, (int, float)):
        return
    baseline = baseline_nll(selection.name, selection.view, selection.ds)
    if nll < baseline:
        return
    seconds = run.info["summary"].get("train_seconds", 0)
    st.warning(f"This run scores {nll:.1f} nats per test image after {seconds:.0f} s of training, no better than "
               f"independent pixels ({baseline:.1f}): it has not learnt digit shapes yet, so its samples are "
               "speckle. Train it for longer, or look at a pretrained run.", icon=":material/hourglass_empty:")
    family = run.info["config"]["family"]
    pretrained = Path(default_runs_root(), f"zoo-{zoo.entry_name(family, selection.name, selection.view)}")
    if str(pretrained) != run.folder and (pretrained / WEIGHTS).exists():
        label = run_label(list_run_folder(pretrained))
        st.button(f"Show the pretrained run instead: {label}", on_click=open_run, args=(str(pretrained),),
                  icon=":material/school:")


def new_seed() -> None:
    st.session_state["sample_seed"] = st.session_state["sample_seed"] + 1


def as_images(x: np.ndarray, ds) -> np.ndarray:
    return to_unit_images(torch.as_tensor(x), ds.view, ds.levels)


selection, run = open_page("Samples · x ~ p_θ", "sample a model of it", "for new samples", needs="sample")
ds = selection.ds
model = run.model
if not model.can("sample"):
    st.info(f"{model.title} cannot draw samples; its density is on the Density page.")
    st.page_link(PAGES["density"], label="Score inputs instead", icon=":material/query_stats:")
    st.stop()

weak_model_note(selection, run)
images = ds.view != "continuous"
count, seed_box, warmth, again = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
if images:
    n = persistent(count.slider, "Samples", "sample_count", 16, min_value=1, max_value=64, step=1,
                   link="samples")
else:
    n = persistent(count.number_input, "Samples", "sample_count_points", 1000, min_value=10, max_value=5000, step=100,
                   link="samples")
seed = persistent(seed_box.number_input, "Sample seed", "sample_seed", selection.seed, min_value=0, link="sample_seed",
                  max_value=2**31 - 1, step=1, help="The same seed and temperature give the same samples.")
temperature = persistent(warmth.slider, "Temperature", "sample_temperature", 1.0, min_value=0.1, max_value=2.0,
                         link="temperature",
                         step=0.05, help="Scales the randomness the sampler draws: below 1 safer, more typical "
                                         "samples; above 1 more varied, stranger ones; 1 is the model itself.")
again.button("New samples", on_click=new_seed, width="stretch", help="Draw again with the next seed.")

try:
    samples = draw(run.folder, run.stamp, int(n), int(seed), float(temperature))
except (ValueError, RuntimeError) as exc:
    st.error(f"Sampling failed: {plain(exc)}")
    st.stop()
if images:
    unit = as_images(samples, ds)
    numbered = queries.decodes(model)
    title = f"{len(unit)} samples · seed {seed} · temperature {temperature:g}"
    labels = [f"#{i + 1}" for i in range(len(unit))] if numbered else None
    st.plotly_chart(figures.image_grid(unit, labels=labels, columns=8, title=title), width="content")
    if ds.view == "binary":
        st.caption("Each pixel of a binary sample is drawn as 0 or 1, so samples look speckled; the decoded "
                   "images further down (the interpolation) show the decoder's mean instead, the "
                   "probability of each pixel, which is smooth. Neither is wrong: they are different pictures.")
    st.download_button("Download as PNG", data=queries.grid_png(unit, columns=8), file_name=f"samples-seed{seed}.png",
                       mime="image/png", icon=":material/download:", on_click="ignore")
else:
    st.plotly_chart(figures.scatter_points(samples, bounds=ds.bounds, background=ds.test,
                                           title=f"{len(samples):,} samples over the test data (grey)"))
    csv = "x,y\n" + "\n".join(f"{a:.6g},{b:.6g}" for a, b in samples)
    st.download_button("Download as CSV", data=csv, file_name=f"samples-seed{seed}.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore")

st.subheader("Step by step")
if model.can("steps"):
    frames = steps(run.folder, run.stamp, STEP_SAMPLES[images], int(seed), float(temperature))
    frame = 1
    if len(frames) > 1:
        clamp(f"sample_frame:{run.folder}", len(frames), len(frames))
        frame = persistent(st.slider, "Frame", f"sample_frame:{run.folder}", len(frames), min_value=1,
                           max_value=len(frames),
                           link="frame", help="Move back to watch the samples being made.")
    caption, x = frames[frame - 1]
    st.caption(f"Frame {frame} of {len(frames)}: {caption}")
    if images:
        st.plotly_chart(figures.image_grid(as_images(x, ds), columns=8, max_width=2 * HALF_WIDTH), width="content")
    else:
        st.plotly_chart(figures.scatter_points(x, bounds=ds.bounds, background=ds.test, title=caption))
else:
    st.caption(f"{model.title} draws a sample in one go, with no intermediate steps to show. Autoregressive "
               "models (pixel by pixel), diffusion models (denoising steps), flows (layer by layer) and "
               "energy-based models (Langevin steps) have them.")

if images:
    st.subheader("Interpolation through the latent space")
    if queries.decodes(model):
        first, second = st.columns(2)
        clamp("sample_from", 1, len(unit))
        clamp("sample_to", 2, len(unit))
        a = persistent(first.number_input, "From sample #", "sample_from", 1, min_value=1, max_value=len(unit),
                       link="from")
        b = persistent(second.number_input, "To sample #", "sample_to", 2, min_value=1, max_value=len(unit),
                       link="to")
        x = torch.as_tensor(samples)
        path = queries.interpolate(model, x[a - 1], x[b - 1], steps=INTERPOLATION_STEPS)
        st.plotly_chart(figures.image_grid(path, columns=INTERPOLATION_STEPS, tile_pixels=72), width="content")
        st.caption("Each sample is encoded to its code z, the codes are joined by a straight line, and points "
                   "along it are decoded to the decoder's mean image (so pixels can be grey): a smooth path means "
                   "nearby codes make similar images.")
    else:
        families = [title for _, title, decoder in queries.latent_families(ds.spec) if decoder]
        st.caption(f"{model.title} has no decoder from a latent space, so it cannot interpolate."
                   + (f" Families that can: {', '.join(families)}." if families else ""))

st.divider()
next_links(run.folder, short_title(type(model)), here="samples")
