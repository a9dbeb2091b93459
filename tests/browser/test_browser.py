"""The app in a real browser: every page loads, a short run trains and reports, no exception shows.

Starts `streamlit run app.py` on a free port with runs written to a temporary folder and
drives Debian's Chromium through Playwright, so `run_every` fragments really tick.
Skipped when no Chromium is installed, unless GENLAB_REQUIRE_BROWSER=1.
"""
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genlab.health import free_port, wait_healthy

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PAGE_TITLES = {"Home": "GenLab", "Data": "Data", "Train": "Train", "Density": "Density", "Samples": "Samples",
               "Latent": "Latent", "Compare": "Compare", "Concepts": "Concepts"}
SLOW = 90_000  # ms: the first visit to a page may fit baselines or start a run on a busy 2-core box
WATCH_SECONDS = 20  # how long a training page is watched redrawing by itself
STILL_SECONDS = 10.0  # a page standing still this long has stopped redrawing (it asks every second)
# Installed in the watched page: the times (ms) at which its live panel's status line changed.
REDRAW_RECORDER = """() => {
    window.redraws = [performance.now()];
    const line = () => [...document.querySelectorAll('[data-testid="stMain"] p')]
        .map(p => p.innerText).find(text => text.includes("— running")) || "";
    let last = line();
    new MutationObserver(() => {
        const now = line();
        if (now !== last) { last = now; window.redraws.push(performance.now()); }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


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


def assert_no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.first.inner_text()


def heading(page, name: str):
    return page.locator("h1").filter(has_text=re.compile("^" + re.escape(PAGE_TITLES[name])))


def open_page(page, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
    heading(page, name).first.wait_for()


def nav_labels(page) -> list[str]:
    links = page.locator('[data-testid="stSidebarNav"] a')
    return sorted(text.split("\n")[-1] for text in links.all_inner_texts())  # after the icon's ligature name


def test_a_deep_link_as_the_first_request_gets_the_apps_navigation(page, app_url):
    """First in the module, so it meets a fresh server: Streamlit's pages/ folder mode would run
    pages/train.py without app.py here (docs/DESIGN.md); the app sends it through app.py."""
    page.goto(f"{app_url}/train")
    heading(page, "Train").wait_for()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Compare").wait_for()
    assert nav_labels(page) == sorted(PAGE_TITLES)
    assert page.url.split("?")[0].rstrip("/").endswith("/train")
    assert_no_exception(page)


def test_every_page_in_the_navigation_loads(page, app_url):
    page.goto(app_url)
    heading(page, "Home").wait_for()
    assert nav_labels(page) == sorted(PAGE_TITLES)
    for name in PAGE_TITLES:
        open_page(page, name)
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.wait_for()
        assert_no_exception(page)
    open_page(page, "Data")
    page.get_by_text("Test NLL (nats)").first.wait_for()  # the two baselines were fitted
    assert_no_exception(page)


def settle(page) -> None:
    """Wait until the script run a widget change started has finished (the status widget goes)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=label)
    box.fill(value)
    box.press("Enter")
    settle(page)


def test_a_short_run_ticks_to_its_test_numbers(page, app_url):
    page.goto(f"{app_url}/train")
    heading(page, "Train").wait_for()
    page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
    page.keyboard.type("Gaussian mixture")  # the list of families is longer than the open menu
    page.get_by_role("option", name="Gaussian mixture").click()
    settle(page)
    set_number(page, "Num components", "4")
    set_number(page, "Seconds of training", "3")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("running").first.wait_for()
    # Only the ticking fragment can bring the final numbers: nobody touches the page meanwhile.
    page.get_by_text("Test split (best validation weights)").wait_for()
    page.get_by_text("Test KL (nats)").wait_for()
    page.get_by_text("exact log-likelihood").wait_for()
    assert_no_exception(page)
    open_page(page, "Compare")
    page.locator('[data-testid="stDataFrame"]').wait_for()
    assert_no_exception(page)


def test_a_training_page_keeps_redrawing_while_another_session_reruns(page, browser, app_url):
    """Nobody touches the training page: its status line ("running, 1.2 of 30 s") must change every few
    seconds by itself, while another session reruns its own page again and again (pages/_ui/live.py)."""
    page.goto(f"{app_url}/train")
    heading(page, "Train").wait_for()
    choose(page, "Model family", "Gaussian mixture")
    set_number(page, "Seconds of training", "60")
    page.get_by_role("button", name="Start").click()
    status = page.locator('[data-testid="stMain"] p').filter(has_text=re.compile("— running"))
    status.first.wait_for()
    elsewhere = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = elsewhere.new_page()
        other.set_default_timeout(SLOW)
        other.goto(f"{app_url}/data")
        heading(other, "Data").wait_for()
        page.evaluate(REDRAW_RECORDER)  # the page itself notes each change of its status line
        end = time.monotonic() + WATCH_SECONDS
        for seed in itertools.count(1):
            if time.monotonic() > end:
                break
            seed_box = other.get_by_role("spinbutton", name="Seed", exact=True)
            seed_box.fill(str(seed))
            seed_box.press("Enter")  # a full rerun of the other session
            other.wait_for_timeout(500)
        changes = page.evaluate("[...window.redraws, performance.now()]")
        gaps = [(later - earlier) / 1000 for earlier, later in zip(changes, changes[1:])]
    finally:
        elsewhere.close()
        page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop").click()
    assert len(gaps) - 1 >= WATCH_SECONDS / 4, f"the page redrew {len(gaps) - 1} times in {WATCH_SECONDS} s"
    assert max(gaps) < STILL_SECONDS, f"the page stood still for {max(gaps):.1f} s"
    assert_no_exception(page)


def png_bytes(pixels) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_density_scores_an_upload_and_a_drawing(page, browser, app_url, browser_folder):
    import genlab

    ds = genlab.load_dataset("digits")
    run = browser_folder / "runs" / "gaussian-digits"
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, run, seconds=1)
    page.goto(f"{app_url}/density")
    heading(page, "Density").wait_for()
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Digits 8×8 (scikit-learn)").click()
    settle(page)
    ink = np.full((40, 30), 255, np.uint8)
    ink[8:32, 12:18] = 0  # a dark stroke on paper
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([
        {"name": "digit.png", "mimeType": "image/png", "buffer": png_bytes(ink)},
        {"name": "broken.png", "mimeType": "image/png", "buffer": b"not a picture"},
    ])
    page.get_by_text("broken.png could not be read").wait_for()
    page.get_by_text("Percentile among test images").wait_for()
    assert_no_exception(page)
    page.get_by_role("radio", name="Draw", exact=True).click()
    settle(page)
    canvas = page.locator('[data-testid="stMain"] canvas').last
    scored = page.get_by_text("drawing — 280×280")  # the drawing, as the model sees it, was scored
    for attempt in range(3):  # a canvas still being set up by the page's first run can miss a stroke: draw again
        canvas.wait_for()
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.8, steps=12)
        page.mouse.up()
        try:
            scored.wait_for(timeout=SLOW // 4 if attempt < 2 else SLOW)
            break
        except Exception:
            settle(page)
    page.get_by_text("Percentile among test images").wait_for()
    assert_no_exception(page)
    page.get_by_text("Share this view").click()
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()
    assert "drawing=" in link and "input=draw" in link
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})  # another browser: only the link
    try:
        other = fresh.new_page()
        other.set_default_timeout(SLOW)
        other.goto(link)
        other.get_by_text("Percentile among test images").wait_for()
        assert lit_canvas(other), "the canvas opened empty"  # the canvas itself shows the drawing the link carries
        assert other.get_by_text("The canvas shows the drawing the link carries").count() or \
            other.get_by_text("drawing — 280×280").count()  # scored: as the link carries it, or as drawn there
        other.screenshot(path=artefacts_folder() / "density-shared-drawing.png", full_page=True)
        assert_no_exception(other)
    finally:
        fresh.close()


def lit_canvas(page, timeout: float = 60.0) -> bool:
    """Whether the drawing canvas shows a lit pixel within `timeout` s (fabric draws its scene on the lower of two
    stacked canvases, inside the component's shadow root, which Playwright's locators enter)."""
    canvas = page.locator("canvas.dc-canvas.lower-canvas").first  # not dc-background-canvas, also a lower-canvas
    canvas.wait_for()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if canvas.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                                     for (let i = 0; i < d.length; i += 4) if (d[i] > 128) return true;
                                     return false; }"""):
            return True
        page.wait_for_timeout(500)
    return False


def artefacts_folder() -> Path:
    """Where the walk's screenshots are kept: $GENLAB_ARTIFACTS, or artifacts/ in the checkout."""
    folder = Path(os.environ.get("GENLAB_ARTIFACTS", ROOT / "artifacts")) / "browser-walk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sample_traces(page) -> str:
    """The data of the sample grid drawn with seed 5, as the browser holds it."""
    page.get_by_text("samples · seed 5 · temperature 1").first.wait_for()
    figure = page.locator('[data-testid="stMain"] .js-plotly-plot').first
    figure.wait_for()
    return figure.evaluate("node => JSON.stringify(node.data)")


def choose(page, label_text: str, option: str, where: str = "stMain") -> None:
    """Pick `option` in the selectbox labelled `label_text`. A page still drawing its first run can replace the
    box between the click and the typing (its list then never opens): try again, up to three times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f'[data-testid="{where}"] [data-testid="stSelectbox"]').filter(has_text=label_text).first
    for attempt in range(3):
        box.click()
        page.keyboard.type(option)
        try:
            page.get_by_role("option", name=option).first.click(timeout=SLOW // 6 if attempt < 2 else SLOW)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            settle(page)
    settle(page)


def test_the_workshop_walk_from_home_to_a_shared_link(page, browser, app_url):
    """Home → Data → Train (a short VAE run, the chart ticks) → Samples → Density (upload) → Latent, then the
    sidebar's link opened in a fresh browser context shows the same samples. Screenshots go to artifacts/."""
    shots = artefacts_folder()
    page.goto(app_url)
    heading(page, "Home").wait_for()
    page.screenshot(path=shots / "1-home.png", full_page=True)
    choose(page, "Dataset", "Digits 8×8 (scikit-learn)", where="stSidebar")
    open_page(page, "Data")
    page.get_by_text("Test NLL (nats)").first.wait_for()
    page.screenshot(path=shots / "2-data.png", full_page=True)

    open_page(page, "Train")
    choose(page, "Model family", "VAE — density: bound · samples · latent")
    set_number(page, "Latent dim", "2")
    set_number(page, "Hidden units", "32")
    set_number(page, "Seconds of training", "6")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("running").first.wait_for()
    chart = page.locator('[data-testid="stMain"] .js-plotly-plot').first
    chart.wait_for()
    points = "node => node.data.reduce((n, trace) => n + (trace.x ? trace.x.length : 0), 0)"
    first = chart.evaluate(points)
    page.screenshot(path=shots / "3-train-running.png", full_page=True)
    page.get_by_text("Test split (best validation weights)").wait_for()
    later = page.locator('[data-testid="stMain"] .js-plotly-plot').first.evaluate(points)
    assert later > first, "the training chart did not grow while the run ticked"
    page.screenshot(path=shots / "4-train-finished.png", full_page=True)
    assert_no_exception(page)

    open_page(page, "Samples")
    set_number(page, "Sample seed", "5")
    traces = sample_traces(page)
    page.screenshot(path=shots / "5-samples.png", full_page=True)
    assert_no_exception(page)

    open_page(page, "Density")
    ink = np.full((40, 30), 255, np.uint8)
    ink[8:32, 12:18] = 0
    page.locator('[data-testid="stMain"] [data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [{"name": "digit.png", "mimeType": "image/png", "buffer": png_bytes(ink)}])
    page.get_by_text("Percentile among test images").wait_for()
    page.screenshot(path=shots / "6-density-upload.png", full_page=True)
    assert_no_exception(page)

    open_page(page, "Latent")
    page.locator('[data-testid="stMain"] .js-plotly-plot').first.wait_for()
    page.screenshot(path=shots / "7-latent.png", full_page=True)
    assert_no_exception(page)

    open_page(page, "Samples")
    assert sample_traces(page) == traces, "the sample seed did not survive a walk round the pages"
    page.get_by_text("Share this view").click()
    link = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()
    assert "/samples?" in link and "sample_seed=5" in link and "dataset=digits" in link
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})  # no cookies, no session: elsewhere
    try:
        other = fresh.new_page()
        other.set_default_timeout(SLOW)
        other.goto(link)
        try:
            heading(other, "Samples").wait_for()
        except Exception:
            other.screenshot(path=shots / "8-shared-link-failed.png", full_page=True)
            raise AssertionError(f"{link} did not open the Samples page") from None
        assert sample_traces(other) == traces, "the shared link drew different samples"
        other.screenshot(path=shots / "8-shared-link.png", full_page=True)
        assert_no_exception(other)
    finally:
        fresh.close()


def selectbox_text(box) -> str:
    """What a select box shows: its text and its input's value (where the chosen option is written)."""
    return box.inner_text() + " " + " ".join(box.locator("input").evaluate_all("nodes => nodes.map(n => n.value)"))


def test_the_newcomer_path_by_on_page_links_only(page, app_url):
    """Home → a question → Train (data and family set up) → Start → Next: Density, Samples, Latent, each on that
    run; the live chart is in view without scrolling. Screenshots go to artifacts/browser-walk/newcomer-*."""
    shots = artefacts_folder()
    page.goto(app_url)
    heading(page, "Home").wait_for()
    page.get_by_role("button", name="See the map").click()
    heading(page, "Train").first.wait_for()
    family = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first
    family.wait_for()
    assert "VAE — density: bound · samples · latent" in selectbox_text(family)
    page.screenshot(path=shots / "newcomer-1-train-set-up.png")
    set_number(page, "Hidden units", "32")
    set_number(page, "Seconds of training", "6")
    page.get_by_role("button", name="Start").click()
    chart = page.locator('[data-testid="stMain"] .js-plotly-plot').first
    chart.wait_for()
    settle(page)
    box = None
    for _ in range(40):  # the live panel redraws every second: read the box between two redraws
        box = chart.bounding_box()
        if box is not None:
            break
        page.wait_for_timeout(250)
    page.screenshot(path=shots / "newcomer-2-train-running.png")
    assert box is not None and box["y"] + box["height"] / 2 < 1000, f"the live chart is below the fold: {box}"
    page.get_by_text("Next: ask your VAE a question").wait_for()
    page.screenshot(path=shots / "newcomer-3-train-finished.png", full_page=True)
    assert_no_exception(page)
    for question in ("Latent", "Density", "Samples"):
        page.locator('[data-testid="stMain"]').get_by_role("link", name=question).click()
        heading(page, question).first.wait_for()
        picker = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').filter(has_text="Trained run")
        assert "VAE · " in selectbox_text(picker.first), f"{question} did not open the run just trained"
        settle(page)
        page.screenshot(path=shots / f"newcomer-4-{question.lower()}.png", full_page=True)
        assert_no_exception(page)
        open_page(page, "Train")
        page.get_by_text("Next: ask your VAE a question").wait_for()
