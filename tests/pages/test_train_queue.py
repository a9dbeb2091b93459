"""Many users, one small server: with one training slot, this session's run waits in a visible queue."""
import re

import pytest
from streamlit.testing.v1 import AppTest

import genlab
import genlab.jobs
from tests.pages.queued_behind import queued_behind_another_session
from tests.pages.test_learner_controls import wait_until


@pytest.fixture
def one_slot(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GENLAB_MAX_JOBS", "1")
    monkeypatch.setenv("GENLAB_MAX_QUEUE", "1")


def status_line(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "on 8gaussians" in m.value)


def test_a_run_waits_in_the_queue_while_another_session_trains_then_starts_by_itself(one_slot):
    with queued_behind_another_session(seconds=1) as queued:
        at, manager, waiting = queued.at, queued.manager, queued.waiting
        assert re.search(r"queued\*\* for \d+ s, 1st of 1 waiting", status_line(at))  # the wait counts up
        assert not [b for b in at.button if b.label.startswith("Step")]  # nothing to step while waiting
        ds = genlab.load_dataset("toy:8gaussians")
        with pytest.raises(genlab.jobs.CapacityError, match="1 are waiting"):  # the queue is full: a plain refusal
            manager.start(genlab.create_model("gaussian", ds), ds, seconds=1, owner="a-third-tab")
        queued.elsewhere.stop()
        wait_until(lambda: not waiting.active, timeout=60)  # it left the queue, trained, and finished
        assert waiting.view().state == "finished" and waiting.view().metrics
        at.run()
        assert "finished" in status_line(at)
