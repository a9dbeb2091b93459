"""Is a GenLab server up? Streamlit's health check, and a free local port to start one on.

The app answers `GET /_stcore/health` with "ok" once it serves (under a URL path prefix,
`/<prefix>/_stcore/health`): what a host's health check, the browser tests and the load
test wait for.
"""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

__all__ = ["free_port", "healthy", "wait_healthy"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether the app at `url` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_stcore/health", timeout=timeout) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 90.0) -> None:
    """Wait until the app at `url` is healthy; fail early if its `process` exits, or after `timeout` s."""
    end = time.time() + timeout
    while time.time() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        if healthy(url):
            return
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")
