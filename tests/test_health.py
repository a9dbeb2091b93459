"""The health check helpers: a free port, and waiting for a server that answers "ok"."""
import http.server
import subprocess
import sys
import threading

import pytest

from genlab.health import free_port, healthy, wait_healthy


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok" if self.path.endswith("/_stcore/health") else b"no"
        self.send_response(200 if body == b"ok" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_answers_ok_is_healthy_under_a_path_prefix_too():
    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", timeout=10)
        assert healthy(f"http://127.0.0.1:{port}/genlab/")
    finally:
        server.shutdown()
    assert not healthy(f"http://127.0.0.1:{port}", timeout=0.5)  # nothing listens any more


def test_waiting_fails_fast_when_the_server_process_exits():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="exited with code 3"):
        wait_healthy(f"http://127.0.0.1:{free_port()}", process, timeout=10)
