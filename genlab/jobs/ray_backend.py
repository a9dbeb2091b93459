"""The Ray backend: each run is a Ray actor on a cluster, watched and saved by this server.

Each run is an actor asking for one CPU (or one GPU, when the backend is asked to use GPUs and
the cluster has one), so Ray's scheduler is the queue and the cluster is the capacity: an actor that
does not fit waits, pending, until one ends. The actor trains with the same core as the
local backend (`train_and_save` into a folder on its worker's temporary disk, driven by a
`TrainControl`), and the page's controls reach that control through actor calls.

Streaming is pulled, not pushed: one watcher thread per backend asks every training actor
for `poll(since)` (the metrics after the ones it has, and the live snapshot if a newer one
was taken) about once a second, and wakes at once when an actor starts or its training
ends. Pulling keeps the actor free of any address of the server, bounds the traffic to
one small call per run and second whatever the actor does, and a dead actor shows up as
the error of the next call. When training ends, the actor hands back the run's files
(config, metrics, weights, summary) and the watcher writes them into this server's run
store, so workers need no shared disk; then the actor is ended, which frees its CPU.
"""
from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
import traceback
from pathlib import Path

try:
    import ray
except ImportError:
    raise ImportError("Training on Ray needs Ray, which is not installed here: pip install -r requirements.txt "
                      "(or train in this process: unset GENLAB_RAY_ADDRESS, leave out --backend ray).") from None
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayTaskError

from genlab.data.base import Dataset
from genlab.jobs.base import (
    SNAPSHOT_EVERY,
    Capacity,
    ClusterUnreachable,
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
from genlab.runs import RUN_FILES, SUMMARY, default_runs_root, write_atomic
from genlab.train import TrainControl

__all__ = ["RayBackend", "RayJob", "connect", "check_reachable", "cluster_capacity"]

POLL_SECONDS = 1.0  # the watcher asks each training actor for news at most this often
CALL_SECONDS = 30.0  # an actor that answers no call for this long is taken as lost
CAPACITY_SECONDS = 2.0  # how long the cluster's size is cached (every page asks)
LOST = ("The Ray worker training this run was lost (its process or machine stopped), so what it learned is gone. "
        "Press Start to train again.")
REACH_SECONDS = 5.0  # how long `check_reachable` waits for the cluster's port to answer
NOT_STARTED = "The run could not start on the Ray cluster: its worker failed while loading it (details below)."


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at `address` ("auto", "ray://host:10001", "host:6379") unless this process already has.

    Workers get this copy of `genlab` with each job (Ray's `py_modules`), so an extra machine
    needs only the Python packages of requirements.txt, not the code.
    """
    if ray.is_initialized():
        return
    import genlab

    try:
        check_reachable(address)
        ray.init(address=address, runtime_env={"py_modules": [genlab]}, log_to_driver=False)
    except ConnectionError as exc:
        raise ClusterUnreachable(f"Could not reach a Ray cluster at {address!r} ({exc}); start one with "
                                 "`ray start --head` or unset GENLAB_RAY_ADDRESS to train in this process.") from None


def check_reachable(address: str | None) -> None:
    """Raise ConnectionError unless the port Ray would connect to for `address` answers within REACH_SECONDS.

    `ray.init` retries an address that does not answer for minutes on end (five were measured here),
    so a mistyped GENLAB_RAY_ADDRESS would hang every page. The address is resolved as Ray resolves
    it ("auto" reads the address of the cluster `ray start` left on this machine; a loopback host
    becomes this machine's network address unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0), and
    a client address (ray://host:port) is checked as it is.
    """
    if address is not None and address.startswith("ray://"):
        target = address[len("ray://"):]
    else:
        from ray._private.services import canonicalize_bootstrap_address  # Ray's own reading of an address

        target = canonicalize_bootstrap_address(address)  # raises ConnectionError when "auto" finds none
        if target is None:  # "local": ray.init starts a cluster of its own in this process
            return
    host, _, port = target.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except (OSError, ValueError) as exc:
        resolved = "" if target == address else f", which Ray resolves to {target}"
        raise ConnectionError(f"nothing answers at {address!r}{resolved}: {exc}") from None


def cluster_capacity() -> Capacity:
    """The nodes, CPUs and GPUs of the cluster this process joined, all and free."""
    total, free = ray.cluster_resources(), ray.available_resources()
    nodes = sum(node["Alive"] for node in ray.nodes())
    return Capacity("Ray cluster", nodes, int(total.get("CPU", 0)), int(free.get("CPU", 0)), int(total.get("GPU", 0)),
                    int(free.get("GPU", 0)))


@ray.remote(max_concurrency=4)  # `train` holds one thread for the run's life; polls and controls use the others
class Trainer:
    """The actor: trains one run where Ray placed it; every method but `train` answers at once."""

    def __init__(self, model: GenerativeModel, ds: Dataset, seconds: float, seed: int, device: str):
        from genlab.runtime import set_threads

        set_threads()
        self.model, self.ds, self.seconds, self.seed = model.to(device), ds, seconds, seed
        self.control = TrainControl()
        self.lock = threading.Lock()
        self.metrics: list[dict] = []
        self.live: dict = {}
        self.live_version = 0
        self.snapshots = SnapshotClock()
        self.commands: dict[int, tuple[str, tuple, dict]] = {}
        self.next_command = 0

    def where(self) -> str:
        """The node it runs on (the call returns once Ray has placed the actor)."""
        context = ray.get_runtime_context()
        return f"Ray node {ray.util.get_node_ip_address()} ({context.get_node_id()[:8]})"

    def train(self) -> dict:
        """Train and save into a temporary folder; returns the summary (JSON-safe) and the run's other files."""
        from genlab.runs import train_and_save
        from genlab.runtime import yield_to_pages
        from genlab.snapshots import live_snapshot

        yield_to_pages()  # this thread trains; where the machine also serves pages, they come first
        with tempfile.TemporaryDirectory(prefix="genlab-ray-") as folder:
            summary = train_and_save(self.model, self.ds, folder, seconds=self.seconds, seed=self.seed,
                                     on_metrics=self._on_metrics, control=self.control)
            self._set_live(live_snapshot(self.model, self.ds, seed=self.seed))
            files = {name: (Path(folder) / name).read_bytes() for name in RUN_FILES if name != SUMMARY}
        return {"summary": summary, "files": files}  # the summary is written last, where the run is stored

    def poll(self, since: int, live_version: int) -> tuple[list[dict], dict | None, int, ModelCard]:
        """The metrics after the first `since`, the live snapshot if newer than `live_version`, and the model's card."""
        with self.lock:
            live = self.live if self.live_version > live_version else None
            return self.metrics[since:], live, self.live_version, ModelCard.of(self.model)

    def command(self, number: int, verb: str, *args, **kwargs) -> None:
        """Apply the page's controls in the order they were sent (an actor with threads may run calls out of order)."""
        with self.lock:
            self.commands[number] = (verb, args, kwargs)
            while self.next_command in self.commands:
                verb, args, kwargs = self.commands.pop(self.next_command)
                self.next_command += 1
                if verb == "reset":
                    self.snapshots.redraw()  # the next report redraws the live view at once
                getattr(self.control, verb)(*args, **kwargs)

    def _on_metrics(self, record: dict) -> None:
        from genlab.snapshots import live_snapshot

        live = live_snapshot(self.model, self.ds, seed=self.seed) if self.snapshots.due() else None
        with self.lock:
            self.metrics.append(record)
        if live is not None:
            self._set_live(live)

    def _set_live(self, live: dict) -> None:
        with self.lock:
            self.live, self.live_version = live, self.live_version + 1


class RayJob(JobHandle):
    """A run on the Ray cluster as this server sees it: the latest news its watcher pulled, and its controls."""

    def __init__(self, job_id: str, model: GenerativeModel, ds: Dataset, seconds: float, seed: int, folder: Path,
                 owner: str | None, resources: dict, session: str | None = None):
        self.id, self.dataset, self.seconds, self.seed = job_id, ds, seconds, seed
        self.folder, self.owner, self.session = folder, owner, session
        self.created = self.heartbeat = time.time()
        self.state = JobState.QUEUED
        self.card = ModelCard.of(model)
        self.error = ""
        self.where = ""
        self.summary: dict = {}
        self.metrics: list[dict] = []
        self.live: dict = {}
        self.live_version = 0
        self.queue_position: int | None = None
        self.queue_length = 0
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.commands = 0
        device = "cuda" if resources.get("num_gpus") else "cpu"
        self.control = TrainControl()  # checks each control here, where the page can show a mistake
        self.actor = Trainer.options(**resources).remote(model.to("cpu"), ds, seconds, seed, device)
        self.placed = self.actor.where.remote()  # ready once Ray has started the actor
        self.result = self.actor.train.remote()

    # ---- controls (safe from any thread) --------------------------------------------
    def pause(self) -> None:
        self._command(JobState.RUNNING, JobState.PAUSED, "pause")

    def resume(self) -> None:
        self._command(JobState.PAUSED, JobState.RUNNING, "resume")

    def stop(self) -> None:
        """Stop training (what it learned so far is saved); a queued job just leaves the queue."""
        with self.lock:
            queued = self.state is JobState.QUEUED
        if queued:
            self._end(JobState.STOPPED)
        else:
            self._command(None, None, "stop")

    def step(self, n: int = 1) -> None:
        self._command(JobState.PAUSED, JobState.PAUSED, "step", n)

    def change(self, **values) -> None:
        self._command(None, None, "change", **values)

    def reset(self) -> None:
        self._command(None, None, "reset")

    def set_speed(self, steps_per_redraw: int | None) -> None:
        self._command(None, None, "set_speed", steps_per_redraw, wait_seconds=SNAPSHOT_EVERY)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end, queued or training; True if it has ended."""
        return self.ended.wait(timeout)

    def view(self) -> JobView:
        with self.lock:
            return JobView.of(self.id, self.card, self.dataset, state=self.state, error=self.error,
                              seconds=self.seconds, metrics=self.metrics, live=self.live, summary=self.summary,
                              folder=self.folder, created=self.created, queue_position=self.queue_position,
                              queue_length=self.queue_length)

    def _command(self, when: JobState | None, then: JobState | None, verb: str, *args, **kwargs) -> None:
        """Send a control to the actor if the job is in state `when` (None: any active state; an actor not placed
        yet takes it when it starts), and move it to `then`."""
        with self.lock:
            if not (self.state.active if when is None else self.state is when):
                return
            getattr(self.control, verb)(*args, **kwargs)
            self.actor.command.remote(self.commands, verb, *args, **kwargs)
            self.commands += 1
            if then is not None:
                self.state = then

    # ---- the watcher's side ------------------------------------------------------------
    def waiting_on(self) -> ray.ObjectRef:
        """What the watcher waits on: the actor's start while queued, the end of its training after."""
        return self.placed if self.state is JobState.QUEUED else self.result

    def update(self) -> None:
        """Pull news from the actor: its start, new metrics and live view, or its end (the run is then saved here)."""
        try:
            if self.state is JobState.QUEUED:
                if ray.wait([self.placed], timeout=0)[0]:
                    where = ray.get(self.placed)
                    with self.lock:
                        if self.state is JobState.QUEUED:
                            self.state, self.where = JobState.RUNNING, where
                return
            done = bool(ray.wait([self.result], timeout=0)[0])
            self._take(ray.get(self.actor.poll.remote(len(self.metrics), self.live_version), timeout=CALL_SECONDS))
            if done:
                self._save(ray.get(self.result))
        except ActorUnavailableError:
            return  # out of reach for a moment: asked again at the next tick
        except RayActorError as exc:
            error = NOT_STARTED if exc.actor_init_failed else LOST
            self._end(JobState.FAILED, error, {"traceback": str(exc)})
        except GetTimeoutError:
            self._end(JobState.FAILED, LOST)
        except RayTaskError as exc:  # training raised: the page shows why, a bug its traceback
            cause = exc.cause if exc.cause is not None else exc
            self._end(JobState.FAILED, f"{type(cause).__name__}: {cause}", {"traceback": str(exc)})
        except Exception as exc:  # saving failed here (a full disk): the run is lost, the page says why
            self._end(JobState.FAILED, f"{type(exc).__name__}: {exc}", {"traceback": traceback.format_exc()})

    def _take(self, news: tuple[list[dict], dict | None, int, ModelCard]) -> None:
        metrics, live, live_version, card = news
        with self.lock:
            self.metrics.extend(metrics)
            self.card = card
            if live is not None:
                self.live, self.live_version = live, live_version

    def _save(self, result: dict) -> None:
        """Write the run's files into this server's store, the summary last (until then it is a partial run),
        with the node that trained it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / SUMMARY).unlink(missing_ok=True)
        for name, data in result["files"].items():
            write_atomic(self.folder / name, data)
        summary = {**result["summary"], "trained_on": self.where}
        write_atomic(self.folder / SUMMARY, json.dumps(summary, indent=2).encode())
        status = summary["train"]["status"]
        error = summary["train"]["message"] if status == "diverged" else ""
        self._end(JobState.STOPPED if status == "stopped" else JobState.FINISHED, error, summary)

    def _end(self, state: JobState, error: str = "", summary: dict | None = None) -> None:
        """The run has ended: end its actor (its CPU frees at once) and keep what its page shows."""
        with self.lock:
            if not self.active:
                return
            self.state, self.error, self.queue_position, self.queue_length = state, error, None, 0
            if summary is not None:
                self.summary = summary
        ray.kill(self.actor, no_restart=True)
        self.ended.set()


class RayBackend(JobBackend):
    """Trains each job as an actor on a Ray cluster: the cluster's CPUs are the slots, Ray's scheduler the queue.

    Arguments:
        runs_root: folder of this server where each job's run is saved when it ends.
        address: the cluster to join if this process has not (see `connect`); None starts a local one.
        max_concurrent: not a limit here (the cluster's size is); accepted so `from_env` builds every backend.
        max_queued: jobs of this backend allowed to wait for a free CPU (None: no limit).
        max_runs_per_session: runs one owner may keep on disk (None: no limit).
        max_session_disk_mb: megabytes of run folders one owner may keep on disk (None: no limit).
        keep_finished: ended jobs remembered per owner (the newest); older ones are forgotten.
        use_gpu: each run asks for one GPU instead of a CPU where the cluster has a GPU.

    The per-owner limits are those of the local backend: one job training or waiting per
    owner, and a bounded number of runs and megabytes on disk.
    """

    def __init__(self, runs_root=None, address: str | None = None, max_concurrent: int = JobLimits.max_concurrent,
                 max_queued: int | None = JobLimits.max_queued,
                 max_runs_per_session: int | None = JobLimits.max_runs_per_session,
                 max_session_disk_mb: float | None = JobLimits.max_session_disk_mb, keep_finished: int = 3,
                 use_gpu: bool = False):
        connect(address)
        self.runs_root = Path(runs_root) if runs_root is not None else default_runs_root()
        self.max_queued = max_queued
        self.max_runs_per_session = max_runs_per_session
        self.max_session_disk_mb = max_session_disk_mb
        self.keep_finished = keep_finished
        self.use_gpu = use_gpu
        self._jobs: dict[str, RayJob] = {}
        self._owners = OwnerLedger()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._capacity: tuple[float, Capacity] | None = None
        self._watcher = threading.Thread(target=self._watch, name="genlab-ray-watcher", daemon=True)
        self._watcher.start()

    @property
    def max_concurrent(self) -> int:
        """How many runs train at once: the cluster's GPUs when runs ask for one each, else its CPUs."""
        return self.capacity().slots(self.use_gpu)

    def capacity(self) -> Capacity:
        """The cluster's nodes, CPUs and GPUs, all and free (asked of Ray at most every CAPACITY_SECONDS)."""
        now = time.monotonic()
        if self._capacity is None or now - self._capacity[0] > CAPACITY_SECONDS:
            self._capacity = now, cluster_capacity()
        return self._capacity[1]

    def start(self, model: GenerativeModel, ds: Dataset, seconds: float = 30.0, seed: int = 0,
              owner: str | None = None, name: str | None = None, session: str | None = None,
              runs_root=None) -> RayJob:
        """Send `model` and `ds` to a new actor that trains as soon as the cluster has room; returns the job.

        Its run comes back into `runs_root` (the backend's own by default) when it ends."""
        gpu = self.use_gpu and self.capacity().gpus > 0
        resources = {"num_cpus": 0, "num_gpus": 1} if gpu else {"num_cpus": 1}
        with self._lock:
            check_open(self._closed.is_set(), self.max_concurrent)
            if owner is not None:
                self._owners.check(owner, self._jobs.values(), self.max_runs_per_session, self.max_session_disk_mb)
            check_queue(self._training(), self._waiting(), self.max_concurrent, self.max_queued)
            job_id, folder = self._new_job(model, ds, name, runs_root)
            job = RayJob(job_id, model, ds, float(seconds), int(seed), folder, owner, resources, session=session)
            self._jobs[job_id] = job
            if owner is not None:
                self._owners.add(owner, job.folder)
            self._number_queue()
        return job

    def load(self) -> dict:
        """How busy the cluster is for this server: its jobs training and waiting, the cluster's size."""
        with self._lock:
            return {"training": self._training(), "queued": self._waiting(), "max_concurrent": self.max_concurrent,
                    "max_queued": self.max_queued}

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every job, wait for them to be saved, end their actors; no job starts afterwards."""
        for job in self.jobs():
            job.stop()
        deadline = time.monotonic() + timeout
        for job in self.jobs():
            job.join(max(0.0, deadline - time.monotonic()))
        self._closed.set()
        for job in self.jobs():
            if job.active:
                job._end(JobState.STOPPED)

    # ---- under self._lock -------------------------------------------------------------
    def _training(self) -> int:
        return sum(j.state.training for j in self._jobs.values())

    def _waiting(self) -> int:
        return sum(j.state is JobState.QUEUED for j in self._jobs.values())

    def _number_queue(self) -> None:
        """Queue positions: the order among this backend's actors Ray has not placed yet, oldest first."""
        queued = sorted((j for j in self._jobs.values() if j.state is JobState.QUEUED), key=lambda j: j.created)
        for position, job in enumerate(queued, 1):
            with job.lock:
                job.queue_position, job.queue_length = position, len(queued)

    def _forget_ended(self) -> None:
        """Forget ended jobs beyond the newest `keep_finished` of each owner, and those of released owners."""
        kept: dict[str | None, int] = {}
        for job in sorted(self._jobs.values(), key=lambda j: j.created, reverse=True):
            if job.active:
                continue
            kept[job.owner] = kept.get(job.owner, 0) + 1
            released = job.owner is not None and job.owner not in self._owners
            if kept[job.owner] > self.keep_finished or released:
                del self._jobs[job.id]

    # ---- the watcher thread -----------------------------------------------------------
    def _watch(self) -> None:
        """About once a second, or as soon as an actor starts or ends: pull every active job's news."""
        while not self._closed.is_set():
            tick = time.monotonic()
            jobs = self.active()
            if jobs:
                ray.wait([j.waiting_on() for j in jobs], num_returns=1, timeout=POLL_SECONDS)
            else:
                self._closed.wait(POLL_SECONDS)
            for job in jobs:
                job.update()
            with self._lock:
                self._forget_ended()
                self._number_queue()
            self._closed.wait(max(0.0, tick + POLL_SECONDS / 4 - time.monotonic()))  # never a busy loop
