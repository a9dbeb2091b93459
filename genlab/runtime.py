"""Process-wide settings: how many CPU threads torch may use."""
from __future__ import annotations

import os
import threading

import torch

__all__ = ["set_threads", "default_threads", "resolve_device", "process_group", "yield_to_pages", "TRAINING_NICENESS"]

TRAINING_NICENESS = 10  # how far a job's training steps back for the pages (0: not at all; 19 the most)


def default_threads() -> int:
    """One intra-op thread unless GENLAB_THREADS says otherwise.

    PyTorch's intra-op pool is shared by every training thread of a process. On a
    2-core box, two threads per job with another job running made a small flow 68x
    slower (docs/DESIGN.md); small models train fastest on one thread each, and
    concurrency comes from running jobs side by side.
    """
    value = os.environ.get("GENLAB_THREADS", "1")
    try:
        return max(1, int(value))
    except ValueError:
        raise ValueError(f"GENLAB_THREADS must be a whole number; got {value!r}.") from None


def set_threads(n: int | None = None) -> int:
    """Pin torch's intra-op threads (default: `default_threads()`); returns the number set."""
    n = n or default_threads()
    torch.set_num_threads(n)
    return n


def yield_to_pages(niceness: int | None = None) -> int:
    """Lower the calling thread's CPU priority (Linux schedules each thread on its own: this is one job's training
    thread, in the web server or in a Ray actor, never a thread that serves pages). Where training and the
    pages share cores, a page's rerun then gets the CPU first and training takes what is left: on an idle machine a run
    is as fast as before. `GENLAB_TRAINING_NICENESS` sets how far (0 turns it off). Returns the niceness now;
    a platform without per-thread priorities keeps its own."""
    if niceness is None:
        value = os.environ.get("GENLAB_TRAINING_NICENESS", str(TRAINING_NICENESS))
        try:
            niceness = min(19, max(0, int(value)))
        except ValueError:
            raise ValueError(f"GENLAB_TRAINING_NICENESS must be a whole number 0-19; got {value!r}.") from None
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return 0
    me = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, me)
        os.setpriority(os.PRIO_PROCESS, me, max(now, niceness))  # only ever lower: raising needs privileges
        return os.getpriority(os.PRIO_PROCESS, me)
    except OSError:
        return 0


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" (CUDA when present, else CPU), "cpu" or "cuda"; a missing GPU is a plain error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU here; use --device cpu or auto.")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda; got {name!r}.")
    return torch.device(name)


def process_group() -> dict:
    """How many processes train together: {"world_size": n, "backend": "gloo" | "nccl"} inside a
    torchrun launch (genlab.distributed), {"world_size": 1, "backend": None} alone."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return {"world_size": dist.get_world_size(), "backend": dist.get_backend()}
    return {"world_size": 1, "backend": None}
