"""The server-wide job manager, its limits from the environment, and this session's owner id."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import streamlit as st

from genlab.jobs import RAY_ADDRESS, JobBackend, JobHandle, JobLimits, backend_from_env
from genlab.runs import default_runs_root
from genlab.runtime import set_threads
from pages._ui.datasets import dataset_title

__all__ = ["STALE_SECONDS", "STATUS_SECONDS", "job_manager", "SessionOwner", "session_owner",
           "current_job"]

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
    """Who started a job: one id per browser session, with the manager its jobs live in."""

    id: str
    manager: JobBackend


def _release_session(owner: SessionOwner) -> None:
    owner.manager.release_owner(owner.id)  # stop its jobs, forget them and its usage


@st.cache_resource(scope="session", on_release=_release_session, show_spinner=False)
def _session_owner(_manager: JobBackend) -> SessionOwner:
    return SessionOwner(uuid.uuid4().hex[:12], _manager)


def session_owner() -> SessionOwner:
    """This session's owner id; when the session ends, its jobs are stopped."""
    return _session_owner(job_manager())


def _jobs_status(manager: JobBackend, owner: SessionOwner, page_ticks: bool) -> None:
    """While this session trains, a small ticking status that also stamps its heartbeat; none on a page
    whose own live panel ticks (`page_ticks`), as one page has one clock (pages/_ui/live.py)."""
    if page_ticks or not any(job.active for job in manager.jobs(owner.id)):
        return

    @st.fragment(run_every=STATUS_SECONDS)
    def status():
        for job in manager.jobs(owner.id):
            if job.active:
                job.touch()
                view = job.view()
                st.caption(f":material/hourglass_top: {view.title} on {dataset_title(view.dataset)}: "
                           f"{view.state}, {view.elapsed:.1f} of {view.seconds:.0f} s")

    status()


def current_job() -> JobHandle | None:
    """The job this session started last, if the server still knows it."""
    job_id = st.session_state.get("job_id")
    return job_manager().get(job_id) if job_id else None
