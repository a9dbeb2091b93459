"""How much one browser session may hold in the server's memory through file uploaders.

Streamlit keeps every uploaded file in the server's memory, in full, until its session ends
or the browser removes it, and a multi-file uploader has no limit on how many files it
takes: forty 19 MB files in one drop held 1.5 GB of a hosted server. Two things bound it:

- a budget per session, checked as each file arrives (`install`, once per server): a file
  that would take a session past `GENLAB_UPLOAD_MB` (default 64) megabytes is answered
  "413 too large" and never stored, so at most one file in flight is held beyond the budget;
- `release`: once a page has read an upload (saved it to the workspace, or refused it), the
  files leave the server's memory at once instead of staying until the tab closes.

This reaches into Streamlit's upload manager (`MemoryUploadedFileManager`, Streamlit 1.67);
where the running server has another manager, or none (AppTest), it does nothing.
"""
from __future__ import annotations

import os
import threading

from starlette.exceptions import HTTPException
from streamlit.runtime import Runtime
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

__all__ = ["session_upload_bytes", "install", "release"]

_INSTALL_LOCK = threading.Lock()


def session_upload_bytes() -> int:
    """The per-session budget from GENLAB_UPLOAD_MB (megabytes; default 64)."""
    raw = os.environ.get("GENLAB_UPLOAD_MB", "64")
    try:
        return int(max(1.0, float(raw)) * 2**20)
    except ValueError:
        raise ValueError(f"GENLAB_UPLOAD_MB must be a number of megabytes; got {raw!r}.") from None


def _manager() -> MemoryUploadedFileManager | None:
    if not Runtime.exists():
        return None
    manager = Runtime.instance().uploaded_file_mgr
    return manager if isinstance(manager, MemoryUploadedFileManager) else None


def install() -> None:
    """Check every arriving file against its session's budget (idempotent; once per server)."""
    manager = _manager()
    if manager is None or getattr(manager, "_genlab_budget", None) is not None:
        return
    with _INSTALL_LOCK:
        if getattr(manager, "_genlab_budget", None) is not None:
            return
        budget = session_upload_bytes()
        add_file = manager.add_file

        def add_within_budget(session_id, file):
            with manager._lock:
                held = sum(len(f.data) for f in manager.file_storage.get(session_id, {}).values()
                           if f.file_id != file.file_id)
            if held + len(file.data) > budget:
                raise HTTPException(status_code=413, detail=f"This upload is over the {budget // 2**20} MB one "
                                                            "visitor may send at once.")
            add_file(session_id, file)

        manager.add_file = add_within_budget
        manager._genlab_budget = budget


def release(files) -> None:
    """Drop files a page has read from the server's memory (objects from `st.file_uploader`)."""
    manager, ctx = _manager(), get_script_run_ctx()
    if manager is None or ctx is None:
        return
    for file in files:
        manager.remove_file(ctx.session_id, file.file_id)
