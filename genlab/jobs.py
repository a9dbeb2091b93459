"""Background training jobs: one thread per run, owned by a registry, driven by a page.

A job thread never touches Streamlit. It trains through `train_and_save`, and after
each metrics report it updates the job under the job's lock: the metrics so far and a
live snapshot (a density grid on toys, samples on images) computed in the training
thread itself, so no other thread reads weights while they change.
"""
from __future__ import annotations

import atexit
import copy
import itertools
import weakref
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel
from genlab.runs import default_runs_root, train_and_save
from genlab.snapshots import live_snapshot
from genlab.train import TrainControl

__all__ = ["Job", "JobManager", "CapacityError"]

ACTIVE = ("running", "paused")
SNAPSHOT_EVERY = 1.0  # seconds between live views


_MANAGERS: "weakref.WeakSet[JobManager]" = weakref.WeakSet()


@atexit.register
def _stop_all_jobs() -> None:
    """At interpreter exit, stop every training thread before torch's runtime goes away
    (a thread still inside a torch op at shutdown aborts the process)."""
    for manager in list(_MANAGERS):
        manager.shutdown(timeout=2.0)


class CapacityError(RuntimeError):
    """Raised when the server already trains as many jobs as it allows."""


@dataclass
class Job:
    """A training run in a background thread; read it through `view()`."""

    id: str
    model: GenerativeModel
    dataset: Dataset
    seconds: float
    seed: int
    folder: Path
    owner: str | None = None
    state: str = "running"  # running | paused | finished | stopped | failed
    error: str = ""
    summary: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    live: dict = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    control: TrainControl = field(default_factory=TrainControl)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    heartbeat: float = field(default_factory=time.time)

    # ---- controls (safe from any thread) --------------------------------------------
    def pause(self) -> None:
        with self.lock:
            if self.state == "running":
                self.control.pause()
                self.state = "paused"

    def resume(self) -> None:
        with self.lock:
            if self.state == "paused":
                self.control.resume()
                self.state = "running"

    def stop(self) -> None:
        self.control.stop()

    def step(self, n: int = 1) -> None:
        """From a pause: take n gradient steps, then pause again."""
        with self.lock:
            if self.state == "paused":
                self.control.step(n)

    def change(self, **values) -> None:
        """New learning_rate / batch_size from the next step on (marked on the chart)."""
        self.control.change(**values)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it has ended."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return True

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def touch(self) -> None:
        """Stamp that a page still watches this job (the closed-tab fallback)."""
        self.heartbeat = time.time()

    def view(self) -> dict:
        """A consistent copy of what a page shows: state, metrics, live snapshot, summary."""
        with self.lock:
            return {
                "id": self.id,
                "family": self.model.name,
                "title": self.model.title,
                "objective": self.model.objective,
                "dataset": self.dataset.name,
                "view": self.dataset.view,
                "state": self.state,
                "error": self.error,
                "seconds": self.seconds,
                "metrics": list(self.metrics),
                "live": dict(self.live),
                "summary": copy.deepcopy(self.summary),
                "folder": str(self.folder),
            }

    # ---- the thread ---------------------------------------------------------------
    def _on_metrics(self, record: dict) -> None:
        now = time.perf_counter()
        live = None
        if now - self._last_snapshot >= SNAPSHOT_EVERY:
            self._last_snapshot = now
            live = live_snapshot(self.model, self.dataset, seed=self.seed)
        with self.lock:
            self.metrics.append(record)
            if live is not None:
                self.live = live

    def _run(self) -> None:
        self._last_snapshot = -float("inf")
        try:
            summary = train_and_save(self.model, self.dataset, self.folder, seconds=self.seconds, seed=self.seed,
                                     on_metrics=self._on_metrics, control=self.control)
            live = live_snapshot(self.model, self.dataset, seed=self.seed)
            with self.lock:
                self.summary, self.live = summary, live
                status = summary["train"]["status"]
                self.state = "stopped" if status == "stopped" else "finished"
                if status == "diverged":
                    self.error = summary["train"]["message"]
        except Exception as exc:  # the job reports any failure to its page; a bug still shows its traceback
            with self.lock:
                self.state = "failed"
                self.error = f"{type(exc).__name__}: {exc}"
                self.summary = {"traceback": traceback.format_exc()}


class JobManager:
    """Runs training jobs in threads, at most `max_concurrent` at once (server-wide).

    Arguments:
        runs_root: folder where each job's run is saved.
        max_concurrent: jobs allowed to train (or sit paused) at the same time; one more
            is refused with CapacityError and a sentence that says what to do.
    """

    def __init__(self, runs_root=None, max_concurrent: int = 2):
        self.runs_root = Path(runs_root) if runs_root is not None else default_runs_root()
        self.max_concurrent = max_concurrent
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        _MANAGERS.add(self)

    def start(self, model: GenerativeModel, ds: Dataset, seconds: float = 30.0, seed: int = 0,
              owner: str | None = None, name: str | None = None) -> Job:
        """Start training `model` on `ds` in a new thread; returns the job."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.active]
            if len(active) >= self.max_concurrent:
                raise CapacityError(
                    f"{len(active)} training job(s) are running on this server, the most it allows "
                    f"({self.max_concurrent}). Stop one, or wait for one to finish, then press Train again."
                )
            stamp = time.strftime("%Y%m%d-%H%M%S")
            job_id = f"{model.name}-{ds.name.replace(':', '_')}-{ds.view}-{stamp}-{next(self._ids)}"
            folder = self.runs_root / (name or job_id)
            job = Job(job_id, model, ds, float(seconds), int(seed), folder, owner=owner)
            job.thread = threading.Thread(target=job._run, name=f"genlab-{job_id}", daemon=True)
            self._jobs[job_id] = job
        job.thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    def active(self) -> list[Job]:
        return [j for j in self.jobs() if j.active]

    def stop_owner(self, owner: str) -> int:
        """Stop every job of one owner (a session that went away); returns how many."""
        jobs = [j for j in self.jobs(owner) if j.active]
        for job in jobs:
            job.stop()
        return len(jobs)

    def stop_stale(self, max_silence: float) -> int:
        """Stop active jobs whose page has not stamped a heartbeat for `max_silence` seconds."""
        now = time.time()
        stale = [j for j in self.active() if now - j.heartbeat > max_silence]
        for job in stale:
            job.stop()
        return len(stale)

    def shutdown(self, timeout: float = 5.0) -> None:
        for job in self.jobs():
            job.stop()
        for job in self.jobs():
            job.join(timeout)
