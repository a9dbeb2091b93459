"""The server-wide job backend, its limits from the environment, this session's id, and starting a job.

Limits count per workspace (every tab of a visitor together) and per client address; a tab
that closes stops only the jobs it started.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import streamlit as st

from genlab.data.base import Dataset
from genlab.hosting import AddressBook
from genlab.jobs import RAY_ADDRESS, JobBackend, JobHandle, JobLimits, JobView, backend_from_env
from genlab.models.base import GenerativeModel
from genlab.runs import default_runs_root
from genlab.runtime import set_threads
from pages._ui.datasets import dataset_title
from pages._ui.workspace import current_workspace, host_limits, visitor_address

__all__ = ["STALE_SECONDS", "STATUS_SECONDS", "SECONDS_KEY", "KEPT_SECONDS_KEY", "job_manager",
           "SessionOwner", "session_owner",
           "current_job", "start_job", "clock_words", "finishing_split"]

SECONDS_KEY, KEPT_SECONDS_KEY = "train_seconds", "_train_kept_seconds"  # Train's budget widget, its copy off the page
STALE_SECONDS = 90.0  # a job nobody has watched for this long is stopped (closed-tab fallback)
STATUS_SECONDS = 1.0  # how often the sidebar's progress redraws (and stamps its jobs as watched) while training


@st.cache_resource(show_spinner=False)
def _job_manager(runs_root: str, environment: tuple, ray_address: str | None) -> JobBackend:
    set_threads()
    return backend_from_env(runs_root)


def job_manager() -> JobBackend:
    """The server-wide training backend: threads of this process, or a Ray cluster when GENLAB_RAY_ADDRESS is set
    (one per runs folder, set of limits and address in the environment)."""
    return _job_manager(str(default_runs_root()), JobLimits.environment(), os.environ.get(RAY_ADDRESS))


@dataclass(frozen=True)
class SessionOwner:
    """One browser session (a tab): its id, the backend its jobs live in, the server's address book."""

    id: str
    manager: JobBackend
    addresses: AddressBook


@st.cache_resource(show_spinner=False)
def _address_book() -> AddressBook:
    return AddressBook()


def _release_session(owner: SessionOwner) -> None:
    owner.manager.release_session(owner.id)  # stop the jobs this tab started, not its workspace's others
    owner.addresses.forget(owner.id)


@st.cache_resource(scope="session", on_release=_release_session, show_spinner=False)
def _session_owner(_manager: JobBackend) -> SessionOwner:
    return SessionOwner(uuid.uuid4().hex[:12], _manager, _address_book())


def session_owner() -> SessionOwner:
    """This session's id; when the session ends, the jobs it started are stopped."""
    return _session_owner(job_manager())


def start_job(model: GenerativeModel, ds: Dataset, seconds: float, seed: int, name: str | None = None) -> JobHandle:
    """Start training into this visitor's workspace, within the budgets (CapacityError says which one is spent)."""
    manager, owner, space, limits = job_manager(), session_owner(), current_workspace(), host_limits()
    limits.check_disk(space)
    address = visitor_address()
    if address is not None:
        limits.check_address(manager, owner.addresses.add(address, owner.id))
    return manager.start(model, ds, seconds=seconds, seed=seed, owner=space.id, session=owner.id, name=name,
                         runs_root=space.runs)


def _jobs_status(manager: JobBackend, page_ticks: bool) -> None:
    """While this visitor trains, a small ticking status that also stamps its jobs' heartbeat; none on a page
    whose own live panel ticks (`page_ticks`), as one page has one clock (pages/_ui/live.py)."""
    space = current_workspace()
    if page_ticks or not any(job.active for job in manager.jobs(space.id)):
        return

    @st.fragment(run_every=STATUS_SECONDS)
    def status():
        for job in manager.jobs(space.id):
            if job.active:
                job.touch()
                view = job.view()
                st.caption(f":material/hourglass_top: {view.title} on {dataset_title(view.dataset)}: "
                           f"{clock_words(view)}")

    status()


def finishing_split(view: JobView) -> str | None:
    """How an ended run's seconds divide when its family spent the end of the budget on a last pass over its best
    weights (`finishing_share`): "13.5 s of steps, then 1.5 s calibrating the ratio critic"; else None."""
    total = view.summary.get("train_seconds")
    if not view.finishing_share or total is None or total - view.elapsed < 0.05:
        return None
    return f"{view.elapsed:.1f} s of steps, then {total - view.elapsed:.1f} s {view.finishing}"


def clock_words(view: JobView) -> str:
    """Where a run's clock stands, as every status line says it (markdown), in the seconds its summary counts.

    Training: "**running**, 6.2 of 20 s", and for a family that keeps the end of its budget for a last pass
    "…, 6.2 of 15 s: steps until 13.5 s, then calibrating the ratio critic"; its steps' time spent, what it does
    until it saves; ended: "**finished**, 15.0 of 15 s (13.5 s of steps, then 1.5 s calibrating the ratio critic)".
    """
    total = view.summary.get("train_seconds")
    if total is not None:
        split = finishing_split(view)
        return f"**{view.state}**, {total:.1f} of {view.seconds:.0f} s" + (f" ({split})" if split else "")
    if view.scoring and view.finishing_share:
        return f"{view.elapsed:.1f} s of steps done, **{view.finishing}, then scoring the held-out test set…**"
    if view.scoring:
        return f"{view.seconds:.0f} s of training done, **scoring the held-out test set…**"
    plan = f": steps until {view.steps_seconds:.1f} s, then {view.finishing}" if view.finishing_share else ""
    return f"**{view.state}**, {view.elapsed:.1f} of {view.seconds:.0f} s{plan}"


def current_job() -> JobHandle | None:
    """The job this session started last, if the server still knows it."""
    job_id = st.session_state.get("job_id")
    return job_manager().get(job_id) if job_id else None
