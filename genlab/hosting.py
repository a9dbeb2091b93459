"""Hosting one link for a room of strangers: the budgets each visitor gets, and the server's cleanup.

What a visitor may cost is capped three ways, each from the environment:

    GENLAB_WORKSPACE_DISK_MB   megabytes one workspace (runs and uploads) may hold (default 300)
    GENLAB_JOBS_PER_ADDRESS    jobs one client address may have training or waiting (default 2)
    GENLAB_MIN_FREE_MB         new runs and uploads are refused below this much free disk (default 500)

A client address is the connection's own, or the first X-Forwarded-For hop when
GENLAB_TRUST_PROXY=1 (only behind a proxy that sets that header itself: a visitor can
write any X-Forwarded-For they like). Behind a proxy without it, every visitor has the
proxy's address and shares one cap. The server-wide share of training is the job
backend's (GENLAB_MAX_JOBS, GENLAB_MAX_QUEUE; see genlab.jobs.JobLimits).

`Housekeeper` cleans up: half-written runs at start-up, idle workspaces and rooms at
start-up and then at most every ten minutes.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from genlab.jobs.base import CapacityError, JobBackend
from genlab.rooms import RoomStore
from genlab.runs import clean_partial_runs
from genlab.workspaces import Workspace, WorkspaceStore, disk_has_room

__all__ = ["HostLimits", "AddressBook", "client_address", "Housekeeper", "HOUSEKEEPING_SECONDS"]

HOUSEKEEPING_SECONDS = 600.0  # idle workspaces and rooms are looked for at most this often
log = logging.getLogger(__name__)


def _env_number(name: str, default: str, what: str) -> float:
    raw = os.environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ValueError(f"{name} must be {what} (0 or more); got {raw!r}.")
    return value


@dataclass(frozen=True)
class HostLimits:
    """What one visitor may cost: disk per workspace, jobs per client address, free disk kept for everyone."""

    workspace_disk_mb: float = 300.0
    jobs_per_address: int = 2
    min_free_mb: float = 500.0

    @classmethod
    def from_env(cls) -> HostLimits:
        """Limits from GENLAB_WORKSPACE_DISK_MB, GENLAB_JOBS_PER_ADDRESS and GENLAB_MIN_FREE_MB."""
        return cls(workspace_disk_mb=_env_number("GENLAB_WORKSPACE_DISK_MB", "300", "a number of megabytes"),
                   jobs_per_address=int(_env_number("GENLAB_JOBS_PER_ADDRESS", "2", "a whole number of jobs")),
                   min_free_mb=_env_number("GENLAB_MIN_FREE_MB", "500", "a number of megabytes"))

    def check_disk(self, space: Workspace, adding_bytes: int = 0) -> None:
        """Raise CapacityError, in plain words, if the disk is nearly full or the workspace holds its share."""
        if not disk_has_room(space.folder, self.min_free_mb):
            raise CapacityError("The server's disk is nearly full, so no new runs or uploads are taken for now. "
                                "The saved runs can still be explored; try again later.")
        used_mb = (space.disk_bytes() + adding_bytes) / 2**20
        if used_mb > self.workspace_disk_mb:
            raise CapacityError(f"Your workspace would hold {used_mb:.0f} MB, more than one visitor may keep "
                                f"({self.workspace_disk_mb:g} MB). Delete some runs on the Compare page first.")

    def check_address(self, backend: JobBackend, sessions_of_address: set[str]) -> None:
        """Raise CapacityError if the tabs of one client address already have their share of jobs."""
        active = sum(job.session in sessions_of_address for job in backend.active())
        if active >= self.jobs_per_address:
            raise CapacityError(f"Your network already has {active} jobs training or waiting, the most one address "
                                f"may have ({self.jobs_per_address}). Wait for one to finish, then press Start again.")


class AddressBook:
    """Which sessions (browser tabs) came from which client address, so jobs can be counted per address."""

    def __init__(self):
        self._sessions: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add(self, address: str, session: str) -> set[str]:
        """Note that `session` came from `address`; returns every session seen from that address."""
        with self._lock:
            sessions = self._sessions.setdefault(address, set())
            sessions.add(session)
            return set(sessions)

    def forget(self, session: str) -> None:
        with self._lock:
            for address, sessions in list(self._sessions.items()):
                sessions.discard(session)
                if not sessions:
                    del self._sessions[address]


def client_address(ip_address: str | None, forwarded_for: str | None,
                   trust_proxy: bool | None = None) -> str | None:
    """The visitor's address: behind one trusted proxy, the X-Forwarded-For hop that proxy appended (the
    last: anything before it is what the client itself sent, and can be made up); else the connection's own.

    None when there is none (Streamlit gives none for a browser on the server's own machine),
    which no per-address cap applies to. `trust_proxy` defaults to GENLAB_TRUST_PROXY=1.
    """
    if trust_proxy is None:
        trust_proxy = os.environ.get("GENLAB_TRUST_PROXY") == "1"
    if trust_proxy and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last
    return ip_address or None


class Housekeeper:
    """The server's cleanup: half-written runs once at start-up, idle workspaces and rooms now and then.

    Arguments:
        root: the runs root.
        workspaces, rooms: the stores whose idle entries expire.
        every_seconds: idle entries are looked for at most this often.
    """

    def __init__(self, root, workspaces: WorkspaceStore, rooms: RoomStore,
                 every_seconds: float = HOUSEKEEPING_SECONDS):
        self.root = Path(root)
        self.workspaces = workspaces
        self.rooms = rooms
        self.every_seconds = every_seconds
        self._last = -float("inf")
        self._lock = threading.Lock()

    def start_up(self) -> list[str]:
        """At server start, before any training: delete what interrupted saves left; then expire idle entries."""
        removed = clean_partial_runs(self.root)
        for space in self.workspaces.workspaces():
            removed += [f"{space.id}/{name}" for name in clean_partial_runs(space.runs)]
        if removed:
            log.info("Removed %d half-written run file(s) or folder(s) at start-up.", len(removed))
        self.expire(force=True)
        return removed

    def expire(self, now: float | None = None, force: bool = False) -> tuple[list[str], list[str]]:
        """Delete idle workspaces and rooms, unless that was done less than `every_seconds` ago."""
        now = time.time() if now is None else now
        with self._lock:
            if not force and now - self._last < self.every_seconds:
                return [], []
            self._last = now
        spaces, rooms = self.workspaces.expire_idle(now), self.rooms.expire_idle(now)
        if spaces or rooms:
            log.info("Expired %d idle workspace(s) and %d idle room(s).", len(spaces), len(rooms))
        return spaces, rooms
