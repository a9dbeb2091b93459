"""Findings of a hostile review (issue 14) in a real browser: the server's memory under the worst upload."""
import os
from pathlib import Path

import pytest

from tests.browser.test_browser import assert_no_exception, choose, heading, settle

pytestmark = pytest.mark.browser

FILES, FILE_MB = 40, 19  # each under the sidebar's 20 MB per file; nothing caps how many
MAX_GROWTH_MB = 600  # issue 14: the server's memory grows by less than this under any single upload


def server_rss_mb(app_url: str) -> float:
    """Resident memory of the streamlit process serving app_url (found by its --server.port), in MB."""
    port = app_url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
            status = (proc / "status").read_text()
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and port.encode() in args:
            kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
            return int(kb) / 1024
    raise AssertionError(f"no streamlit process on port {port}")


def test_many_large_files_in_one_upload_keep_the_servers_memory_bounded(browser, app_url, tmp_path):
    """Forty 19 MB files named .png in one sidebar upload: each passes the per-file cap, the workspace's
    300 MB disk budget refuses them only after all were received, and the uploader keeps them in the
    server's memory (measured: +1.3 GB at the peak, +0.77 GB while the tab stays open)."""
    junk = os.urandom(FILE_MB * 2**20)
    paths = []
    for i in range(FILES):
        path = tmp_path / f"j{i}.png"
        path.write_bytes(junk[: -i - 1])
        paths.append(str(path))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{app_url}/data")
        heading(page, "Data").wait_for()
        before = server_rss_mb(app_url)
        choose(page, "Dataset", "Your images…", where="stSidebar")
        page.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type="file"]').set_input_files(
            paths)
        peak = before
        for _ in range(60):
            page.wait_for_timeout(500)
            peak = max(peak, server_rss_mb(app_url))
        settle(page)
        assert_no_exception(page)
        assert peak - before < MAX_GROWTH_MB, f"the server grew by {peak - before:.0f} MB"
    finally:
        context.close()
