"""The local backend: one thread per run in this process, owned by a registry, driven by a page.

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
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from genlab.data.base import Dataset
from genlab.jobs.base import (
    SNAPSHOT_EVERY,
    JobBackend,
    JobHandle,
    JobLimits,
    JobState,
    JobView,
    ModelCard,
    OwnerLedger,
    SnapshotClock,
    check_open,
    check_queue,
)
from genlab.models.base import GenerativeModel
from genlab.runs import default_runs_root, train_and_save
from genlab.runtime import yield_to_pages
from genlab.snapshots import live_snapshot
from genlab.train import TrainControl

__all__ = ["Job", "LocalBackend", "JobManager"]

_MANAGERS: weakref.WeakSet[LocalBackend] = weakref.WeakSet()


@atexit.register
def _stop_all_jobs() -> None:
    """At interpreter exit, stop every training thread before torch's runtime goes away
    (a thread still inside a torch op at shutdown aborts the process)."""
    for manager in list(_MANAGERS):
        manager.shutdown(timeout=2.0)


@dataclass(eq=False)
class Job(JobHandle):
    """A training run in a background thread of this process; read it through `view()`."""

    id: str
    model: GenerativeModel | ModelCard  # a ModelCard once the job has ended
    dataset: Dataset
    seconds: float
    seed: int
    folder: Path
    owner: str | None = None
    session: str | None = None
    state: JobState = JobState.RUNNING
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
    snapshots: SnapshotClock = field(default_factory=SnapshotClock, repr=False)
    leave_queue: Callable[[Job], bool] | None = field(default=None, repr=False)  # set by the manager

    # ---- controls (safe from any thread) --------------------------------------------
    def pause(self) -> None:
        with self.lock:
            if self.state is JobState.RUNNING:
                self.control.pause()
                self.state = JobState.PAUSED

    def resume(self) -> None:
        with self.lock:
            if self.state is JobState.PAUSED:
                self.control.resume()
                self.state = JobState.RUNNING

    def stop(self) -> None:
        """Stop training (what it learned so far is saved); a queued job just leaves the queue."""
        if self.leave_queue is None or not self.leave_queue(self):
            self.control.stop()

    def step(self, n: int = 1) -> None:
        """From a pause: take n gradient steps, then pause again."""
        with self.lock:
            if self.state is JobState.PAUSED:
                self.control.step(n)

    def change(self, **values) -> None:
        """New learning_rate / batch_size from the next step on (marked on the chart)."""
        self.control.change(**values)

    def reset(self) -> None:
        """Back to the initial weights with a fresh optimizer, running or paused (marked on the chart)."""
        self.snapshots.redraw()  # the next report redraws the live view at once
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

    def view(self) -> JobView:
        """A consistent, frozen copy of what a page shows, taken under the job's lock."""
        with self.lock:
            return JobView.of(self.id, self.model, self.dataset, state=self.state, error=self.error,
                              seconds=self.seconds, metrics=self.metrics, live=self.live, summary=self.summary,
                              folder=self.folder, created=self.created, queue_position=self.queue_position,
                              queue_length=self.queue_length)

    # ---- the thread ---------------------------------------------------------------
    def _on_metrics(self, record: dict) -> None:
        live = live_snapshot(self.model, self.dataset, seed=self.seed) if self.snapshots.due() else None
        with self.lock:
            self.metrics.append(record)
            if live is not None:
                self.live = live

    def _run(self) -> None:
        yield_to_pages()  # this thread trains; the web server's threads come first
        try:
            summary = train_and_save(self.model, self.dataset, self.folder, seconds=self.seconds, seed=self.seed,
                                     on_metrics=self._on_metrics, control=self.control)
            live = live_snapshot(self.model, self.dataset, seed=self.seed)
            with self.lock:
                self.summary, self.live = summary, live
                status = summary["train"]["status"]
                self.state = JobState.STOPPED if status == "stopped" else JobState.FINISHED
                if status == "diverged":
                    self.error = summary["train"]["message"]
        except Exception as exc:  # the job reports any failure to its page; a bug still shows its traceback
            with self.lock:
                self.state = JobState.FAILED
                self.error = f"{type(exc).__name__}: {exc}"
                self.summary = {"traceback": traceback.format_exc()}


class LocalBackend(JobBackend):
    """Trains jobs in threads of this process: at most `max_concurrent` at once, more wait in a queue.

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

    def __init__(self, runs_root=None, max_concurrent: int = JobLimits.max_concurrent,
                 max_queued: int | None = JobLimits.max_queued,
                 max_runs_per_session: int | None = JobLimits.max_runs_per_session,
                 max_session_disk_mb: float | None = JobLimits.max_session_disk_mb,
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
        self._owners = OwnerLedger()
        self._lock = threading.Lock()
        self._closed = False
        _MANAGERS.add(self)

    def start(self, model: GenerativeModel, ds: Dataset, seconds: float = 30.0, seed: int = 0,
              owner: str | None = None, name: str | None = None, session: str | None = None,
              runs_root=None) -> Job:
        """Train `model` on `ds` in a new thread now, or queue it until a slot frees; returns the job."""
        with self._lock:
            self._check_room(owner)
            job_id, folder = self._new_job(model, ds, name, runs_root)
            job = Job(job_id, model, ds, float(seconds), int(seed), folder, owner=owner, session=session,
                      state=JobState.QUEUED, leave_queue=self._leave_queue)
            self._jobs[job_id] = job
            if owner is not None:
                self._owners.add(owner, folder)
            self._queue.append(job)
            self._promote()
            self._number_queue()
        return job

    def load(self) -> dict:
        """How busy the server is: jobs training and waiting, and the limits."""
        with self._lock:
            return {"training": self._training(), "queued": len(self._queue),
                    "max_concurrent": self.max_concurrent, "max_queued": self.max_queued}

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
        return sum(j.state.training for j in self._jobs.values())

    def _check_room(self, owner: str | None) -> None:
        """Raise CapacityError, with what to do, if a job of `owner` may neither train nor wait."""
        check_open(self._closed, self.max_concurrent)
        if owner is not None:
            self._owners.check(owner, self._jobs.values(), self.max_runs_per_session, self.max_session_disk_mb)
        check_queue(self._training(), len(self._queue), self.max_concurrent, self.max_queued)

    def _promote(self) -> None:
        """Start queued jobs, oldest first, while there are free slots."""
        while self._queue and not self._closed and self._training() < self.max_concurrent:
            job = self._queue.popleft()
            self._number_queue()  # before the job shows as running: no page sees it started and the line unmoved
            with job.lock:
                job.state, job.queue_position, job.queue_length = JobState.RUNNING, None, 0
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
        if job.owner is not None and job.owner not in self._owners:
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
                job.state, job.queue_position, job.queue_length = JobState.STOPPED, None, 0
            self._ended(job)
        return True

    def _run(self, job: Job) -> None:
        """The job's thread: train, then hand the slot to the next job in the queue."""
        try:
            job._run()
        finally:
            with self._lock:
                self._ended(job)


JobManager = LocalBackend  # the name pages, tests and scripts have known it by
