"""Background training jobs: one thread per run, owned by a registry, driven by a page.

A job thread never touches Streamlit. It trains through `train_and_save`, and after
each metrics report it updates the job under the job's lock: the metrics so far and a
live snapshot (a density grid on toys, samples on images) computed in the training
thread itself, so no other thread reads weights while they change.

The registry trains at most `max_concurrent` jobs at once; more wait in a first-in,
first-out queue of bounded length, and the thread of a job that ends starts the next
one (no polling thread). Each owner (a browser session) has one job training or
waiting at a time, and a bounded number of runs and megabytes on disk. A job that has
ended keeps what its page shows (metrics, live picture, summary) but not its weights,
which are in its run folder; the registry forgets old ended jobs.
"""
from __future__ import annotations

import atexit
import collections
import copy
import itertools
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel
from genlab.runs import default_runs_root, train_and_save
from genlab.snapshots import live_snapshot
from genlab.train import TrainControl

__all__ = ["Job", "JobManager", "CapacityError", "ModelCard"]

TRAINING = ("running", "paused")  # what counts against the server's cap
ACTIVE = ("queued", *TRAINING)  # what a page still watches, and an owner may have one of
SNAPSHOT_EVERY = 1.0  # seconds between live views


_MANAGERS: "weakref.WeakSet[JobManager]" = weakref.WeakSet()


@atexit.register
def _stop_all_jobs() -> None:
    """At interpreter exit, stop every training thread before torch's runtime goes away
    (a thread still inside a torch op at shutdown aborts the process)."""
    for manager in list(_MANAGERS):
        manager.shutdown(timeout=2.0)


class CapacityError(RuntimeError):
    """Raised when a job cannot start or wait: the queue is full, or its session reached a limit."""


@dataclass(frozen=True)
class ModelCard:
    """What a page still reads of a job's model once the job has ended; the weights are in its run folder."""

    name: str
    title: str
    objective: str
    trainable: bool
    config: object

    @classmethod
    def of(cls, model) -> "ModelCard":
        return cls(model.name, model.title, model.objective, model.trainable, model.config)


@dataclass
class Job:
    """A training run in a background thread; read it through `view()`."""

    id: str
    model: GenerativeModel | ModelCard  # a ModelCard once the job has ended
    dataset: Dataset
    seconds: float
    seed: int
    folder: Path
    owner: str | None = None
    state: str = "running"  # queued | running | paused | finished | stopped | failed
    error: str = ""
    summary: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    live: dict = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    control: TrainControl = field(default_factory=TrainControl)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    heartbeat: float = field(default_factory=time.time)
    queue_position: int | None = None  # 1-based while queued
    queue_length: int = 0  # jobs waiting, while this one waits
    leave_queue: Callable[["Job"], bool] | None = field(default=None, repr=False)  # set by the manager

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
        """Stop training (what it learned so far is saved); a queued job just leaves the queue."""
        if self.leave_queue is None or not self.leave_queue(self):
            self.control.stop()

    def step(self, n: int = 1) -> None:
        """From a pause: take n gradient steps, then pause again."""
        with self.lock:
            if self.state == "paused":
                self.control.step(n)

    def change(self, **values) -> None:
        """New learning_rate / batch_size from the next step on (marked on the chart)."""
        self.control.change(**values)

    def reset(self) -> None:
        """Back to the initial weights with a fresh optimizer, running or paused (marked on the chart)."""
        self._last_snapshot = -float("inf")  # the next report redraws the live view at once
        self.control.reset()

    def set_speed(self, steps_per_redraw: int | None) -> None:
        """Slow motion: one report and live picture every `steps_per_redraw` steps; None is full speed."""
        self.control.set_speed(steps_per_redraw, wait_seconds=SNAPSHOT_EVERY)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if the job has ended (a queued job has no thread yet and has not)."""
        if self.thread is not None:
            self.thread.join(timeout)
            return not self.thread.is_alive()
        return not self.active

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
                "queue_position": self.queue_position,
                "queue_length": self.queue_length,
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
    """Runs training jobs in threads: at most `max_concurrent` at once (server-wide), more wait in a queue.

    Arguments:
        runs_root: folder where each job's run is saved.
        max_concurrent: jobs allowed to train (or sit paused) at the same time; 0 trains nothing.
        max_queued: jobs allowed to wait for a free slot, first in first out (None: no limit);
            one more is refused with CapacityError and a sentence that says what to do.
        max_runs_per_session: runs one owner may keep on disk (None: no limit).
        max_session_disk_mb: megabytes of run folders one owner may keep on disk (None: no limit).
        keep_finished: ended jobs remembered per owner (the newest); older ones are forgotten.
        forget_after: seconds after which an ended job is forgotten (None: kept until `keep_finished`).

    The per-owner limits apply to jobs started with an `owner`; an owner has one job training
    or waiting at a time. Runs deleted from disk no longer count.
    """

    def __init__(self, runs_root=None, max_concurrent: int = 2, max_queued: int | None = 16,
                 max_runs_per_session: int | None = 50, max_session_disk_mb: float | None = 200.0,
                 keep_finished: int = 3, forget_after: float | None = 3600.0):
        self.runs_root = Path(runs_root) if runs_root is not None else default_runs_root()
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self.max_runs_per_session = max_runs_per_session
        self.max_session_disk_mb = max_session_disk_mb
        self.keep_finished = keep_finished
        self.forget_after = forget_after
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[Job] = collections.deque()
        self._folders: dict[str, list[Path]] = {}  # owner -> the run folders its jobs were given
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = False
        _MANAGERS.add(self)

    def start(self, model: GenerativeModel, ds: Dataset, seconds: float = 30.0, seed: int = 0,
              owner: str | None = None, name: str | None = None) -> Job:
        """Train `model` on `ds` in a new thread now, or queue it until a slot frees; returns the job."""
        with self._lock:
            self._check_room(owner)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            job_id = f"{model.name}-{ds.name.replace(':', '_')}-{ds.view}-{stamp}-{next(self._ids)}"
            folder = self.runs_root / (name or job_id)
            job = Job(job_id, model, ds, float(seconds), int(seed), folder, owner=owner, state="queued",
                      leave_queue=self._leave_queue)
            self._jobs[job_id] = job
            if owner is not None:
                self._folders.setdefault(owner, []).append(folder)
            self._queue.append(job)
            self._promote()
            self._number_queue()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    def active(self) -> list[Job]:
        """Jobs training, paused or waiting in the queue."""
        return [j for j in self.jobs() if j.active]

    def load(self) -> dict:
        """How busy the server is: jobs training and waiting, and the limits."""
        with self._lock:
            return {"training": self._training(), "queued": len(self._queue),
                    "max_concurrent": self.max_concurrent, "max_queued": self.max_queued}

    def stop_owner(self, owner: str) -> int:
        """Stop every job of one owner, queued ones included; returns how many."""
        jobs = [j for j in self.jobs(owner) if j.active]
        for job in jobs:
            job.stop()
        return len(jobs)

    def release_owner(self, owner: str) -> int:
        """A session went away: stop its jobs and forget them and its usage; returns how many were stopped."""
        stopped = self.stop_owner(owner)
        with self._lock:
            self._folders.pop(owner, None)
            for job in [j for j in self._jobs.values() if j.owner == owner and not j.active]:
                del self._jobs[job.id]  # a job still ending is dropped when its thread ends
        return stopped

    def stop_stale(self, max_silence: float) -> int:
        """Stop jobs (queued ones included) whose page has not stamped a heartbeat for `max_silence` seconds."""
        now = time.time()
        stale = [j for j in self.active() if now - j.heartbeat > max_silence]
        for job in stale:
            job.stop()
        return len(stale)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Empty the queue, stop every job and wait for the threads; no job starts afterwards."""
        with self._lock:
            self._closed = True
        for job in self.jobs():
            job.stop()
        for job in self.jobs():
            job.join(timeout)

    # ---- under self._lock -------------------------------------------------------------
    def _training(self) -> int:
        return sum(j.state in TRAINING for j in self._jobs.values())

    def _check_room(self, owner: str | None) -> None:
        """Raise CapacityError, with what to do, if a job of `owner` may neither train nor wait."""
        if self._closed:
            raise CapacityError("The server is shutting down; reload the page in a minute and press Start again.")
        if self.max_concurrent <= 0:
            raise CapacityError("This server is set to train no jobs (0 at a time is the most it allows); "
                                "its saved runs can still be explored on the other pages.")
        if owner is not None:
            self._check_owner(owner)
        training, waiting = self._training(), len(self._queue)
        if training >= self.max_concurrent and self.max_queued is not None and waiting >= self.max_queued:
            raise CapacityError(
                f"The server is busy: {training} training job(s) are running and {waiting} are waiting, the most "
                f"it allows ({self.max_concurrent} running, {self.max_queued} waiting). Wait a minute, "
                "then press Start again.")

    def _check_owner(self, owner: str) -> None:
        if any(j.owner == owner and j.active for j in self._jobs.values()):
            raise CapacityError("You already have a job training or waiting; stop it or wait for it to finish, "
                                "then press Start again.")
        folders = [f for f in self._folders.get(owner, []) if f.exists()]
        self._folders[owner] = folders  # runs deleted from disk no longer count
        if self.max_runs_per_session is not None and len(folders) >= self.max_runs_per_session:
            raise CapacityError(
                f"This session has {len(folders)} saved runs, the most one session may keep "
                f"({self.max_runs_per_session}). Delete some on the Compare page, or open GenLab in a new tab "
                "to start a new session.")
        if self.max_session_disk_mb is not None:
            used = sum(map(_bytes_on_disk, folders)) / 2**20
            if used >= self.max_session_disk_mb:
                raise CapacityError(
                    f"This session's runs take {used:.0f} MB on disk, the most one session may use "
                    f"({self.max_session_disk_mb:g} MB). Delete some on the Compare page, or open GenLab in a new "
                    "tab to start a new session.")

    def _promote(self) -> None:
        """Start queued jobs, oldest first, while there are free slots."""
        while self._queue and not self._closed and self._training() < self.max_concurrent:
            job = self._queue.popleft()
            with job.lock:
                job.state, job.queue_position, job.queue_length = "running", None, 0
            job.thread = threading.Thread(target=self._run, args=(job,), name=f"genlab-{job.id}", daemon=True)
            job.thread.start()

    def _number_queue(self) -> None:
        for position, job in enumerate(self._queue, 1):
            with job.lock:
                job.queue_position, job.queue_length = position, len(self._queue)

    def _ended(self, job: Job) -> None:
        """A job left for good: keep only what its page shows, forget old jobs, start the next in line."""
        with job.lock:
            job.model = ModelCard.of(job.model)
        if job.owner is not None and job.owner not in self._folders:
            self._jobs.pop(job.id, None)  # its session was released meanwhile
        self._forget_ended()
        self._promote()
        self._number_queue()

    def _forget_ended(self) -> None:
        """Forget ended jobs beyond the newest `keep_finished` of each owner, and those older than `forget_after`."""
        now = time.time()
        kept: dict[str | None, int] = collections.Counter()
        for job in sorted(self._jobs.values(), key=lambda j: j.created, reverse=True):
            if job.active:
                continue
            kept[job.owner] += 1
            old = self.forget_after is not None and now - job.created > self.forget_after
            if kept[job.owner] > self.keep_finished or old:
                del self._jobs[job.id]

    # ---- the callbacks ----------------------------------------------------------------
    def _leave_queue(self, job: Job) -> bool:
        """Job.stop of a queued job: out of the queue, stopped, no run written. False if it is not queued."""
        with self._lock:
            if job not in self._queue:
                return False
            self._queue.remove(job)
            with job.lock:
                job.state, job.queue_position, job.queue_length = "stopped", None, 0
            self._ended(job)
        return True

    def _run(self, job: Job) -> None:
        """The job's thread: train, then hand the slot to the next job in the queue."""
        try:
            job._run()
        finally:
            with self._lock:
                self._ended(job)


def _bytes_on_disk(folder: Path) -> int:
    """Sizes of the files under a folder (0 once it is gone)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # deleted meanwhile
            pass
    return total
