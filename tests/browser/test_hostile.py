"""Two strangers on one server, in two browser contexts: A uploads, trains and crafts links; B, a fresh
visitor, opens every page and sees no exception, none of A's runs or images, and no server path."""
import io
import re
import zipfile

import numpy as np
import pytest

from tests.browser.test_browser import (
    PAGE_TITLES,
    SLOW,
    assert_no_exception,
    choose,
    heading,
    open_page,
    png_bytes,
    set_number,
    settle,
)

pytestmark = pytest.mark.browser


def zip_of_pngs(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            pixels = np.full((12, 12), 255, np.uint8)
            pixels[i % 12, :] = 0
            archive.writestr(f"secret-holiday/{i}.png", png_bytes(pixels))
    return buffer.getvalue()


def fresh_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(SLOW)
    return context, page


def main_text(page) -> str:
    return page.locator("body").inner_text()


def test_a_stranger_sees_none_of_another_visitors_work(browser, app_url, browser_folder):
    a_context, a = fresh_page(browser)
    b_context, b = fresh_page(browser)
    try:
        # A trains a short run on the default toy and uploads a zip of images.
        a.goto(f"{app_url}/train")
        heading(a, "Train").wait_for()
        choose(a, "Model family", "Gaussian mixture")
        set_number(a, "Seconds of training", "2")
        a.get_by_role("button", name="Start").click()
        a.get_by_text("Test split (best validation weights)").wait_for()
        choose(a, "Dataset", "Your images…", where="stSidebar")
        a.locator('[data-testid="stSidebar"] [data-testid="stFileUploader"] input[type="file"]').set_input_files(
            [{"name": "holiday.zip", "mimeType": "application/zip", "buffer": zip_of_pngs(12)}])
        settle(a)
        assert_no_exception(a)
        a.goto(f"{app_url}/compare")  # a reload: a new session, the same workspace (the cookie)
        heading(a, "Compare").wait_for()
        a.locator('[data-testid="stDataFrame"]').wait_for()
        assert_no_exception(a)
        a.goto(f"{app_url}/samples?run=%5Bclick%5D(https://evil.example)")  # a crafted link
        heading(a, "Samples").wait_for()
        a.get_by_text("[click](https:").first.wait_for()  # shown as text
        assert a.locator('a[href="https://evil.example"]').count() == 0
        assert_no_exception(a)

        # B, a fresh visitor, walks every page.
        b.goto(app_url)
        heading(b, "Home").wait_for()
        for name in PAGE_TITLES:
            open_page(b, name)
            b.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.wait_for()
            settle(b)
            assert_no_exception(b)
            text = main_text(b)
            assert str(browser_folder) not in text and "/tmp/" not in text, name
            assert not re.search(r"toy_8gaussians-continuous-\d{8}", text), name  # A's run folder
            assert "holiday" not in text, name
        open_page(b, "Compare")
        b.get_by_text("No saved runs yet").wait_for()
    finally:
        a_context.close()
        b_context.close()
