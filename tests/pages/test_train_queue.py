"""Many users, one small server: with one training slot, this session's run waits in a visible queue."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab
import genlab.jobs
from tests.pages.test_learner_controls import button, wait_until

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 30


@pytest.fixture
def one_slot(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GENLAB_MAX_JOBS", "1")
    monkeypatch.setenv("GENLAB_MAX_QUEUE", "1")


def status_line(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "on 8gaussians" in m.value)


def test_a_run_waits_in_the_queue_while_another_session_trains_then_starts_by_itself(one_slot):
    from pages._ui.jobs import job_manager

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    manager = job_manager()
    ds = genlab.load_dataset("toy:8gaussians")
    elsewhere = manager.start(genlab.create_model("gmm", ds, num_components=2), ds, seconds=120, owner="another-tab")
    try:
        at.switch_page("pages/train.py").run()
        at.selectbox(key="_widget_train_family").set_value("gmm").run()
        at.number_input(key="hparam:gmm:num_components").set_value(2)
        at.number_input(key="train_seconds").set_value(1)
        button(at, "Start").click().run()
        assert not at.exception, at.exception
        waiting = manager.get(at.session_state["job_id"])
        assert elsewhere.view().state == "running" and waiting.view().state == "queued"
        assert re.search(r"queued\*\* for \d+ s, 1st of 1 waiting", status_line(at))  # the wait counts up
        assert not [b for b in at.button if b.label.startswith("Step")]  # nothing to step while waiting
        with pytest.raises(genlab.jobs.CapacityError, match="1 are waiting"):  # the queue is full: a plain refusal
            manager.start(genlab.create_model("gaussian", ds), ds, seconds=1, owner="a-third-tab")
        elsewhere.stop()
        wait_until(lambda: not waiting.active, timeout=60)  # it left the queue, trained, and finished
        assert waiting.view().state == "finished" and waiting.view().metrics
        at.run()
        assert "finished" in status_line(at)
    finally:
        for job in manager.jobs():
            job.stop()
