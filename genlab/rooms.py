"""Rooms: a workshop's shared board, where visitors publish runs and race families on the same yardsticks.

A teacher opens a room and reads its short code out to the class; a visitor who joins the
room may publish any of their own runs to it and withdraw it again. Publishing gives the
room a share token of that run (see `genlab.workspaces`), never a folder, so the board can
show and rank the run while its workspace stays private. A room lives as small JSON files:

    rooms/<CODE>/room.json                 {"created": t, "owner": workspace id}
    rooms/<CODE>/entries/<share>.json      {"workspace": id, "by": display name, "published": t}

Example:
    >>> rooms = RoomStore("runs", workspaces)
    >>> code = rooms.create(teacher_space)
    >>> rooms.publish(code, student_space, student_space.runs / "made-digits", by="Ada")
    >>> rooms.board(code)          # runs as `list_runs` returns them, with "by" and "share"
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from pathlib import Path

from genlab.runs import list_run_folder
from genlab.workspaces import DAY, Workspace, WorkspaceStore, is_token

__all__ = ["RoomStore", "normalise_code", "CODE_LENGTH"]

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read out loud to a room
CODE_LENGTH = 5
MAX_NAME = 40
ROOMS = "rooms"


def normalise_code(text: object) -> str | None:
    """A room code as typed ("ab c7k" -> "ABC7K"), or None if it cannot be one."""
    if not isinstance(text, str):
        return None
    code = re.sub(r"[\s-]", "", text).upper()
    return code if len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code) else None


def _display_name(by: object) -> str:
    """A publisher's name as plain text: printable, one line, at most MAX_NAME characters."""
    name = "".join(ch for ch in str(by or "") if ch.isprintable()).strip()[:MAX_NAME]
    return name or "anonymous"


class RoomStore:
    """Every room on one server.

    Arguments:
        root: the runs root; rooms live in its `rooms/` folder.
        workspaces: the server's workspaces, which resolve the share tokens rooms hold.
        idle_days: a room nobody published to or read for this long is deleted by `expire_idle`.
    """

    def __init__(self, root, workspaces: WorkspaceStore, idle_days: float = 2.0):
        self.folder = Path(root) / ROOMS
        self.workspaces = workspaces
        self.idle_days = float(idle_days)

    def create(self, owner: Workspace) -> str:
        """Open a new room; returns its code."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                (self.folder / code).mkdir()
            except FileExistsError:
                continue
            (self.folder / code / "entries").mkdir()
            (self.folder / code / "room.json").write_text(json.dumps({"created": time.time(), "owner": owner.id}))
            return code
        raise RuntimeError("Could not find a free room code; too many rooms are open.")

    def exists(self, code: str) -> bool:
        code = normalise_code(code)
        return code is not None and (self.folder / code / "room.json").is_file()

    def is_owner(self, code: str, space: Workspace) -> bool:
        room = self._room(code)
        return room is not None and room.get("owner") == space.id

    def publish(self, code: str, space: Workspace, run_folder: Path, by: str = "") -> str:
        """Publish one of `space`'s runs to the room under a display name; returns the run's share token."""
        entries = self._entries_folder(code)
        token = self.workspaces.share(space, run_folder)
        record = {"workspace": space.id, "by": _display_name(by), "published": time.time()}
        staging = entries / f".{token}.part"
        staging.write_text(json.dumps(record))
        staging.rename(entries / f"{token}.json")
        return token

    def withdraw(self, code: str, space: Workspace, share: str) -> bool:
        """Take a run this workspace published off the board; True if it was there."""
        entries = self._entries_folder(code)
        entry = self._entry(entries, share)
        if entry is None or entry["workspace"] != space.id:
            return False
        (entries / f"{share}.json").unlink(missing_ok=True)
        return True

    def board(self, code: str) -> list[dict]:
        """The room's published runs that still exist, as `list_runs` rows with "by", "share" and "mine" added."""
        entries = self._entries_folder(code)
        (entries.parent / "room.json").touch()
        rows = []
        for path in sorted(entries.glob("*.json")):
            entry = self._entry(entries, path.stem)
            folder = self.workspaces.shared_run(path.stem) if entry else None
            run = list_run_folder(folder) if folder is not None else None
            if run is not None:
                rows.append({**run, "by": entry["by"], "share": path.stem, "workspace": entry["workspace"]})
        return rows

    def expire_idle(self, now: float | None = None) -> list[str]:
        """Delete rooms untouched for `idle_days`; returns their codes."""
        now = time.time() if now is None else now
        gone = []
        for room in sorted(self.folder.iterdir()) if self.folder.exists() else ():
            stamp = room / "room.json"
            if not stamp.exists() or now - stamp.stat().st_mtime > self.idle_days * DAY:
                shutil.rmtree(room, ignore_errors=True)
                gone.append(room.name)
        return gone

    # ---- files ------------------------------------------------------------------------
    def _room(self, code: str) -> dict | None:
        code = normalise_code(code)
        try:
            return json.loads((self.folder / code / "room.json").read_text()) if code else None
        except (OSError, ValueError):
            return None

    def _entries_folder(self, code: str) -> Path:
        if self._room(code) is None:
            raise ValueError("There is no room with that code here; check the code on the projector.")
        return self.folder / normalise_code(code) / "entries"

    @staticmethod
    def _entry(entries: Path, share: str) -> dict | None:
        if not is_token(share):
            return None
        try:
            entry = json.loads((entries / f"{share}.json").read_text())
        except (OSError, ValueError):
            return None
        if not (isinstance(entry, dict) and isinstance(entry.get("workspace"), str)):
            return None
        return {"workspace": entry["workspace"], "by": _display_name(entry.get("by"))}
