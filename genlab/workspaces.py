"""Workspaces: on one shared server, each visitor's runs, uploads and drawings in a folder of their own.

A visitor holds a workspace *token*, a random secret their browser keeps. The server never
stores the token: a workspace lives under a digest of it, so a folder name, a listing or an
error message grants nothing. Other visitors see a run only through a *share token*: an
unguessable name for exactly one run, resolved through an index, never a folder name.

Layout under the runs root (the CLI's own runs and the pretrained zoo sit directly in the
root and are the server's public runs):

    workspaces/<id>/runs/<run>/      a visitor's runs (id = digest of their token)
    workspaces/<id>/uploads/         their uploaded image sets
    workspaces/<id>/.last_used       its modification time is the workspace's last use
    shares/<share token>.json        {"workspace": id, "run": name}

Example:
    >>> store = WorkspaceStore("runs")
    >>> token = new_token()
    >>> space = store.open(token)          # the same token always opens the same workspace
    >>> share = store.share(space, space.runs / "vae-digits")
    >>> store.shared_run(share)             # -> Path of that run, for anyone holding `share`
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace", "WorkspaceStore", "new_token", "is_token", "folder_bytes", "disk_has_room"]

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")  # what new_token makes: 24 random bytes, URL-safe
WORKSPACES, SHARES, LAST_USED = "workspaces", "shares", ".last_used"
DAY = 24 * 3600.0


def new_token() -> str:
    """A fresh secret: 24 random bytes (192 bits), 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def is_token(text: object) -> bool:
    """True for text shaped like a token; anything else never reaches the file system."""
    return isinstance(text, str) and TOKEN_PATTERN.fullmatch(text) is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under a folder (0 if it does not exist)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).exists() else 0


def disk_has_room(folder: Path, min_free_mb: float) -> bool:
    """Whether the disk holding `folder` still has `min_free_mb` megabytes free."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free >= min_free_mb * 2**20


@dataclass(frozen=True)
class Workspace:
    """One visitor's folder: their runs and uploads. `id` names the folder and is not a secret."""

    id: str
    folder: Path

    @property
    def runs(self) -> Path:
        return self.folder / "runs"

    @property
    def uploads(self) -> Path:
        return self.folder / "uploads"

    def touch(self) -> None:
        """Stamp a use, so the workspace does not expire while its visitor is around."""
        (self.folder / LAST_USED).touch()

    def last_used(self) -> float:
        stamp = self.folder / LAST_USED
        return stamp.stat().st_mtime if stamp.exists() else self.folder.stat().st_mtime

    def disk_bytes(self) -> int:
        return folder_bytes(self.folder)

    def owns(self, folder: Path) -> bool:
        """Whether a run folder lies inside this workspace's runs."""
        try:
            return Path(folder).resolve().parent == self.runs.resolve()
        except OSError:
            return False


class WorkspaceStore:
    """Every workspace and share on one server, under one runs root.

    Arguments:
        root: the runs root; workspaces and shares live in sub-folders of it.
        idle_days: a workspace unused for this long is deleted by `expire_idle`, with its shares.
    """

    def __init__(self, root, idle_days: float = 2.0):
        if not idle_days > 0:
            raise ValueError(f"idle_days must be a positive number of days; got {idle_days!r}.")
        self.root = Path(root)
        self.idle_days = float(idle_days)

    @classmethod
    def from_env(cls, root) -> "WorkspaceStore":
        """A store whose idle time comes from GENLAB_WORKSPACE_IDLE_DAYS (default 2)."""
        raw = os.environ.get("GENLAB_WORKSPACE_IDLE_DAYS", "2")
        try:
            return cls(root, idle_days=float(raw))
        except ValueError:
            raise ValueError(f"GENLAB_WORKSPACE_IDLE_DAYS must be a positive number of days; got {raw!r}.") from None

    # ---- workspaces -------------------------------------------------------------------
    def open(self, token: str) -> Workspace:
        """The workspace a token opens, made on first use. Raises ValueError for a malformed token."""
        if not is_token(token):
            raise ValueError("That workspace key is not one GenLab made; a new workspace was opened instead.")
        space = Workspace(_digest(token), self.root / WORKSPACES / _digest(token))
        space.runs.mkdir(parents=True, exist_ok=True)
        space.uploads.mkdir(parents=True, exist_ok=True)
        space.touch()
        return space

    def workspaces(self) -> list[Workspace]:
        folder = self.root / WORKSPACES
        return [Workspace(p.name, p) for p in sorted(folder.iterdir()) if p.is_dir()] if folder.exists() else []

    def expire_idle(self, now: float | None = None) -> list[str]:
        """Delete workspaces unused for `idle_days`, and the shares that pointed into them; returns their ids."""
        now = time.time() if now is None else now
        expired = [space for space in self.workspaces() if now - space.last_used() > self.idle_days * DAY]
        for space in expired:
            shutil.rmtree(space.folder, ignore_errors=True)
        if expired:
            self._drop_dangling_shares()
        return [space.id for space in expired]

    # ---- shares -----------------------------------------------------------------------
    def share(self, space: Workspace, run_folder: Path) -> str:
        """A share token for one of this workspace's runs (the same token each time it is asked for)."""
        run_folder = Path(run_folder)
        if not space.owns(run_folder) or not run_folder.is_dir():
            raise ValueError("Only a run of your own workspace can be shared.")
        for token, entry in self._share_entries():
            if entry == {"workspace": space.id, "run": run_folder.name}:
                return token
        token = new_token()
        shares = self.root / SHARES
        shares.mkdir(parents=True, exist_ok=True)
        staging = shares / f".{token}.part"
        staging.write_text(json.dumps({"workspace": space.id, "run": run_folder.name}))
        staging.rename(shares / f"{token}.json")
        return token

    def unshare(self, space: Workspace, token: str) -> bool:
        """Withdraw a share of this workspace's; True if there was one."""
        entry = self._share_entry(token)
        if entry is None or entry["workspace"] != space.id:
            return False
        (self.root / SHARES / f"{token}.json").unlink(missing_ok=True)
        return True

    def shared_run(self, token: str) -> Path | None:
        """The run folder a share token names, or None (malformed, withdrawn, expired or deleted)."""
        entry = self._share_entry(token)
        if entry is None:
            return None
        folder = self.root / WORKSPACES / entry["workspace"] / "runs" / entry["run"]
        return folder if folder.is_dir() else None

    def _share_entry(self, token: str) -> dict | None:
        if not is_token(token):
            return None
        try:
            entry = json.loads((self.root / SHARES / f"{token}.json").read_text())
        except (OSError, ValueError):
            return None
        ok = (isinstance(entry, dict) and set(entry) == {"workspace", "run"}
              and all(isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,128}", v) and v not in (".", "..")
                      for v in entry.values()))
        return entry if ok else None

    def _share_entries(self):
        folder = self.root / SHARES
        for path in sorted(folder.glob("*.json")) if folder.exists() else ():
            entry = self._share_entry(path.stem)
            if entry is not None:
                yield path.stem, entry

    def _drop_dangling_shares(self) -> None:
        for token, _ in list(self._share_entries()):
            if self.shared_run(token) is None:
                (self.root / SHARES / f"{token}.json").unlink(missing_ok=True)
