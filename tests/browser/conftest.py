"""The browser tests' server and Chromium: `streamlit run app.py` on a free port, runs in a temporary folder."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genlab.health import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SLOW = 90_000  # ms: the first visit to a page may fit baselines or start a run on a busy 2-core box


def unavailable(reason: str):
    if os.environ.get("GENLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (GENLAB_REQUIRE_BROWSER=1 requires the browser tests to run)")
    pytest.skip(reason)


def chromium_path() -> str:
    path = os.environ.get("GENLAB_CHROMIUM", "/usr/bin/chromium")
    found = path if os.path.exists(path) else shutil.which("chromium")
    if found is None:
        unavailable(f"no Chromium at {path} or on PATH; install it with `apt-get install -y chromium`")
    return found


@pytest.fixture(scope="module")
def browser_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def app_url(browser_folder):
    chromium_path()
    folder = browser_folder
    port = free_port()
    env = {**os.environ, "GENLAB_RUNS": str(folder / "runs"), "GENLAB_THREADS": "1",
           "GENLAB_DATA_ROOT": str(folder / "no-data")}
    log = (folder / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(app_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(SLOW)
    yield page
    context.close()


