"""The room board under AppTest: a teacher opens a room, visitors with workspaces of their own publish
runs to it, the board ranks them per data view, a withdraw takes a run off, and hostile text stays text."""
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab
from genlab.runs import list_run_folder
from genlab.workspaces import WorkspaceStore, new_token
from pages._ui.datasets import data_title
from pages._ui.rooms import NO_ROOM, ROOM

APP = str(Path(__file__).resolve().parents[2] / "app.py")
RUNS = {  # folder -> (family, dataset, hyper-parameters)
    "gaussian-moons": ("gaussian", "toy:moons", {}),
    "kde-moons": ("kde", "toy:moons", {"max_points": 500, "num_bandwidths": 4}),
    "gaussian-digits": ("gaussian", "digits", {}),  # a lower bound on images: its rank is marked
}
HOSTILE_NAME = "**Ada** <img src=x> [w](http://evil.io)"  # markdown, HTML and a link, in 40 characters


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("room-runs")
    for folder, (family, dataset, hparams) in RUNS.items():
        ds = genlab.load_dataset(dataset)
        genlab.train_and_save(genlab.create_model(family, ds, **hparams), ds, root / folder, seconds=0.3, seed=0)
    return root


def visitor(runs_root, trained, *runs, room: str | None = None) -> AppTest:
    """A fresh browser session with a workspace of its own holding copies of `runs`, on Compare's room view;
    with `room`, opened from that room's join link."""
    token = new_token()
    space = WorkspaceStore(runs_root).open(token)
    for name in runs:
        shutil.copytree(trained / name, space.runs / name)
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["_workspace_token"] = token
    if room is not None:
        at.query_params["room"] = room
    at.run()
    at.switch_page("pages/compare.py").run()
    if room is None:
        at.radio(key="_widget_compare_view").set_value(ROOM).run()
    assert not at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def publish(at: AppTest, run: str, by: str) -> None:
    at.selectbox(key="room_publish_run").set_value(run)
    at.text_input(key="room_publish_name").input(by)
    button(at, "Publish to the room").click().run()
    assert not at.exception and "Published" in at.success[0].value


def shown_text(at: AppTest) -> str:
    """Every text, markdown, caption, code and title the page's main area shows, in one string."""
    parts = [e.value for kind in ("markdown", "caption", "text", "code", "title", "error", "info", "success")
             for e in getattr(at.main, kind)]
    return "\n".join(str(p) for p in parts)


def test_two_visitors_race_on_a_teachers_board_and_one_withdraws(runs_in_tmp, trained):
    teacher = visitor(runs_in_tmp, trained)
    button(teacher, "Open a new room").click().run()
    code = teacher.session_state["room_code"]
    assert not teacher.exception and code in [t.value for t in teacher.title]
    assert f"room={code}" in teacher.code[0].value  # the join link to hand round
    assert "Nothing is published here yet" in teacher.info[0].value

    ada = visitor(runs_in_tmp, trained, "gaussian-moons", "gaussian-digits")
    ada.text_input(key="_widget_room_code").input(f" {code[:2].lower()} {code[2:]} ").run()  # as typed in a hurry
    publish(ada, "gaussian-moons", HOSTILE_NAME)
    publish(ada, "gaussian-digits", HOSTILE_NAME)
    bob = visitor(runs_in_tmp, trained, "kde-moons", room=code)  # opened from the join link
    assert bob.radio(key="_widget_compare_view").value == ROOM
    publish(bob, "kde-moons", "Bob")

    teacher.run()
    assert not teacher.exception
    races = [data_title("digits", "binary"), data_title("toy:moons", "continuous")]
    assert [h.value for h in teacher.subheader] == races  # one race per data set and view
    digits, moons = (frame.value for frame in teacher.dataframe)
    summaries = {name: list_run_folder(trained / name)["summary"] for name in RUNS}
    best_first = sorted(["gaussian-moons", "kde-moons"], key=lambda name: summaries[name]["kl_nats"])
    by = {"gaussian-moons": HOSTILE_NAME, "kde-moons": "Bob"}
    assert list(moons["by"]) == [by[name] for name in best_first]  # ranked on KL, best first
    assert list(moons["#"]) == ["1", "2"]  # both exact on a toy
    assert list(digits["#"]) == ["1 (bound)"] and list(digits["by"]) == [HOSTILE_NAME]  # a bound is marked
    for frame in (digits, moons):
        assert not {"folder", "run", "workspace", "share"} & set(frame.columns)
    assert "evil.io" not in shown_text(teacher)  # the name is in table cells only, never markdown
    assert str(runs_in_tmp) not in shown_text(teacher) and str(runs_in_tmp) not in shown_text(ada)

    ada.run()
    entries = [t.value for t in ada.main.text if t.value.startswith("On the board:")]  # her own, shown as text
    assert len(entries) == 2 and all(entry.endswith(f"as {HOSTILE_NAME}") for entry in entries)
    moons_entry = next(i for i, entry in enumerate(entries) if "gaussian-moons" in entry)
    ada.button(key=f"room_withdraw_{moons_entry}").click().run()
    assert not ada.exception and "Withdrawn" in ada.success[0].value
    teacher.run()
    digits, moons = (frame.value for frame in teacher.dataframe)
    assert list(moons["by"]) == ["Bob"] and list(moons["#"]) == ["1"]
    assert list(digits["by"]) == [HOSTILE_NAME]


@pytest.mark.parametrize("typed", ["ZZZZZ", "../../etc", "<img src=x onerror=alert(1)>", "**AB** [x](http://e)",
                                   "https://elsewhere/compare?room=QQQQQ", "O0I1L"])
def test_a_bad_code_says_so_in_plain_words(runs_in_tmp, trained, typed):
    at = visitor(runs_in_tmp, trained)
    at.text_input(key="_widget_room_code").input(typed).run()
    assert not at.exception and [e.value for e in at.error] == [NO_ROOM]
    assert not at.dataframe and not at.title[1:]


def test_a_bad_code_in_a_link_says_so_too(runs_in_tmp, trained):
    at = visitor(runs_in_tmp, trained, room="[click](http://evil.io)")
    assert [e.value for e in at.error] == [NO_ROOM] and "evil.io" not in "".join(m.value for m in at.markdown)


def test_home_opens_a_room_for_a_teacher_and_its_board_comes_first(runs_in_tmp):
    at = AppTest.from_file(APP, default_timeout=30).run()
    button(at, "Teaching? Open a room").click().run()
    assert not at.exception and at.radio(key="_widget_compare_view").value == ROOM
    code = at.session_state["room_code"]
    assert code in [t.value for t in at.title]  # the room is open: no second click
    texts = [e.value for e in at.main if hasattr(e, "value") and isinstance(e.value, str)]
    board = next(i for i, t in enumerate(texts) if t.startswith("Nothing is published here yet"))
    form = next(i for i, t in enumerate(texts) if t.startswith("**Publish a run of yours"))
    assert board < form  # the teacher's board above the publish form
    at.switch_page("pages/home.py").run()
    button(at, "Teaching? Open a room").click().run()
    assert at.session_state["room_code"] == code  # the same room again, not another
