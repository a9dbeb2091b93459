"""A learner's controls on the Train page: single steps from a pause, mid-run changes marked on the chart."""
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.data.test_uploads import png, zip_of_pngs

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 30


def button(at: AppTest, label: str):
    (found,) = [b for b in at.button if b.label == label]
    return found


def wait_until(condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "the training thread did not get there in time"
        time.sleep(0.05)


def paused_gmm_job(at: AppTest):
    """Start a long gmm run on 8gaussians and pause it once it has reported."""
    from pages._ui.jobs import job_manager

    at.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value("gmm").run()
    at.number_input(key="hparam:gmm:num_components").set_value(2)
    at.number_input(key="train_seconds").set_value(120)
    button(at, "Start").click().run()
    job = job_manager().get(at.session_state["job_id"])
    wait_until(lambda: len(job.view().metrics) >= 1)
    button(at, "Pause").click().run()
    assert job.view().state == "paused"
    # the training thread reports (and marks) the pause itself; let that report land before anything counts reports
    wait_until(lambda: any("paused" in r.get("control", "") for r in job.view().metrics))
    return job


def last_step(job) -> int:
    return job.view().metrics[-1]["step"]


def test_steps_from_a_pause_then_pauses_again(app):
    job = paused_gmm_job(app)
    try:
        reports = len(job.view().metrics)
        button(app, "Step 1").click().run()
        wait_until(lambda: len(job.view().metrics) > reports)  # a granted run of steps reports where it ended
        before = last_step(job)
        app.number_input(key=f"steps:{job.id}").set_value(7)
        reports = len(job.view().metrics)
        button(app, "Step N").click().run()
        wait_until(lambda: len(job.view().metrics) > reports)
        time.sleep(0.3)
        assert last_step(job) == before + 7  # exactly N more, then paused again
        assert job.view().state == "paused"
        assert not app.exception
    finally:
        job.stop()
        job.join(10)


def test_learning_rate_change_is_recorded_and_marked(app):
    job = paused_gmm_job(app)
    try:
        app.number_input(key=f"change_lr:{job.id}").set_value(0.002)
        button(app, "Apply now").click().run()
        reports = len(job.view().metrics)
        button(app, "Step 1").click().run()  # a change takes effect at the next step
        wait_until(lambda: len(job.view().metrics) > reports)
        events = [r["event"] for r in job.view().metrics if "event" in r]
        assert events and "learning_rate" in events[0] and "0.002" in events[0]
        assert job.model.config.learning_rate == pytest.approx(0.002)
        app.run()
        assert not app.exception
        chart = app.get("plotly_chart")[0]
        assert "learning_rate" in chart.proto.spec  # the event is annotated on the training curves
    finally:
        job.stop()
        job.join(10)


def test_bad_batch_size_is_refused_on_the_chart_not_a_crash(app):
    job = paused_gmm_job(app)
    try:
        job.change(batch_size=0)
        reports = len(job.view().metrics)
        button(app, "Step 1").click().run()
        wait_until(lambda: len(job.view().metrics) > reports)
        events = [r["event"] for r in job.view().metrics if "event" in r]
        assert events and events[0].startswith("change refused")
        app.run()
        assert not app.exception
    finally:
        job.stop()
        job.join(10)


def test_a_preset_fills_the_widgets_and_says_why(app):
    from genlab.presets import presets_for

    at = app.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value("realnvp").run()
    (working, broken) = presets_for("realnvp", "toy")
    at.selectbox(key="preset:realnvp:toy").set_value(broken.name).run()
    assert not at.exception
    assert at.number_input(key="hparam:realnvp:num_layers").value == 1
    assert any("What to look for" in w.value for w in at.warning)
    at.selectbox(key="preset:realnvp:toy").set_value(working.name).run()
    assert at.number_input(key="hparam:realnvp:num_layers").value == working.hparams["num_layers"]
    assert any(working.why in c.value for c in at.caption)
    assert any("Measured: KL" in c.value and "for the defaults" in c.value for c in at.caption)  # the benchmark's say
    at.switch_page("pages/samples.py").run()
    at.switch_page("pages/train.py").run()  # back: the preset named is the one the settings came from
    assert at.selectbox(key="preset:realnvp:toy").value == working.name
    assert at.number_input(key="hparam:realnvp:num_layers").value == working.hparams["num_layers"]
    at.selectbox(key="preset:realnvp:toy").set_value("Defaults of the family").run()
    assert at.number_input(key="hparam:realnvp:num_layers").value == 12  # the config's default again
    assert not at.exception


# ---- a drawn density ---------------------------------------------------------------
def on_data_page(at: AppTest, dataset: str = "toy:8gaussians") -> AppTest:
    at.switch_page("pages/data.py").run()
    at.sidebar.selectbox(key="_widget_dataset").set_value(dataset).run()
    at.toggle(key="_widget_drawing").set_value(True).run()
    return at


def test_use_a_drawn_density_then_train_on_it(app):
    at = on_data_page(app)
    assert not at.exception
    button(at, "Use this density").click().run()  # the default drawing: a ring of blobs
    assert not at.exception
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:drawn"
    assert any("drawn density" in c.value for c in at.caption)
    values = {m.label: m.value for m in at.metric}
    assert values["Training items"] == "20,000"
    at.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value("gmm").run()
    at.number_input(key="train_seconds").set_value(1)
    button(at, "Start").click().run()
    assert not at.exception
    from pages._ui.jobs import job_manager

    job = job_manager().get(at.session_state["job_id"])
    assert job.join(30)
    assert job.view().dataset == "toy:drawn"
    summary = job.view().summary
    assert summary["kl_nats"] >= -0.05  # KL against the drawn density is measurable


def test_a_bad_drawing_is_refused_with_a_sentence(app):
    at = on_data_page(app)
    at.session_state["drawn_table"] = [(0.0, 0.0, 0.0, 0.3)]
    at.session_state["drawn_version"] = 7
    at.run()
    button(at, "Use this density").click().run()
    assert not at.exception
    assert any("Every weight is zero" in e.value for e in at.error)
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:8gaussians"


# ---- your own images -----------------------------------------------------------------
def test_no_upload_yet_says_what_to_do(app):
    app.switch_page("pages/data.py").run()
    app.sidebar.selectbox(key="_widget_dataset").set_value("yours").run()
    assert not app.exception
    assert any("Upload a zip" in i.value for i in app.sidebar.info)


def upload(at: AppTest, files: list[tuple[str, bytes, str]], size: int = 8) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.sidebar.selectbox(key="_widget_dataset").set_value("yours").run()
    at.sidebar.radio(key="_widget_upload_size").set_value(size).run()
    at.sidebar.file_uploader(key="upload_files").set_value(files).run()
    return at


def test_your_zip_becomes_the_data_set_with_a_preview_and_trains(app, runs_in_tmp):
    at = upload(app, [("pets.zip", zip_of_pngs(30), "application/zip")])
    assert not at.exception, at.exception
    space = at.session_state["_workspace"]
    assert at.session_state["upload_spec"].startswith(f"folder:{space.uploads}")  # in this visitor's workspace
    assert not at.error, [e.value for e in at.error]
    values = {m.label: m.value for m in at.metric}
    assert values["Shape of one item"] == "1 × 8 × 8"
    assert int(values["Training items"]) + int(values["Test items"]) == 30
    assert any("2 classes (cats, dogs)" in c.value for c in at.caption)
    assert at.get("plotly_chart"), "a preview grid of the images"
    at.sidebar.radio(key="_widget_upload_size").set_value(16).run()
    assert {m.label: m.value for m in at.metric}["Shape of one item"] == "1 × 16 × 16"
    at.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value("bernoulli").run()
    button(at, "Start").click().run()
    assert not at.exception
    from pages._ui.jobs import job_manager

    job = job_manager().get(at.session_state["job_id"])
    assert job.join(30) and job.view().state == "finished"
    assert job.folder.parent == space.runs  # a flat run folder, though the data's name is a path


def test_a_damaged_image_in_the_uploader_is_a_sentence(app):
    files = [(f"{i}.png", png(i), "image/png") for i in range(11)] + [("broken.png", b"not a png", "image/png")]
    at = upload(app, files)
    assert not at.exception
    assert any("broken.png could not be read" in e.value for e in at.sidebar.error), [e.value for e in at.error]
    at.sidebar.file_uploader(key="upload_files").set_value(files[:-1]).run()
    assert not at.error, [e.value for e in at.error]
    assert {m.label: m.value for m in at.metric}["Shape of one item"] == "1 × 8 × 8"


@pytest.mark.parametrize("data, message", [
    (zip_of_pngs(3), "few.zip holds 3 usable image"),
    (b"PK\x03\x04 not really a zip", "few.zip looks like a zip but is damaged"),
])
def test_bad_uploads_are_sentences_naming_the_visitors_file_and_leave_the_workspace_empty(app, data, message):
    at = upload(app, [("few.zip", data, "application/zip")])
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any(message in e for e in errors) and not any("0000-" in e for e in errors), errors
    uploads = at.session_state["_workspace"].uploads
    assert not uploads.exists() or not any(uploads.iterdir())  # refused before anything was written
    assert "upload_spec" not in at.session_state


@pytest.mark.parametrize("dataset", ["toy:drawn", "yours"])
def test_every_page_runs_on_a_drawn_density_and_before_an_upload(app, dataset):
    app.switch_page("pages/home.py").run()
    app.sidebar.selectbox(key="_widget_dataset").set_value(dataset).run()
    for page in ("pages/home.py", "pages/data.py", "pages/train.py", "pages/density.py", "pages/samples.py",
                 "pages/latent.py", "pages/compare.py", "pages/concepts.py"):
        app.switch_page(page).run()
        assert not app.exception, f"{page}: {app.exception}"
        assert app.sidebar.selectbox(key="_widget_dataset").value == dataset, page
