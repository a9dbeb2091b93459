"""The server-wide job manager, its limits from the environment, and this session's owner id."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import streamlit as st

from genlab.jobs import Job, JobManager
from genlab.runs import default_runs_root
from genlab.runtime import set_threads
from pages._ui.datasets import dataset_title

__all__ = ["STALE_SECONDS", "HEARTBEAT_SECONDS", "server_limits", "job_manager", "SessionOwner", "session_owner",
           "current_job", "elapsed"]

STALE_SECONDS = 90.0  # a job nobody has watched for this long is stopped (closed-tab fallback)
HEARTBEAT_SECONDS = 5.0  # how often an open tab stamps its jobs as watched


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
    return {"max_concurrent": 2**31 if jobs is None else int(jobs), "max_queued": None if queued is None else int(queued),
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


def current_job() -> Job | None:
    """The job this session started last, if the server still knows it."""
    job_id = st.session_state.get("job_id")
    return job_manager().get(job_id) if job_id else None


def elapsed(job_view: dict) -> float:
    """Seconds of training a job has reported so far."""
    return job_view["metrics"][-1]["seconds"] if job_view["metrics"] else 0.0
