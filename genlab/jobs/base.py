"""What every job backend shares: the job states, the typed view a page reads, the interface.

A backend trains runs somewhere (threads in this process, workers of a cluster) and hands
the page a `JobHandle` per run. Whatever crosses from the training side to the page is a
`JobView`: a frozen value taken once, under the job's lock, so a page never reads half of
an update nor a model that was swapped for its `ModelCard` between two reads.
"""
from __future__ import annotations

import abc
import copy
import enum
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType

from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel, ModelConfig

__all__ = ["SNAPSHOT_EVERY", "SnapshotClock", "JobState", "JobView", "ModelCard", "CapacityError", "JobLimits",
           "JobHandle", "JobBackend", "Capacity", "OwnerLedger", "check_open", "check_queue", "check_session_room"]


SNAPSHOT_EVERY = 1.0  # seconds between live views


class SnapshotClock:
    """Paces a run's live views, taken in its training thread: one every SNAPSHOT_EVERY seconds, and the next
    one at once after `redraw()` (a reset, shown without waiting)."""

    def __init__(self):
        self._last = -float("inf")

    def due(self) -> bool:
        """True when a live view should be taken now (and from now on it is not, for SNAPSHOT_EVERY seconds)."""
        now = time.perf_counter()
        if now - self._last < SNAPSHOT_EVERY:
            return False
        self._last = now
        return True

    def redraw(self) -> None:
        self._last = -float("inf")


class JobState(enum.StrEnum):
    """Where a job is in its life; equal to its plain name ("running" == JobState.RUNNING)."""

    QUEUED = "queued"  # waiting for a training slot
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # its budget ran out (or it diverged: see the view's error)
    STOPPED = "stopped"  # stopped by its page, its session's end or the server
    FAILED = "failed"  # raised; the view's error says why

    @property
    def training(self) -> bool:
        """Holding a training slot: what counts against the server's cap."""
        return self in (JobState.RUNNING, JobState.PAUSED)

    @property
    def active(self) -> bool:
        """Not ended yet: a page still watches it, and its owner may start no other."""
        return self is JobState.QUEUED or self.training


class ClusterUnreachable(ValueError):
    """The cluster this server was told to train on does not answer (a ValueError: a setting to fix)."""


class CapacityError(RuntimeError):
    """Raised when a job cannot start or wait: the queue is full, or its session reached a limit."""


@dataclass(frozen=True)
class ModelCard:
    """What a page reads of a job's model, also once the job has ended (the weights are in its run folder)."""

    name: str
    title: str
    objective: str
    trainable: bool
    changeable: tuple[str, ...]  # config fields a learner may change while it trains
    players: tuple[str, ...]  # for a game of several networks: who may train ("both" first)
    config: ModelConfig
    log_prob_kind: str | None = None  # what its log p is: "exact" | "lower_bound" | ... | None
    finishing_share: float = 0.0  # of the budget, kept from the steps for its last pass (`finish_training`)
    finishing: str = ""  # what that pass does, in words ("calibrating the ratio critic")

    @classmethod
    def of(cls, model: GenerativeModel | ModelCard) -> ModelCard:
        """The card of a model (a copy of its config as it is now); a card is its own card."""
        if isinstance(model, ModelCard):
            return model
        return cls(model.name, model.title, model.objective, bool(model.trainable), tuple(model.changeable),
                   tuple(model.players), copy.copy(model.config), model.log_prob_kind, float(model.finishing_share),
                   model.finishing)


@dataclass(frozen=True)
class JobView:
    """Everything a page shows of a job, taken at one moment: never changes after it is made."""

    id: str
    family: str  # the model's short name
    title: str
    objective: str
    trainable: bool  # False for a closed-form fit: no steps, changes or reset
    changeable: tuple[str, ...]  # config fields a learner may change while it trains
    players: tuple[str, ...]  # for a game of several networks: who may train ("both" first)
    config: ModelConfig  # a copy of the model's config at that moment
    dataset: str  # the data set's name
    view: str  # the data's view: "binary" | "gray8" | "continuous"
    state: JobState
    error: str  # why it failed, or a warning (a diverged run)
    seconds: float  # the training budget
    metrics: tuple[dict, ...]  # the reports so far (step, seconds, train_*, valid_*, event)
    live: Mapping  # the latest live snapshot (a density grid, points or images)
    summary: Mapping  # once ended: the test numbers and the trainer's summary (or a failure's traceback)
    folder: str
    created: float  # time.time() when the job was started
    queue_position: int | None = None  # 1-based while queued
    queue_length: int = 0  # jobs waiting, while this one waits
    log_prob_kind: str | None = None  # the model's, which says how its charted KL is measured
    finishing_share: float = 0.0  # the model's: the end of the budget its last pass takes, after the steps
    finishing: str = ""  # what that pass does, in words

    @classmethod
    def of(cls, job_id: str, model: GenerativeModel | ModelCard, ds: Dataset, *, state: JobState, error: str,
           seconds: float, metrics, live: dict, summary: dict, folder, created: float,
           queue_position: int | None, queue_length: int) -> JobView:
        """A view over copies of a job's fields; the caller holds the job's lock."""
        card = ModelCard.of(model)
        return cls(job_id, card.name, card.title, card.objective, card.trainable, card.changeable, card.players,
                   card.config, ds.name, ds.view, JobState(state), error, float(seconds), tuple(metrics),
                   MappingProxyType(dict(live)), MappingProxyType(copy.deepcopy(summary)), str(folder), created,
                   queue_position, queue_length, card.log_prob_kind, card.finishing_share, card.finishing)

    @property
    def active(self) -> bool:
        return self.state.active

    @property
    def elapsed(self) -> float:
        """Seconds of training reported so far."""
        return self.metrics[-1]["seconds"] if self.metrics else 0.0

    @property
    def steps_seconds(self) -> float:
        """The part of the budget its gradient steps take: all of it, less the family's `finishing_share` (to the
        millisecond, as its reports count seconds)."""
        return round(self.seconds * (1 - self.finishing_share), 3)

    @property
    def scoring(self) -> bool:
        """Its steps' time is spent but it still runs: it finishes its training (a family with a `finishing_share`)
        and scores the held-out test set before it saves."""
        return self.state is JobState.RUNNING and self.trainable and self.elapsed >= self.steps_seconds


def _env_limit(name: str, default: float, what: str) -> float | None:
    """A limit from the environment: a number of at least 0, or "none" for no limit."""
    value = os.environ.get(name, str(default))
    if value.strip().lower() == "none":
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        raise ValueError(f"{name} must be {what}, or 'none' for no limit; got {value!r}.") from None


@dataclass(frozen=True)
class JobLimits:
    """How much a server trains, queues and keeps: its backend's keyword arguments.

    Arguments:
        max_concurrent: jobs allowed to train (or sit paused) at the same time; 0 trains nothing.
        max_queued: jobs allowed to wait for a free slot (None: no limit); one more is refused.
        max_runs_per_session: runs one owner may keep on disk (None: no limit).
        max_session_disk_mb: megabytes of run folders one owner may keep on disk (None: no limit).
    """

    max_concurrent: int = 2
    max_queued: int | None = 16
    max_runs_per_session: int | None = 50
    max_session_disk_mb: float | None = 200.0

    ENVIRONMENT = ("GENLAB_MAX_JOBS", "GENLAB_MAX_QUEUE", "GENLAB_SESSION_RUNS", "GENLAB_SESSION_DISK_MB")

    @classmethod
    def from_env(cls) -> JobLimits:
        """The limits set by GENLAB_MAX_JOBS, GENLAB_MAX_QUEUE, GENLAB_SESSION_RUNS and GENLAB_SESSION_DISK_MB
        (each a number, or "none" for no limit; unset: the defaults). A value that is neither raises
        ValueError with a sentence naming the variable."""
        jobs = _env_limit("GENLAB_MAX_JOBS", cls.max_concurrent, "a whole number of training jobs")
        queued = _env_limit("GENLAB_MAX_QUEUE", cls.max_queued, "a whole number of waiting jobs")
        runs = _env_limit("GENLAB_SESSION_RUNS", cls.max_runs_per_session, "a whole number of runs")
        disk = _env_limit("GENLAB_SESSION_DISK_MB", cls.max_session_disk_mb, "a number of megabytes")
        return cls(2**31 if jobs is None else int(jobs), None if queued is None else int(queued),
                   None if runs is None else int(runs), disk)

    @classmethod
    def environment(cls) -> tuple[str | None, ...]:
        """The raw values of the variables `from_env` reads (what a cache of backends is keyed on)."""
        return tuple(os.environ.get(name) for name in cls.ENVIRONMENT)

    def as_kwargs(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_session_room(folders: list[Path], max_runs: int | None, max_mb: float | None) -> None:
    """Raise CapacityError, with what to do, if a session's saved runs reach its limits."""
    if max_runs is not None and len(folders) >= max_runs:
        raise CapacityError(
            f"Your workspace has {len(folders)} saved runs, the most one workspace may keep ({max_runs}). Delete "
            "some on the Compare page, then press Start again.")
    if max_mb is not None:
        used = sum(map(_bytes_on_disk, folders)) / 2**20
        if used >= max_mb:
            raise CapacityError(
                f"Your runs take {used:.0f} MB on disk, the most one workspace may use ({max_mb:g} MB). "
                "Delete some on the Compare page, then press Start again.")


def check_open(closed: bool, max_concurrent: int) -> None:
    """Raise CapacityError, with what to do, if a backend trains nothing: it is closing, or has no slot at all."""
    if closed:
        raise CapacityError("The server is shutting down; reload the page in a minute and press Start again.")
    if max_concurrent <= 0:
        raise CapacityError("This server is set to train no jobs (0 at a time is the most it allows); "
                            "its saved runs can still be explored on the other pages.")


def check_queue(training: int, waiting: int, max_concurrent: int, max_queued: int | None) -> None:
    """Raise CapacityError, with what to do, if every slot is taken and the queue is full.

    The queue counts the jobs that will still wait once every free slot is taken: on Ray a slot frees before
    the next waiting actor is placed, and "training < max_concurrent" alone let a room of 40 queue 24 jobs
    behind a limit of 16."""
    if max_queued is not None and training + waiting - max_concurrent >= max_queued:
        raise CapacityError(
            f"The server is busy: {training} training job(s) are running and {waiting} are waiting, the most "
            f"it allows ({max_concurrent} running, {max_queued} waiting). Wait a minute, then press Start again.")


class OwnerLedger:
    """What a backend keeps per owner (a browser session): the run folders its jobs were given.

    An owner has one job training or waiting at a time, and a bounded number of runs and
    megabytes on disk; runs deleted from disk no longer count. Not thread-safe: the backend
    calls it under its own lock.
    """

    def __init__(self):
        self._folders: dict[str, list[Path]] = {}

    def __contains__(self, owner: str | None) -> bool:
        return owner in self._folders

    def check(self, owner: str, jobs, max_runs: int | None, max_mb: float | None) -> None:
        """Raise CapacityError, with what to do, if `owner` may start no job now (`jobs`: the backend's jobs)."""
        if any(j.owner == owner and j.active for j in jobs):
            raise CapacityError("You already have a job training or waiting; stop it or wait for it to finish, "
                                "then press Start again.")
        folders = [f for f in self._folders.get(owner, []) if f.exists()]
        self._folders[owner] = folders
        check_session_room(folders, max_runs, max_mb)

    def add(self, owner: str, folder: Path) -> None:
        self._folders.setdefault(owner, []).append(folder)

    def release(self, owner: str) -> None:
        self._folders.pop(owner, None)


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


@dataclass(frozen=True)
class Capacity:
    """What a cluster backend trains on, taken at one moment: its nodes and its CPUs and GPUs, all and free."""

    name: str  # "Ray cluster"
    nodes: int
    cpus: int
    free_cpus: int
    gpus: int = 0
    free_gpus: int = 0

    def slots(self, use_gpu: bool) -> int:
        """How many runs train at once: one per GPU when runs ask for GPUs and there are some, else one per CPU."""
        return self.gpus if use_gpu and self.gpus > 0 else self.cpus

    def __str__(self) -> str:
        gpus = f", {self.gpus} GPU{'s' * (self.gpus != 1)} ({self.free_gpus} free)" if self.gpus else ""
        return (f"{self.name}: {self.cpus} CPU{'s' * (self.cpus != 1)} on {self.nodes} node{'s' * (self.nodes != 1)}, "
                f"{self.free_cpus} free{gpus}")


class JobHandle(abc.ABC):
    """One run as a page holds it: its controls (safe from any thread) and its `view()`.

    Attributes every backend sets: `id`, `owner` (who the limits count it against: a workspace
    id, or None), `session` (the browser session that started it, or None), `folder` (where the
    run is saved on this server), `dataset` (the Dataset it trains on, read-only), `created`
    and `heartbeat` (time.time() of the last `touch`), and `state`, a JobState read without
    a copy (what a page's redraw pace depends on); read everything else through `view()`.
    """

    id: str
    owner: str | None
    session: str | None
    folder: Path
    dataset: Dataset
    created: float
    heartbeat: float
    state: JobState

    @abc.abstractmethod
    def view(self) -> JobView:
        """A consistent, frozen copy of what a page shows, taken under the job's lock."""

    @abc.abstractmethod
    def pause(self) -> None:
        """A running job pauses (its clock stops)."""

    @abc.abstractmethod
    def resume(self) -> None:
        """A paused job goes on training."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop training (what it learned so far is saved); a queued job just leaves the queue."""

    @abc.abstractmethod
    def step(self, n: int = 1) -> None:
        """From a pause: take n gradient steps, then pause again."""

    @abc.abstractmethod
    def change(self, **values) -> None:
        """New values of the family's changeable settings (or `player=`) from the next step on."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Back to the initial weights with a fresh optimizer, running or paused."""

    @abc.abstractmethod
    def set_speed(self, steps_per_redraw: int | None) -> None:
        """Slow motion: one report and live picture every `steps_per_redraw` steps; None is full speed."""

    @abc.abstractmethod
    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True if it has ended (a queued job has not)."""

    @property
    def active(self) -> bool:
        return self.state.active

    def touch(self) -> None:
        """Stamp that a page still watches this job (the closed-tab fallback, see `stop_stale`)."""
        self.heartbeat = time.time()


class JobBackend(abc.ABC):
    """Where training runs: starts jobs, finds them, and stops them when their session ends.

    A backend is shared by every session of a server, so every method is thread-safe: a backend
    keeps its jobs in `_jobs` (id -> handle) and its owners' usage in `_owners` (an OwnerLedger),
    both under `_lock`, and saves runs under `runs_root`. `max_concurrent` is how many jobs may
    train at once (a cluster: its capacity).
    """

    max_concurrent: int
    runs_root: Path
    _count: int = 0  # jobs started so far, for their ids

    @classmethod
    def from_env(cls, runs_root=None, **kwargs) -> JobBackend:
        """A backend with the limits of the environment (see `JobLimits.from_env`), saving runs under `runs_root`."""
        return cls(runs_root, **JobLimits.from_env().as_kwargs(), **kwargs)

    @abc.abstractmethod
    def start(self, model: GenerativeModel, ds: Dataset, seconds: float = 30.0, seed: int = 0,
              owner: str | None = None, name: str | None = None, session: str | None = None,
              runs_root=None) -> JobHandle:
        """Train `model` on `ds` now, or queue it until there is room; raises CapacityError when it may not.

        `owner` is who the limits count the job against (a workspace: all its tabs together),
        `session` the tab that started it (`release_session` stops it), `runs_root` the folder
        its run is saved in (the backend's own by default).
        """

    def get(self, job_id: str) -> JobHandle | None:
        """The job of that id, if the backend still knows it."""
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, owner: str | None = None) -> list[JobHandle]:
        """The jobs it knows (of one owner, or all), oldest first."""
        with self._lock:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    @abc.abstractmethod
    def load(self) -> dict:
        """How busy it is: {"training", "queued", "max_concurrent", "max_queued"}."""

    def release_owner(self, owner: str) -> int:
        """A session went away: stop its jobs and forget them and its usage; returns how many were stopped.

        (A job still ending is dropped when it has ended.)"""
        stopped = self.stop_owner(owner)
        with self._lock:
            self._owners.release(owner)
            for job in [j for j in self._jobs.values() if j.owner == owner and not j.active]:
                del self._jobs[job.id]
        return stopped

    def _new_job(self, model: GenerativeModel, ds: Dataset, name: str | None, runs_root) -> tuple[str, Path]:
        """A fresh job id, and the folder its run is saved in (under `runs_root`, else the backend's own)."""
        self._count += 1
        job_id = f"{model.name}-{ds.name.replace(':', '_')}-{ds.view}-{time.strftime('%Y%m%d-%H%M%S')}-{self._count}"
        return job_id, Path(runs_root if runs_root is not None else self.runs_root) / (name or job_id)

    @abc.abstractmethod
    def shutdown(self, timeout: float = 5.0) -> None:
        """Empty the queue, stop every job and wait for them; no job starts afterwards."""

    def capacity(self) -> Capacity | None:
        """The cluster runs train on, for the page to show; None when they train in this process."""
        return None

    def active(self) -> list[JobHandle]:
        """Jobs training, paused or waiting."""
        return [j for j in self.jobs() if j.active]

    def stop_owner(self, owner: str) -> int:
        """Stop every job of one owner, queued ones included; returns how many."""
        jobs = [j for j in self.jobs(owner) if j.active]
        for job in jobs:
            job.stop()
        return len(jobs)

    def release_session(self, session: str) -> int:
        """A browser tab went away: stop the jobs it started (not its workspace's others); returns how many."""
        jobs = [j for j in self.active() if j.session == session]
        for job in jobs:
            job.stop()
        return len(jobs)

    def stop_stale(self, max_silence: float) -> int:
        """Stop jobs (queued ones included) whose page has not stamped a heartbeat for `max_silence` seconds."""
        now = time.time()
        stale = [j for j in self.active() if now - j.heartbeat > max_silence]
        for job in stale:
            job.stop()
        return len(stale)
