"""How long the server spends on each script run, logged for the load test (scripts/loadtest.py).

Set GENLAB_TIMING_LOG to a file path and every full run of app.py and every run of a
ticking fragment appends one JSON line: when it ended, what ran, how long it took and how
it ended ("ok", or the exception's name: RerunException and StopException are Streamlit's
own ways to end a run early). Unset, nothing is measured or written.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager

__all__ = ["TIMING_LOG_ENV", "timed_run"]

TIMING_LOG_ENV = "GENLAB_TIMING_LOG"
_lock = threading.Lock()  # sessions run in threads of one process; one line per write


@contextmanager
def timed_run(kind: str, name: str):
    """Time the block as one run of `kind` ("full" or "fragment") named `name` (a page, a panel)."""
    path = os.environ.get(TIMING_LOG_ENV)
    if not path:
        yield
        return
    begun, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException as exc:
        outcome = type(exc).__name__
        raise
    finally:
        line = json.dumps({"ended": round(time.time(), 3), "kind": kind, "name": name,
                           "seconds": round(time.perf_counter() - begun, 4), "outcome": outcome})
        with _lock, open(path, "a") as log:
            log.write(line + "\n")
