"""The room board in a real browser, one context per person: a teacher opens a room and leaves the board on
the projector; two visitors join (by the link, by typing the code), publish a run each, and the teacher's
board picks both up by its own refresh; a withdraw leaves it the same way. A hostile name stays text."""
import shutil

import pytest

import genlab
from tests.browser.test_browser import SLOW, artefacts_folder, assert_no_exception, settle

pytestmark = pytest.mark.browser

HOSTILE_NAME = "<img src=x onerror=window.pwned=1>"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("room-runs")
    for folder, family in (("gaussian-moons", "gaussian"), ("kde-moons", "kde")):
        ds = genlab.load_dataset("toy:moons")
        genlab.train_and_save(genlab.create_model(family, ds), ds, root / folder, seconds=0.3, seed=0)
    return root


def person(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # its own session: a stranger
    page = context.new_page()
    page.set_default_timeout(SLOW)
    return context, page


def workspaces(browser_folder) -> set:
    folder = browser_folder / "runs" / "workspaces"
    return set(folder.iterdir()) if folder.exists() else set()


def board_chart(page):
    return page.locator('[data-testid="stMain"] .js-plotly-plot')


def join_and_publish(page, app_url, browser_folder, trained, run: str, name: str, code: str, by_link: bool):
    """Open the room (its link, or the code typed), give this new visitor's workspace a run, publish it."""
    before = workspaces(browser_folder)
    page.goto(f"{app_url}/compare?room={code}" if by_link else f"{app_url}/compare")
    if not by_link:
        page.get_by_text("Room board").click()
        settle(page)
        page.get_by_role("textbox", name="Room code, or the room's link").fill(f"{code[:2]} {code[2:]}".lower())
        page.keyboard.press("Enter")
    page.get_by_text("Publish a run of yours to this room").wait_for()
    (space,) = workspaces(browser_folder) - before  # the workspace this visit opened
    shutil.copytree(trained / run, space / "runs" / run)
    page.get_by_role("textbox", name="Room code, or the room's link").fill(code.lower())  # any rerun lists the new run
    page.keyboard.press("Enter")
    page.get_by_role("textbox", name="Your name on the board").fill(name)
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_role("button", name="Publish to the room").click()
    page.get_by_text("Published: your run is on the board.").wait_for()
    assert_no_exception(page)


def test_a_room_races_runs_from_several_browsers(browser, app_url, browser_folder, trained):
    teacher_context, teacher = person(browser)
    ada_context, ada = person(browser)
    bob_context, bob = person(browser)
    try:
        teacher.goto(f"{app_url}/compare")
        teacher.get_by_text("Room board").click()
        settle(teacher)
        teacher.get_by_role("button", name="Open a new room").click()
        teacher.get_by_text("Room code", exact=True).wait_for()
        code = teacher.locator('[data-testid="stMain"] h1').last.inner_text().strip()
        link = teacher.locator('[data-testid="stMain"] [data-testid="stCode"]').first.inner_text()
        assert len(code) == 5 and link.strip() == f"{app_url}/compare?room={code}"  # the join link to hand round

        join_and_publish(ada, app_url, browser_folder, trained, "gaussian-moons", HOSTILE_NAME, code, by_link=True)
        join_and_publish(bob, app_url, browser_folder, trained, "kde-moons", "Bob", code, by_link=False)

        # Nobody touches the teacher's page: only the board's own refresh can bring the two runs.
        board_chart(teacher).filter(has_text="Bob").wait_for()
        board_chart(teacher).filter(has_text=HOSTILE_NAME).wait_for()  # the name, as written, on the chart
        assert teacher.evaluate("window.pwned") is None and ada.evaluate("window.pwned") is None
        teacher.screenshot(path=artefacts_folder() / "room-board.png", full_page=True)
        assert_no_exception(teacher)

        bob.get_by_role("button", name="Withdraw").click()
        bob.get_by_text("Withdrawn: the run is off the board.").wait_for()
        board_chart(teacher).filter(has_text="Bob").wait_for(state="detached")
        board_chart(teacher).filter(has_text=HOSTILE_NAME).wait_for()
        assert str(browser_folder) not in teacher.locator('[data-testid="stMain"]').inner_text()
        assert_no_exception(teacher)
    finally:
        for context in (teacher_context, ada_context, bob_context):
            context.close()
