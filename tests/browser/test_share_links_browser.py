"""Every page's share link in a real browser: change some of the page's controls, read the link the sidebar's
share box offers, open it in a fresh browser context (no cookies, no session) and compare the two views.

A tiny VAE on the 8×8 digits is saved among the server's public runs first, so the query pages have a run.
"""
import re
from contextlib import contextmanager

import pytest

import genlab
from tests.browser.test_browser import (
    SLOW,
    artefacts_folder,
    assert_no_exception,
    choose,
    heading,
    open_page,
    selectbox_text,
    set_number,
    settle,
)

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def digits_run(browser_folder):
    ds = genlab.load_dataset("digits")
    model = genlab.create_model("vae", ds, latent_dim=2, hidden_units=16)
    genlab.train_and_save(model, ds, browser_folder / "runs" / "vae-digits", seconds=1, seed=0)


@contextmanager
def fresh_page(browser):
    """A page in a new browser context: no cookies, no session, as in another browser."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(SLOW)
        yield page
    finally:
        context.close()


@pytest.fixture
def tab(browser):
    with fresh_page(browser) as page:
        yield page


def share_link(page) -> str:
    page.get_by_text("Share this view").click()
    return page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()


def number(page, label: str) -> str:
    return page.get_by_role("spinbutton", name=label, exact=True).input_value()


def select(page, label: str, where: str = "stMain") -> str:
    box = page.locator(f'[data-testid="{where}"] [data-testid="stSelectbox"]').filter(has_text=label).first
    return selectbox_text(box)


def switch(page, label: str) -> bool:
    return page.get_by_label(label, exact=True).is_checked()


def metrics(page) -> list[str]:
    return page.locator('[data-testid="stMain"] [data-testid="stMetric"]').all_inner_texts()


def reopened(browser, link: str, name: str, read, wait_for: str, expected):
    """`read` of the page `link` opens in a fresh browser context, once `wait_for` shows and the page has drawn
    what `read` looks at (it renders piece by piece: a text can show before the metric beside it)."""
    with fresh_page(browser) as other:
        other.goto(link)
        try:
            heading(other, name).first.wait_for()
            other.get_by_text(wait_for).first.wait_for()
            settle(other)
            for _ in range(40):
                if read(other) == expected:
                    break
                other.wait_for_timeout(250)
            assert_no_exception(other)
            return read(other)
        finally:
            other.screenshot(path=artefacts_folder() / f"shared-{name.lower()}.png", full_page=True)


def same_after_sharing(page, browser, name: str, read, wait_for: str) -> str:
    settle(page)
    assert_no_exception(page)
    link = share_link(page)
    expected = read(page)
    assert reopened(browser, link, name, read, wait_for, expected) == expected, link
    return link


def test_home_data_and_train_links_reopen_the_same_view(tab, browser, app_url):
    tab.goto(app_url)
    heading(tab, "Home").wait_for()
    set_number(tab, "Seed", "7")
    same_after_sharing(tab, browser, "Home", lambda p: number(p, "Seed"), "Seed")

    choose(tab, "Dataset", "moons (2-D toy)", where="stSidebar")
    open_page(tab, "Data")
    tab.get_by_text("Draw your own 2-D density").click()
    settle(tab)
    set_number(tab, "Seed", "3")
    link = same_after_sharing(tab, browser, "Data", lambda p: (switch(p, "Draw your own 2-D density"),
                                                                 number(p, "Seed"), metrics(p)[:2]),
                              "Test NLL (nats)")
    assert "drawing=true" in link

    open_page(tab, "Train")
    choose(tab, "Model family", "Gaussian mixture")
    set_number(tab, "Num components", "5")
    set_number(tab, "Seconds of training", "4")
    link = same_after_sharing(tab, browser, "Train", lambda p: (
        select(p, "Model family"), number(p, "Num components"), number(p, "Seconds of training")),
        "Seconds of training")
    assert "family=gmm" in link and "num_components=5" in link


def test_query_page_links_reopen_the_same_view(tab, browser, app_url, digits_run):
    tab.goto(f"{app_url}/samples")
    heading(tab, "Samples").wait_for()
    choose(tab, "Dataset", "Digits 8×8 (scikit-learn)", where="stSidebar")
    set_number(tab, "Sample seed", "5")
    same_after_sharing(tab, browser, "Samples", lambda p: (number(p, "Sample seed"), select(p, "Trained run")),
                       "samples · seed 5")

    open_page(tab, "Density")
    tab.get_by_role("radio", name="A test image, perturbed").click()
    settle(tab)
    set_number(tab, "Test image #", "4")
    link = same_after_sharing(tab, browser, "Density", lambda p: (number(p, "Test image #"), metrics(p)),
                              "Percentile among test images")
    assert "input=test" in link

    open_page(tab, "Latent")
    set_number(tab, "Start from item # on the map (−1: the mean code)", "5")
    same_after_sharing(tab, browser, "Latent", lambda p: number(p, "Start from item # on the map (−1: the mean code)"),
                       "Start from item")


def test_compare_and_concepts_links_reopen_the_same_view(tab, browser, app_url, digits_run):
    tab.goto(f"{app_url}/compare")
    heading(tab, "Compare").wait_for()
    choose(tab, "Dataset", "Digits 8×8 (scikit-learn)", where="stSidebar")
    tab.locator('[data-testid="stDataFrame"]').wait_for()
    choose(tab, "Yardstick to chart", "bits/dim")
    link = same_after_sharing(tab, browser, "Compare", lambda p: select(p, "Yardstick to chart"), "Yardstick to chart")
    assert "yardstick=" in link

    tab.goto(f"{app_url}/concepts")
    heading(tab, "Concepts").wait_for()
    tab.get_by_role("tab", name="Curse of dimensionality").click()
    settle(tab)
    tab.get_by_role("button", name="The notes' photo").click()
    settle(tab)
    read = lambda p: [m for m in metrics(p) if m.startswith("Possible inputs")]  # noqa: E731
    assert read(tab) and re.search(r"10\^\d", read(tab)[0])
    link = same_after_sharing(tab, browser, "Concepts", read, "Possible inputs")
    assert "concepts_tab=Curse" in link and "height=700" in link
