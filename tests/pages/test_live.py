"""One clock per live page (pages/_ui/live.py): while this session's job is queued or training, every full run
of the Train page registers exactly one ticking fragment, at one constant pace; once it ends, none.

AppTest does not tick `run_every` fragments, so this records what each run asks the browser for: the
`run_every` of every fragment it registers. The browser test checks that a page really keeps redrawing.
"""
import json

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from pages._ui.jobs import STATUS_SECONDS
from pages._ui.live import REFRESH_SECONDS
from pages._ui.timing import TIMING_LOG_ENV, timed_run
from tests.pages.queued_behind import APP, TIMEOUT, queued_behind_another_session
from tests.pages.test_learner_controls import wait_until


@pytest.fixture
def clocks(monkeypatch, tmp_path):
    """The run_every of each fragment registered since the last clear (None: a fragment that does not tick)."""
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GENLAB_MAX_JOBS", "1")
    asked = []
    fragment = streamlit.fragment

    def recording(func=None, *, run_every=None, **options):
        asked.append(run_every)
        return fragment(func, run_every=run_every, **options)

    monkeypatch.setattr(streamlit, "fragment", recording)
    return asked


def ticking(asked: list, at: AppTest) -> list:
    """Run `at` once more and return the intervals of the ticking fragments this full run registered."""
    asked.clear()
    at.run()
    assert not at.exception, at.exception
    return [every for every in asked if every]


def test_one_clock_at_one_pace_while_queued_then_training_and_none_once_ended(clocks):
    with queued_behind_another_session(seconds=120) as queued:
        at, job = queued.at, queued.waiting
        assert ticking(clocks, at) == [REFRESH_SECONDS]  # queued: the same pace as training, sidebar silent

        queued.elsewhere.stop()
        wait_until(lambda: job.view().state == "running", timeout=60)
        assert ticking(clocks, at) == [REFRESH_SECONDS]  # training: no new pace, so no full rerun was needed

        at.switch_page("pages/data.py")
        assert ticking(clocks, at) == [STATUS_SECONDS]  # elsewhere the sidebar's status is the one clock
        at.switch_page("pages/train.py")
        assert ticking(clocks, at) == [REFRESH_SECONDS]

        job.stop()
        wait_until(lambda: not job.active)
        assert ticking(clocks, at) == []  # ended: nothing ticks


def test_the_timing_log_has_a_line_per_full_run(monkeypatch, tmp_path):
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv(TIMING_LOG_ENV, str(log))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    (run,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert run["kind"] == "full" and run["name"] == "home" and run["outcome"] == "ok" and run["seconds"] > 0


def test_a_run_ended_early_is_logged_with_how_it_ended(monkeypatch, tmp_path):
    log = tmp_path / "timing.jsonl"
    monkeypatch.setenv(TIMING_LOG_ENV, str(log))
    with pytest.raises(KeyError), timed_run("fragment", "train"):
        raise KeyError("a bug")
    (run,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert run["kind"] == "fragment" and run["outcome"] == "KeyError"


def test_a_tick_draws_the_end_of_its_run_before_it_asks_for_a_full_rerun():
    def app():
        import streamlit as st

        from pages._ui.live import ended_tick

        st.session_state.setdefault("ticks", [])
        st.session_state["ticks"] += [ended_tick(job) for job in st.session_state.get("jobs", [])]

    at = AppTest.from_function(app, default_timeout=TIMEOUT)
    at.session_state["jobs"] = ["a"]
    at.run()
    assert at.session_state["ticks"] == ["draw"]  # the first tick after the end draws it
    at.run()
    assert at.session_state["ticks"] == ["draw", "rerun"]  # the next asks for the full rerun
    at.session_state["jobs"] = ["b"]
    at.run()
    assert at.session_state["ticks"] == ["draw", "rerun", "draw"]  # another run's end is drawn first again
