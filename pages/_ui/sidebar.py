"""The sidebar every page draws: the data set, its view, the seed, your images, this session's jobs.

Each page calls `sidebar()` itself (AppTest drops the entrypoint's sidebar on a rerun,
docs/DESIGN.md). The selection lives in plain session-state keys, copied into and out of the
widgets, so it survives switching pages.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from genlab.data import drawn
from genlab.data.base import Dataset
from genlab.data.folder import MIN_IMAGES
from genlab.data.imagefiles import IMAGE_SUFFIXES, MAX_FILE_BYTES, MAX_IMAGES, UploadError
from genlab.data.images import default_root
from genlab.data.registry import source_of
from genlab.data.uploads import save_uploads
from genlab.jobs import CapacityError, ClusterUnreachable
from pages._ui.datasets import (
    DEFAULT_DATASET,
    POINTS_KEY,
    UPLOAD_CHOICE,
    UPLOAD_SIZES,
    dataset_choices,
    dataset_title,
    is_image_set,
    load_dataset,
    toy_points,
)
from pages._ui.errors import hosted
from pages._ui.jobs import STALE_SECONDS, _jobs_status, job_manager
from pages._ui.links import SHARE_BOX_KEY, drawn_link, link_on_first_sight, persistent, share_box
from pages._ui.routing import through_entrypoint
from pages._ui.text import echoed, plain
from pages._ui.upload_budget import release
from pages._ui.workspace import current_workspace, host_limits, stores

__all__ = ["Selection", "sidebar"]

VIEW_TITLES = {"binary": "binary (0/1 pixels)", "gray8": "gray levels"}
IN_USE_KEY = "_upload_in_use"  # this run's place above the uploader for the name of the set in use


@dataclass
class Selection:
    """What the sidebar chose: a dataset name, its view, the seed, and the loaded data (or why not)."""

    name: str
    view: str
    seed: int
    ds: Dataset | None
    error: str = ""


def _your_images() -> str | None:
    """The uploader and the size; returns the uploaded set's "folder:PATH", or None before any upload.

    The uploader shows its files only on the page they were dropped on; the set in use is named
    above it (`_name_set_in_use`) on every page.
    """
    st.session_state[IN_USE_KEY] = st.empty()
    label = "Replace them with other images" if "upload_spec" in st.session_state else "Your images"
    files = st.file_uploader(
        label, type=["zip", *(s.removeprefix(".") for s in IMAGE_SUFFIXES)], accept_multiple_files=True,
        key="upload_files", max_upload_size=MAX_FILE_BYTES // 2**20,
        help=f"A zip of images, or several image files (PNG, JPEG, WebP, BMP, GIF): at least {MIN_IMAGES}, at most "
             f"{MAX_IMAGES} from one zip, {MAX_FILE_BYTES // 2**20} MB per file. One sub-folder per class in a zip "
             "gives labels. Images are turned grayscale and fitted into a square.")
    persistent(st.radio, "Image size", "upload_size", UPLOAD_SIZES[1], options=list(UPLOAD_SIZES),
               format_func=lambda n: f"{n}×{n}", horizontal=True,
               help="Side of the square every image is fitted into; small sizes train in seconds on a CPU.")
    if files:
        space = current_workspace()
        try:
            host_limits().check_disk(space, adding_bytes=sum(f.size for f in files))
            st.session_state["upload_spec"] = save_uploads(files, space.uploads)
        except (UploadError, CapacityError) as exc:
            st.error(plain(exc))
        release(files)  # saved to the workspace, or refused: either way out of the server's memory now
    return st.session_state.get("upload_spec")


def _training_points(name: str) -> None:
    """How many training points a generated toy draws; the test split is the same at every number."""
    source = source_of(name)
    persistent(st.select_slider, "Training points", POINTS_KEY, source.default_points, options=list(source.points),
               link="points", format_func=lambda n: f"{n:,}",
               help="How many points D holds, drawn from p_data. The test split stays the same 5,000 points at "
                    "every number, so runs compare. A flexible family overfits a small D (its training NLL falls "
                    "below its test NLL); more points cost only memory and a second to draw.")


def sidebar(page_ticks: bool = False) -> Selection:
    """Draw the shared sidebar and return the selection, with the dataset loaded if possible.

    `page_ticks`: the page has its own live panel that redraws this session's job, so the sidebar's
    status does not tick too (one clock per page, pages/_ui/live.py).
    """
    through_entrypoint()
    st.session_state[SHARE_BOX_KEY] = None  # drawn below, once this run's sidebar has it
    try:
        manager = job_manager()
    except ClusterUnreachable as exc:
        st.error(f"This server trains on a Ray cluster, and it cannot reach it. {plain(exc)} "
                 "Reload this page once it answers.", icon=":material/cloud_off:")
        st.stop()
    manager.stop_stale(STALE_SECONDS)
    names = dataset_choices()
    if st.session_state.get("dataset") not in names:
        st.session_state["dataset"] = DEFAULT_DATASET if DEFAULT_DATASET in names else names[0]
    with st.sidebar:
        st.markdown("### Data set $D \\sim p_{\\text{data}}$")
        name = persistent(st.selectbox, "Dataset", "dataset", DEFAULT_DATASET, options=names, link="dataset",
                          format_func=dataset_title, help="The data set D every page works on.")
        if name == UPLOAD_CHOICE:
            name = _your_images() or UPLOAD_CHOICE
        elif name == drawn.NAME:
            drawn_link()
        if toy_points(name) is not None:
            _training_points(name)
        elif (raw := link_on_first_sight("points")) is not None:
            st.query_params.pop("points", None)
            st.warning(f"The link asks for points = {echoed(raw)}, but {plain(dataset_title(name))} has a fixed "
                       "number of training items: the link's number is left out.")
        if is_image_set(name):
            view = persistent(st.radio, "View", "view", "binary", options=list(VIEW_TITLES), link="view",
                              format_func=VIEW_TITLES.get, horizontal=True,
                              help="Binary: pixels thresholded to 0/1 (the classic binarised-MNIST benchmark "
                                   "instead draws each pixel as 1 with its grey level as probability, so "
                                   "numbers differ). "
                                   "Gray levels: the integer pixel values.")
        else:
            view = "continuous"
        seed = persistent(st.number_input, "Seed", "seed", 0, min_value=0, max_value=2**31 - 1, step=1, link="seed",
                          help="Fixes every random choice of a run: initialisation, batch order, samples. "
                               "The train/test split stays fixed so runs compare.")
        _jobs_status(manager, page_ticks)
        st.caption(f"Your runs and images stay in your own workspace on this server, kept for "
                   f"{stores()[0].idle_days:g} days after your last visit; only the links you share open them.")
        if (capacity := manager.capacity()) is not None:
            st.caption(f":material/hub: {capacity}")
        share_box()
    if name == UPLOAD_CHOICE:
        st.sidebar.info("Upload a zip of your images, or several image files, to use them as the data set.")
        return Selection(name, view, int(seed), None, "no images uploaded yet")
    try:
        ds = load_dataset(name, view)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        text = str(exc)
        if hosted():  # a visitor reads no server path: the data folder is named, not shown
            text = text.replace(default_root(), "the server's data folder")
        st.error(f"Could not load {dataset_title(name)}: {plain(text)}")
        return Selection(name, view, int(seed), None, text)
    if st.session_state.get("dataset") == UPLOAD_CHOICE:
        _name_set_in_use(ds)
    return Selection(name, view, int(seed), ds)


def _name_set_in_use(ds: Dataset) -> None:
    """Above the uploader: the uploaded set in use, by title and number of images."""
    st.session_state[IN_USE_KEY].caption(f"In use: {dataset_title(ds.name)}, {len(ds.train) + len(ds.test):,} "
                                         "images. Upload others below to replace them.")
