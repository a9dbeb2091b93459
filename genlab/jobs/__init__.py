"""Training jobs behind one interface: start, pause, resume, stop, step, change, reset, a typed view.

`base` holds what every backend shares (JobState, JobView, ModelCard, JobLimits, the
JobHandle and JobBackend interfaces); `local` trains in threads of this process, the
embedded default; `ray_backend` trains each run as an actor on a Ray cluster.
`backend_from_env` picks one from GENLAB_RAY_ADDRESS.
"""
import os

from genlab.jobs.base import (
    CapacityError,
    ClusterUnreachable,
    JobBackend,
    JobHandle,
    JobLimits,
    JobState,
    JobView,
    ModelCard,
    check_session_room,
)
from genlab.jobs.local import Job, JobManager, LocalBackend

__all__ = ["backend_from_env", "RAY_ADDRESS", "Job", "JobManager", "LocalBackend", "CapacityError",
           "ClusterUnreachable", "ModelCard", "JobState", "JobView", "JobLimits", "JobHandle", "JobBackend",
           "check_session_room"]

RAY_ADDRESS = "GENLAB_RAY_ADDRESS"


def backend_from_env(runs_root=None) -> JobBackend:
    """The backend this server trains with, its limits from the environment (`JobLimits.from_env`).

    GENLAB_RAY_ADDRESS unset: a LocalBackend (threads of this process, nothing else to start).
    Set ("auto", "ray://host:10001", "host:6379"): a RayBackend on that Ray cluster.
    """
    address = os.environ.get(RAY_ADDRESS, "").strip()
    if not address:
        return LocalBackend.from_env(runs_root)
    from genlab.jobs.ray_backend import RayBackend

    return RayBackend.from_env(runs_root, address=address)
