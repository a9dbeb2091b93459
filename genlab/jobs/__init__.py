"""Training jobs behind one interface: start, pause, resume, stop, step, change, reset, a typed view.

`base` holds what every backend shares (JobState, JobView, ModelCard, JobLimits, the
JobHandle and JobBackend interfaces); `local` trains in threads of this process, the
embedded default.
"""
from genlab.jobs.base import (
    CapacityError,
    JobBackend,
    JobHandle,
    JobLimits,
    JobState,
    JobView,
    ModelCard,
    check_session_room,
)
from genlab.jobs.local import Job, JobManager, LocalBackend

__all__ = ["Job", "JobManager", "LocalBackend", "CapacityError", "ModelCard", "JobState", "JobView", "JobLimits",
           "JobHandle", "JobBackend", "check_session_room"]
