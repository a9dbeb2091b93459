"""What every page shares: the sidebar (dataset, view, seed), cached data, the job manager.

Each page calls `sidebar()` itself (AppTest drops the entrypoint's sidebar on a rerun,
DESIGN.md). The selection lives in plain session-state keys, copied into and out of the
widgets, so it survives switching pages.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlencode, urlparse

import streamlit as st

import genlab
from genlab.data import drawn
from genlab.data.base import Dataset
from genlab.data.folder import MIN_IMAGES
from genlab.data.imagefiles import IMAGE_SUFFIXES, MAX_FILE_BYTES, MAX_IMAGES, UploadError, read_images
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
UPLOAD_CHOICE = "yours"  # the sidebar entry for your own images; the loaded set is named "folder:PATH"
UPLOAD_SIZES = (8, 16, 28)
UPLOADS_FOLDER = "_uploads"  # under the runs root: one folder per session, one per set of files
DRAWN_KEY = "drawn_blobs"  # this session's drawn density: rows (x, y, weight, std)
PAGES = {"home": "pages/home.py", "data": "pages/data.py", "train": "pages/train.py", "density": "pages/density.py",
         "samples": "pages/samples.py", "latent": "pages/latent.py", "compare": "pages/compare.py",
         "concepts": "pages/concepts.py"}
ENTERED_KEY = "_entered_through_app"  # set by app.py on every run
DEEP_LINK_KEY = "_deep_link"  # a page asked for before app.py had run, and its query parameters
PAGE_PATH_KEY = "_page_path"  # the URL path of the page on screen, set by app.py
LINKS_READ_KEY = "_links_read"  # query parameters this session has already taken its values from
SHARE_BOX_KEY = "_share_box"  # the sidebar's "share this view" placeholder of this run


@dataclass
class Selection:
    """What the sidebar chose: a dataset name, its view, the seed, and the loaded data (or why not)."""

    name: str
    view: str
    seed: int
    ds: Dataset | None
    error: str = ""


# ---- server-wide resources -----------------------------------------------------------
def _env_number(name: str, default: float, what: str) -> float | None:
    """A limit from the environment: a number, or "none" for no limit."""
    value = os.environ.get(name, str(default))
    if value.strip().lower() == "none":
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ValueError(f"{name} must be {what}, or 'none' for no limit; got {value!r}.") from None


def server_limits() -> dict:
    """The job manager's limits, from GENLAB_MAX_JOBS, GENLAB_MAX_QUEUE, GENLAB_SESSION_RUNS, GENLAB_SESSION_DISK_MB."""
    jobs = _env_number("GENLAB_MAX_JOBS", 2, "a whole number of training jobs")
    queued = _env_number("GENLAB_MAX_QUEUE", 16, "a whole number of waiting jobs")
    runs = _env_number("GENLAB_SESSION_RUNS", 50, "a whole number of runs")
    return {"max_concurrent": 2**31 if jobs is None else int(jobs),
            "max_queued": None if queued is None else int(queued),
            "max_runs_per_session": None if runs is None else int(runs),
            "max_session_disk_mb": _env_number("GENLAB_SESSION_DISK_MB", 200, "a number of megabytes")}


@st.cache_resource(show_spinner=False)
def _job_manager(runs_root: str, limits: tuple) -> JobManager:
    set_threads()
    return JobManager(runs_root, **dict(limits))


def job_manager() -> JobManager:
    """The server-wide training registry (one per runs folder and cap)."""
    return _job_manager(str(default_runs_root()), tuple(sorted(server_limits().items())))


@dataclass(frozen=True)
class SessionOwner:
    """Who started a job: one id per browser session, with the manager its jobs live in."""

    id: str
    manager: JobManager


def _release_session(owner: SessionOwner) -> None:
    owner.manager.release_owner(owner.id)  # stop its jobs, forget them and its usage


@st.cache_resource(scope="session", on_release=_release_session, show_spinner=False)
def _session_owner(_manager: JobManager) -> SessionOwner:
    return SessionOwner(uuid.uuid4().hex[:12], _manager)


def session_owner() -> SessionOwner:
    """This session's owner id; when the session ends, its jobs are stopped."""
    return _session_owner(job_manager())


@st.cache_resource(show_spinner="Loading the dataset…")
def _load_dataset(name: str, view: str, size: int) -> Dataset:
    return genlab.load_dataset(name, view=None if view == "continuous" else view, size=size)


@st.cache_resource(show_spinner="Sampling your drawn density…", max_entries=8)
def _load_drawn(blobs: tuple) -> Dataset:
    return drawn.drawn_dataset(blobs)


def drawn_blobs() -> tuple[tuple[float, ...], ...]:
    """This session's drawn density (a ring until something else is drawn)."""
    return tuple(map(tuple, st.session_state.get(DRAWN_KEY) or drawn.ring()))


def upload_size() -> int:
    return int(st.session_state.get("upload_size", UPLOAD_SIZES[1]))


def dataset_variant(name: str) -> tuple:
    """What besides (name, view) picks the data: the size of your images, the blobs of a drawn density."""
    if name == drawn.NAME:
        return drawn_blobs()
    return (upload_size(),) if name.startswith("folder:") else ()


def load_dataset(name: str, view: str) -> Dataset:
    """A dataset shared by every session; treat it as read-only.

    Your images load at the sidebar's size; "toy:drawn" is this session's drawn density.
    """
    if name == drawn.NAME:
        return _load_drawn(drawn_blobs())
    return _load_dataset(name, view, upload_size() if name.startswith("folder:") else 28)


def is_image_set(name: str) -> bool:
    return not name.startswith("toy:")


def dataset_title(name: str) -> str:
    if name == drawn.NAME:
        return "drawn by you (2-D)"
    if name == UPLOAD_CHOICE:
        return "Your images…"
    if name.startswith("folder:"):
        return f"your images ({Path(name.removeprefix('folder:')).name})"
    if name.startswith("toy:"):
        return f"{name.removeprefix('toy:')} (2-D toy)"
    return DATASET_TITLES.get(name, name)


def dataset_choices() -> list[str]:
    """The sidebar's data sets: GenLab's own, a density you draw (after the toys), your images (last)."""
    names = genlab.dataset_names()
    toys = [n for n in names if n.startswith("toy:")]
    return toys + [drawn.NAME] + [n for n in names if n not in toys] + [UPLOAD_CHOICE]


# ---- your own images ---------------------------------------------------------------
def _safe_file_name(name: str, index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", PurePosixPath(name.replace("\\", "/")).name).lstrip(".") or "image"
    return f"{index:04d}-{stem}"


def save_uploads(files, session_folder: Path) -> str:
    """Write uploaded files (objects with .name and .getvalue()) to a folder of their own; returns "folder:PATH".

    One zip, or several image files (each must decode); the folder is named by a digest of the contents, so
    the same files map to the same folder (and the loader's cache).
    """
    if not files:
        raise UploadError("Choose a zip of images, or several image files.")
    zips = [f for f in files if f.name.lower().endswith(".zip")]
    if zips and len(files) > 1:
        raise UploadError("Upload one zip, or several images, not a zip together with other files.")
    strays = [f.name for f in files if not f.name.lower().endswith((".zip", *IMAGE_SUFFIXES))]
    if strays:
        raise UploadError(f"{strays[0]} is not an image GenLab reads; "
                          "use PNG, JPEG, WebP, BMP or GIF, or a zip of them.")
    contents = [f.getvalue() for f in files]
    if not zips:
        for f, data in zip(files, contents):
            read_images(f.name, data)  # a damaged file is refused by name, before anything is saved
    digest = hashlib.sha256()
    for f, data in zip(files, contents):
        digest.update(f.name.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = session_folder / digest.hexdigest()[:16]
    if not folder.exists():
        staging = folder.with_name(folder.name + ".part")
        staging.mkdir(parents=True, exist_ok=True)
        for index, (f, data) in enumerate(zip(files, contents)):
            (staging / _safe_file_name(f.name, index)).write_bytes(data)
        staging.rename(folder)
    if zips:
        return f"folder:{next(folder.iterdir())}"
    return f"folder:{folder}"


def _your_images(owner: SessionOwner) -> str | None:
    """The uploader and the size; returns the uploaded set's "folder:PATH", or None before any upload."""
    files = st.file_uploader(
        "Your images", type=["zip", *(s.removeprefix(".") for s in IMAGE_SUFFIXES)], accept_multiple_files=True,
        key="upload_files", max_upload_size=MAX_FILE_BYTES // 2**20,
        help=f"A zip of images, or several image files (PNG, JPEG, WebP, BMP, GIF): at least {MIN_IMAGES}, at most "
             f"{MAX_IMAGES} from one zip, {MAX_FILE_BYTES // 2**20} MB per file. One sub-folder per class in a zip "
             "gives labels. Images are turned grayscale and fitted into a square.")
    persistent(st.radio, "Image size", "upload_size", UPLOAD_SIZES[1], options=list(UPLOAD_SIZES),
               format_func=lambda n: f"{n}×{n}", horizontal=True,
               help="Side of the square every image is fitted into; small sizes train in seconds on a CPU.")
    if files:
        try:
            st.session_state["upload_spec"] = save_uploads(files, default_runs_root() / UPLOADS_FOLDER / owner.id)
        except UploadError as exc:
            st.error(str(exc))
    return st.session_state.get("upload_spec")


# ---- every run goes through app.py ---------------------------------------------------
def mark_entrypoint() -> None:
    """Called by app.py: this run went through the entrypoint and its st.navigation."""
    st.session_state[ENTERED_KEY] = True


def follow_deep_link(page_path: str = "") -> None:
    """Called by app.py after st.navigation: open the page a first deep link asked for, with its query."""
    st.session_state[PAGE_PATH_KEY] = page_path
    page, query = st.session_state.pop(DEEP_LINK_KEY, None) or (None, {})
    if page:
        st.switch_page(page, query_params=query)


def _through_entrypoint() -> None:
    """Send a run that skipped app.py back through it, keeping the page asked for.

    Until some session has run app.py, Streamlit treats a top-level pages/ folder as its
    older automatic multipage mode (DESIGN.md): a deep link such as /train as a fresh
    server's first request runs pages/train.py alone, without app.py's navigation.
    """
    if st.session_state.get(ENTERED_KEY):
        return
    url_page = PurePosixPath(urlparse(st.context.url or "").path).name
    st.session_state[DEEP_LINK_KEY] = (PAGES.get(url_page), st.query_params.to_dict())
    st.switch_page("app.py", query_params=st.query_params.to_dict())


# ---- widgets whose value outlives the page -----------------------------------------
def _remember(key: str) -> None:
    st.session_state[key] = st.session_state[f"_widget_{key}"]


def persistent(widget, label: str, key: str, default, link: str | None = None,
               link_format: Callable[[object], str] = str, **kwargs):
    """A widget whose value is kept under `key` in session state across pages.

    With `link`, the value also lives in the page's URL as the query parameter `link`
    (written as `link_format(value)`): a session opened from a shared link starts from it.
    """
    if key not in st.session_state:
        st.session_state[key] = default
    if link:
        _follow_link(link, key, default, link_format, kwargs)
    st.session_state[f"_widget_{key}"] = st.session_state[key]
    value = widget(label, key=f"_widget_{key}", on_change=_remember, args=(key,), **kwargs)
    if link:
        share(link, link_format(value))
    return value


# ---- shareable links: view state in the URL's query ---------------------------------
def _from_link(raw: str, default, link_format: Callable[[object], str], kwargs: dict):
    """The widget value a link's text stands for, or None if the widget cannot show it."""
    if "options" in kwargs:
        return next((option for option in kwargs["options"] if link_format(option) == raw), None)
    try:
        value = type(default)(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def _link_on_first_sight(link: str) -> str | None:
    """The URL's query parameter `link` the first time this session shows what it sets, else None.

    Later the URL only follows the widget: the query a session was opened with is read once.
    """
    read = st.session_state.setdefault(LINKS_READ_KEY, set())
    if link in read:
        return None
    read.add(link)
    return st.query_params.get(link)


def _follow_link(link: str, key: str, default, link_format: Callable[[object], str], kwargs: dict) -> None:
    """Take a widget's first value from the URL's query parameter `link`, if the session was opened with one."""
    raw = _link_on_first_sight(link)
    if raw is None:
        return
    value = _from_link(raw, default, link_format, kwargs)
    if value is None:
        st.warning(f"The link asks for {link} = {raw!r}, which this page cannot show here; "
                   f"showing {link_format(st.session_state[key])} instead.")
        return
    st.session_state[key] = value


def _drawn_link() -> None:
    """A drawn density travels in the link as its blobs, "x,y,weight,std;…"."""
    raw = _link_on_first_sight("blobs")
    if raw:
        try:
            st.session_state[DRAWN_KEY] = drawn.check_blobs([row.split(",") for row in raw.split(";")])
        except ValueError as exc:
            st.warning(f"The link's drawn density cannot be used ({exc}); showing the one drawn here instead.")
    share("blobs", ";".join(",".join(f"{v:.6g}" for v in blob) for blob in drawn_blobs()))


def share(link: str, text: str) -> None:
    """Put one piece of view state into the URL (and the sidebar's share box)."""
    if st.query_params.get(link) != text:
        st.query_params[link] = text
    box = st.session_state.get(SHARE_BOX_KEY)
    if box is not None:
        box.code(share_url(), language=None, wrap_lines=True)


def share_url() -> str:
    """The link to this view: the app's address, the page and the query."""
    page = st.session_state.get(PAGE_PATH_KEY, "")
    base = (st.context.url or "").rstrip("/").removesuffix(f"/{page}" if page else "")  # the app's own address
    query = urlencode(st.query_params.to_dict())
    return f"{base}/{page}" + (f"?{query}" if query else "")


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
    st.session_state[SHARE_BOX_KEY] = None  # drawn below, once this run's sidebar has it
    manager = job_manager()
    owner = session_owner()
    manager.stop_stale(STALE_SECONDS)
    names = dataset_choices()
    if st.session_state.get("dataset") not in names:
        st.session_state["dataset"] = DEFAULT_DATASET if DEFAULT_DATASET in names else names[0]
    with st.sidebar:
        st.markdown("### Data set $D \\sim p_{\\text{data}}$")
        name = persistent(st.selectbox, "Dataset", "dataset", DEFAULT_DATASET, options=names, link="dataset",
                          format_func=dataset_title, help="The data set D every page works on.")
        if name == UPLOAD_CHOICE:
            name = _your_images(owner) or UPLOAD_CHOICE
        elif name == drawn.NAME:
            _drawn_link()
        if is_image_set(name):
            view = persistent(st.radio, "View", "view", "binary", options=list(VIEW_TITLES), link="view",
                              format_func=VIEW_TITLES.get, horizontal=True,
                              help="Binary: pixels thresholded to 0/1, the classic benchmark. "
                                   "Gray levels: the integer pixel values.")
        else:
            view = "continuous"
        seed = persistent(st.number_input, "Seed", "seed", 0, min_value=0, max_value=2**31 - 1, step=1, link="seed",
                          help="Fixes every random choice of a run: initialisation, batch order, samples. "
                               "The train/test split stays fixed so runs compare.")
        _jobs_status(manager, owner)
        st.caption(f"Runs are saved under `{default_runs_root()}`.")
        with st.expander("Share this view", icon=":material/link:"):
            st.caption("This link opens the same page, data, run and settings (the same samples for the same "
                       "seed) in any browser that reaches this server.")
            st.session_state[SHARE_BOX_KEY] = st.empty()
            st.session_state[SHARE_BOX_KEY].code(share_url(), language=None, wrap_lines=True)
    if name == UPLOAD_CHOICE:
        st.sidebar.info("Upload a zip of your images, or several image files, to use them as the data set.")
        return Selection(name, view, int(seed), None, "no images uploaded yet")
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
    if selection.ds is not None and selection.ds.source is not None:  # a drawn density: runs on this drawing only
        source = json.loads(json.dumps(selection.ds.source))
        runs = [run for run in runs if run["config"].get("data_source") == source]
    if not runs:
        st.info(f"No trained model on {where} yet. Train one (a Gaussian fits in a second) and come back to "
                f"ask it {question}; every finished run is saved and appears here.")
        st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
        st.stop()
    labels = {run["folder"]: run_label(run) for run in runs}
    if st.session_state.get("run") not in labels:
        st.session_state["run"] = runs[0]["folder"]
    folder = persistent(st.selectbox, "Trained run", "run", runs[0]["folder"], options=list(labels), link="run",
                        link_format=lambda f: Path(f).name, format_func=labels.get,
                        help=f"Saved runs on {where}, newest first.")
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

