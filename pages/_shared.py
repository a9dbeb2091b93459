"""What every page shares: the sidebar (dataset, view, seed), cached data, the job manager.

Each page calls `sidebar()` itself (AppTest drops the entrypoint's sidebar on a rerun,
DESIGN.md). The selection lives in plain session-state keys, copied into and out of the
widgets, so it survives switching pages.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlparse

import streamlit as st

import genlab
from genlab.data.base import Dataset
from genlab.jobs import Job, JobManager
from genlab.models.base import GenerativeModel
from genlab.runs import WEIGHTS, default_runs_root
from genlab.runtime import set_threads

STALE_SECONDS = 90.0  # a job nobody has watched for this long is stopped (closed-tab fallback)
HEARTBEAT_SECONDS = 5.0  # how often an open tab stamps its jobs as watched
DEFAULT_DATASET = "toy:8gaussians"

DATASET_TITLES = {
    "digits": "Digits 8×8 (scikit-learn)",
    "mnist5k": "MNIST 5k (bundled)",
    "mnist": "MNIST (local folder)",
    "fashion-mnist": "Fashion-MNIST (local folder)",
}
VIEW_TITLES = {"binary": "binary (0/1 pixels)", "gray8": "gray levels"}
PAGES = {"home": "pages/home.py", "data": "pages/data.py", "train": "pages/train.py", "density": "pages/density.py",
         "samples": "pages/samples.py", "latent": "pages/latent.py", "compare": "pages/compare.py"}
ENTERED_KEY = "_entered_through_app"  # set by app.py on every run
DEEP_LINK_KEY = "_deep_link"  # a page asked for before app.py had run


@dataclass
class Selection:
    """What the sidebar chose: a dataset name, its view, the seed, and the loaded data (or why not)."""

    name: str
    view: str
    seed: int
    ds: Dataset | None
    error: str = ""


# ---- server-wide resources -----------------------------------------------------------
def max_jobs() -> int:
    value = os.environ.get("GENLAB_MAX_JOBS", "2")
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"GENLAB_MAX_JOBS must be a whole number of training jobs; got {value!r}.") from None


@st.cache_resource(show_spinner=False)
def _job_manager(runs_root: str, max_concurrent: int) -> JobManager:
    set_threads()
    return JobManager(runs_root, max_concurrent=max_concurrent)


def job_manager() -> JobManager:
    """The server-wide training registry (one per runs folder and cap)."""
    return _job_manager(str(default_runs_root()), max_jobs())


@dataclass(frozen=True)
class SessionOwner:
    """Who started a job: one id per browser session, with the manager its jobs live in."""

    id: str
    manager: JobManager


def _release_session(owner: SessionOwner) -> None:
    owner.manager.stop_owner(owner.id)


@st.cache_resource(scope="session", on_release=_release_session, show_spinner=False)
def _session_owner(_manager: JobManager) -> SessionOwner:
    return SessionOwner(uuid.uuid4().hex[:12], _manager)


def session_owner() -> SessionOwner:
    """This session's owner id; when the session ends, its jobs are stopped."""
    return _session_owner(job_manager())


@st.cache_resource(show_spinner="Loading the dataset…")
def load_dataset(name: str, view: str) -> Dataset:
    """A dataset shared by every session; treat it as read-only."""
    return genlab.load_dataset(name, view=None if view == "continuous" else view)


def is_image_set(name: str) -> bool:
    return not name.startswith("toy:")


def dataset_title(name: str) -> str:
    if name.startswith("toy:"):
        return f"{name.removeprefix('toy:')} (2-D toy)"
    return DATASET_TITLES.get(name, name)


# ---- every run goes through app.py ---------------------------------------------------
def mark_entrypoint() -> None:
    """Called by app.py: this run went through the entrypoint and its st.navigation."""
    st.session_state[ENTERED_KEY] = True


def follow_deep_link() -> None:
    """Called by app.py after st.navigation: open the page a first deep link asked for."""
    page = st.session_state.pop(DEEP_LINK_KEY, None)
    if page:
        st.switch_page(page)


def _through_entrypoint() -> None:
    """Send a run that skipped app.py back through it, keeping the page asked for.

    Until some session has run app.py, Streamlit treats a top-level pages/ folder as its
    older automatic multipage mode (DESIGN.md): a deep link such as /train as a fresh
    server's first request runs pages/train.py alone, without app.py's navigation.
    """
    if st.session_state.get(ENTERED_KEY):
        return
    url_page = PurePosixPath(urlparse(st.context.url or "").path).name
    st.session_state[DEEP_LINK_KEY] = PAGES.get(url_page)
    st.switch_page("app.py")


# ---- widgets whose value outlives the page -----------------------------------------
def _remember(key: str) -> None:
    st.session_state[key] = st.session_state[f"_widget_{key}"]


def persistent(widget, label: str, key: str, default, **kwargs):
    """A widget whose value is kept under `key` in session state across pages."""
    if key not in st.session_state:
        st.session_state[key] = default
    st.session_state[f"_widget_{key}"] = st.session_state[key]
    return widget(label, key=f"_widget_{key}", on_change=_remember, args=(key,), **kwargs)


def clamp(key: str, default: int, high: int, low: int = 1) -> None:
    """Keep a number widget's stored value within [low, high] (its range can shrink with the data or run)."""
    st.session_state[key] = min(max(st.session_state.get(key, default), low), high)


def forget_unless(key: str, options) -> None:
    """Drop a widget's stored choice when another run or data set no longer offers it."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


# ---- the sidebar -------------------------------------------------------------------
def sidebar() -> Selection:
    """Draw the shared sidebar and return the selection, with the dataset loaded if possible."""
    _through_entrypoint()
    manager = job_manager()
    owner = session_owner()
    manager.stop_stale(STALE_SECONDS)
    names = genlab.dataset_names()
    if st.session_state.get("dataset") not in names:
        st.session_state["dataset"] = DEFAULT_DATASET if DEFAULT_DATASET in names else names[0]
    with st.sidebar:
        st.markdown("### Data set $D \\sim p_{\\text{data}}$")
        name = persistent(st.selectbox, "Dataset", "dataset", DEFAULT_DATASET, options=names,
                          format_func=dataset_title, help="The data set D every page works on.")
        if is_image_set(name):
            view = persistent(st.radio, "View", "view", "binary", options=list(VIEW_TITLES),
                              format_func=VIEW_TITLES.get, horizontal=True,
                              help="Binary: pixels thresholded to 0/1, the classic benchmark. "
                                   "Gray levels: the integer pixel values.")
        else:
            view = "continuous"
        seed = persistent(st.number_input, "Seed", "seed", 0, min_value=0, max_value=2**31 - 1, step=1,
                          help="Fixes every random choice of a run: initialisation, batch order, samples. "
                               "The train/test split stays fixed so runs compare.")
        _jobs_status(manager, owner)
        st.caption(f"Runs are saved under `{default_runs_root()}`.")
    try:
        ds = load_dataset(name, view)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        st.error(f"Could not load {dataset_title(name)}: {exc}")
        return Selection(name, view, int(seed), None, str(exc))
    return Selection(name, view, int(seed), ds)


def _jobs_status(manager: JobManager, owner: SessionOwner) -> None:
    """While this session trains, a small ticking status that also stamps its heartbeat."""
    if not any(job.active for job in manager.jobs(owner.id)):
        return

    @st.fragment(run_every=HEARTBEAT_SECONDS)
    def status():
        for job in manager.jobs(owner.id):
            if job.active:
                job.touch()
                view = job.view()
                st.caption(f":material/hourglass_top: {view['family']} on {dataset_title(view['dataset'])}: "
                           f"{view['state']}, {elapsed(view):.0f} of {view['seconds']:.0f} s")

    status()


# ---- a saved run to ask questions of (Density, Samples, Latent) ---------------------
@dataclass(frozen=True)
class LoadedRun:
    """A saved run, loaded: its folder, a stamp that changes when its weights do, the model, its info."""

    folder: str
    stamp: float
    model: GenerativeModel
    info: dict


@st.cache_resource(show_spinner="Loading the run…", max_entries=16)
def load_model(folder: str, stamp: float) -> tuple[GenerativeModel, dict]:
    """A run's model in eval mode, shared by every session (treat as read-only); `stamp` is its weights' mtime."""
    model, _, info = genlab.load_run(folder, load_data=False)
    return model, info


def run_label(run: dict) -> str:
    config = run["config"]
    created = config.get("created", "").replace("T", " ")
    return f"{config.get('title', config['family'])} · seed {config.get('seed', 0)} · {created} · {run['name']}"


def pick_run(selection: Selection, question: str) -> LoadedRun:
    """A run picker over the saved runs on the sidebar's data; the choice is shared by the query pages.

    With no run on this data, says so, links to Train and stops the page.
    """
    where = dataset_title(selection.name) + ("" if selection.view == "continuous" else f", {selection.view} view")
    runs = genlab.list_runs(default_runs_root(), dataset=selection.name, view=selection.view)
    if not runs:
        st.info(f"No trained model on {where} yet. Train one (a Gaussian fits in a second) and come back to "
                f"ask it {question}; every finished run is saved and appears here.")
        st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
        st.stop()
    labels = {run["folder"]: run_label(run) for run in runs}
    if st.session_state.get("run") not in labels:
        st.session_state["run"] = runs[0]["folder"]
    folder = persistent(st.selectbox, "Trained run", "run", runs[0]["folder"], options=list(labels),
                        format_func=labels.get, help=f"Saved runs on {where}, newest first.")
    try:
        stamp = os.path.getmtime(os.path.join(folder, WEIGHTS))
        model, info = load_model(folder, stamp)
    except (OSError, ValueError, KeyError) as exc:
        st.error(f"Could not load the run in {folder}: {exc}. Pick another run, or train a new one.")
        st.stop()
    return LoadedRun(folder, stamp, model, info)


# ---- helpers for the training page -------------------------------------------------
def current_job() -> Job | None:
    """The job this session started last, if the server still knows it."""
    job_id = st.session_state.get("job_id")
    return job_manager().get(job_id) if job_id else None


def elapsed(job_view: dict) -> float:
    """Seconds of training a job has reported so far."""
    return job_view["metrics"][-1]["seconds"] if job_view["metrics"] else 0.0

