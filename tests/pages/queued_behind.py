"""A Train page whose run waits behind another session's: what the queue and live-page tests start from."""
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab
from genlab.jobs import JobBackend, JobHandle
from tests.pages.test_learner_controls import button

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 30


@dataclass(frozen=True)
class Queued:
    """The app on the Train page just after Start; its run `waiting` is queued behind `elsewhere`."""

    at: AppTest
    manager: JobBackend
    elsewhere: JobHandle
    waiting: JobHandle


@contextmanager
def queued_behind_another_session(seconds: float) -> Iterator[Queued]:
    """Another session trains a GMM for 120 s; this session starts a GMM run of `seconds`, which queues
    (the caller sets GENLAB_MAX_JOBS=1). Every job is stopped on the way out."""
    from pages._ui.jobs import job_manager

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    manager = job_manager()
    ds = genlab.load_dataset("toy:8gaussians")
    elsewhere = manager.start(genlab.create_model("gmm", ds, num_components=2), ds, seconds=120, owner="another-tab")
    try:
        at.switch_page("pages/train.py").run()
        at.selectbox(key="_widget_train_family").set_value("gmm").run()
        at.number_input(key="hparam:gmm:num_components").set_value(2)
        at.number_input(key="train_seconds").set_value(seconds)
        button(at, "Start").click().run()
        assert not at.exception, at.exception
        waiting = manager.get(at.session_state["job_id"])
        assert elsewhere.view().state == "running" and waiting.view().state == "queued"
        yield Queued(at, manager, elsewhere, waiting)
    finally:
        for job in manager.jobs():
            job.stop()
