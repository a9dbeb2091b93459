"""The runs this visitor may see, and the run picker: a saved run on the sidebar's data, loaded once per server.

A visitor sees their own runs, the server's public runs (directly under the runs root: the
zoo, the CLI's runs) and runs shared with this session by a link. A link names a run by its
share token (a public run by its folder name); a private run's folder name opens nothing.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import genlab
from genlab import figures, leaderboard
from genlab.data.toys import DEFAULT_TOY_POINTS
from genlab.jobs import JobState
from genlab.models.base import Capability, GenerativeModel
from genlab.presets import settings_note
from genlab.runs import WEIGHTS, default_runs_root, list_run_folder
from genlab.workspaces import is_token
from pages._ui.capabilities import short_title
from pages._ui.datasets import dataset_title
from pages._ui.jobs import current_job
from pages._ui.links import LIST_SEPARATOR, persistent
from pages._ui.routing import PAGES
from pages._ui.sidebar import Selection
from pages._ui.text import plain
from pages._ui.workspace import current_workspace, stores

__all__ = ["LoadedRun", "load_model", "run_label", "visible_runs", "run_link", "own_run", "pick_run",
           "follow_just_trained", "newer_run_note", "JUST_TRAINED_KEY"]

SHARED_KEY = "_shared_runs"  # share tokens this session was given by a link
LINKS_KEY = "_run_links"  # run folder -> the text a link names it by
JUST_TRAINED_KEY = "_just_trained"  # the folder of the run this visitor trained last, once it finished


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
    """What tells runs apart: family, its settings (a preset's name, or what differs from the defaults), a toy's
    training points where not the default, seconds, a yardstick, seed, time."""
    config, summary = run["config"], run.get("summary", {})
    families = genlab.families()
    cls = families.get(config["family"])
    title = short_title(cls) if cls else config.get("title", config["family"])
    settings = settings_note(config["family"], config["view"], config["hparams"]) if cls else None
    seconds = summary.get("train_seconds")
    stick = next((f"{label} {figures.format_number(summary[key])}" for key, (label, _) in leaderboard.YARDSTICKS.items()
                  if isinstance(summary.get(key), (int, float))), None)
    created = config.get("created", "").replace("T", " ")
    points = leaderboard.training_points(config)
    parts = [title, settings, f"{points:,} points" if points not in (None, DEFAULT_TOY_POINTS) else None,
             f"{seconds:.0f} s" if seconds is not None else None, stick,
             f"seed {config.get('seed', 0)}", created, run["name"]]
    return " · ".join(part for part in parts if part)


def follow_shared_link() -> None:
    """Each live share token a link names (its `run`, Compare's `runs`, a Concepts panel's run): that run is
    shared with this session from now on."""
    for text in st.query_params.to_dict().values():
        for raw in text.split(LIST_SEPARATOR):
            if is_token(raw) and stores()[0].shared_run(raw) is not None:
                st.session_state.setdefault(SHARED_KEY, set()).add(raw)


def visible_runs(dataset: str | None = None, view: str | None = None) -> list[dict]:
    """This visitor's own runs, the server's public runs and the runs shared with this session, newest first.

    Each run as `genlab.list_runs` lists it, with "whose": "yours", "public" or "shared".
    """
    follow_shared_link()
    workspaces, _ = stores()
    links = st.session_state.setdefault(LINKS_KEY, {})
    found = {}
    for whose, runs in (("public", genlab.list_runs(default_runs_root(), dataset=dataset, view=view)),
                        ("yours", genlab.list_runs(current_workspace().runs, dataset=dataset, view=view))):
        for run in runs:
            found[run["folder"]] = run | {"whose": whose}
            if whose == "public":
                links[run["folder"]] = run["name"]
    for token in sorted(st.session_state.get(SHARED_KEY, ())):
        run = list_run_folder(workspaces.shared_run(token) or "")
        if run is None or run["folder"] in found:
            continue
        if (dataset and run["config"]["dataset"] != dataset) or (view and run["config"]["view"] != view):
            continue
        found[run["folder"]] = run | {"whose": "shared"}
        links[run["folder"]] = token
    return sorted(found.values(), key=lambda r: r["config"]["created"], reverse=True)


def own_run(folder: str) -> bool:
    return current_workspace().owns(Path(folder))


def run_link(folder: str) -> str:
    """What a link names a run by: its share token (made once, on first need), or a public run's folder name."""
    links = st.session_state.setdefault(LINKS_KEY, {})
    if folder not in links:
        links[folder] = stores()[0].share(current_workspace(), Path(folder))
    return links[folder]


def follow_just_trained() -> None:
    """Once this visitor's run has ended and is saved, the query pages open it (once: a later choice stands)."""
    job = current_job()
    if job is None or job.state not in (JobState.FINISHED, JobState.STOPPED):
        return
    folder = str(job.view().folder)
    if st.session_state.get(JUST_TRAINED_KEY) != folder and Path(folder, WEIGHTS).exists():
        st.session_state[JUST_TRAINED_KEY] = st.session_state["run"] = folder


def newer_run_note(shown_folder: str, folders: list[str]) -> None:
    """Say so when the visitor's own newest run is not the one shown (a link or an old choice picked another)."""
    mine = st.session_state.get(JUST_TRAINED_KEY)
    if mine and mine != shown_folder and mine in folders:
        st.info("A newer run that you trained is on this data: pick it in **Trained run** above.",
                icon=":material/update:")


def answers(run: dict, needs: str | None) -> bool:
    """Whether the run's family has capability `needs` (any run does when nothing is needed)."""
    if needs is None:
        return True
    cls = genlab.families().get(run["config"].get("family"))
    return cls is not None and Capability.of(cls, needs)


def pick_run(selection: Selection, question: str, needs: str | None = None) -> LoadedRun:
    """A run picker over the saved runs on the sidebar's data; the choice is shared by the query pages.

    Where no run is picked yet, it opens on the newest run whose family answers `needs` (a capability), so a
    page never opens on a model that cannot answer it while one that can is in the list.

    With no run on this data, says so, links to Train and stops the page.
    """
    where = dataset_title(selection.name) + ("" if selection.view == "continuous" else f", {selection.view} view")
    runs = visible_runs(dataset=selection.name, view=selection.view)
    if selection.ds is not None:  # a drawn density: runs on this drawing only; a toy: at this number of points
        source = json.loads(json.dumps(selection.ds.source))
        runs = [run for run in runs if run["config"].get("data_source") == source]
    if not runs:
        st.info(f"No trained model on {where} yet. Train one (a Gaussian fits in a second) and come back to "
                f"ask it {question}; every finished run is saved and appears here.")
        st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
        st.stop()
    labels = {run["folder"]: run_label(run) for run in runs}
    follow_just_trained()
    if st.session_state.get("run") not in labels:
        st.session_state["run"] = next((run["folder"] for run in runs if answers(run, needs)), runs[0]["folder"])
    folder = persistent(st.selectbox, "Trained run", "run", runs[0]["folder"], options=list(labels), link="run",
                        link_format=run_link, format_func=labels.get,
                        help=f"Saved runs on {where}, newest first.")
    newer_run_note(folder, list(labels))
    try:
        stamp = os.path.getmtime(os.path.join(folder, WEIGHTS))
        model, info = load_model(folder, stamp)
    except (OSError, ValueError, KeyError) as exc:
        st.error(f"Could not load the run {plain(Path(folder).name)}: {plain(exc)}. Pick another run, or train a "
                 "new one.")
        st.stop()
    return LoadedRun(folder, stamp, model, info)
