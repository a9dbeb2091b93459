"""The pages under AppTest: each runs, the sidebar survives reruns, numbers and errors show.

AppTest does not tick `run_every` fragments, so training tests wait on the job itself
(through the app's own job manager) and then rerun the script.
"""
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab
from pages._ui.capabilities import family_label

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ("pages/home.py", "pages/data.py", "pages/train.py", "pages/density.py", "pages/samples.py", "pages/latent.py",
         "pages/compare.py")
TIMEOUT = 30  # the Data page fits its baselines on the first visit


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def choose_dataset(at: AppTest, name: str, page: str = "pages/home.py") -> AppTest:
    at.switch_page(page).run()
    at.sidebar.selectbox(key="_widget_dataset").set_value(name).run()
    return at


def metric_values(at: AppTest) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for m in at.metric:
        values.setdefault(m.label, []).append(m.value)
    return values


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text.replace(",", "")))
    except ValueError:
        return False


def start_run(at: AppTest, family: str, seconds: int = 1, **hparams) -> AppTest:
    at.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value(family).run()
    for name, value in hparams.items():
        at.number_input(key=f"hparam:{family}:{name}").set_value(value)
    at.number_input(key="train_seconds").set_value(seconds)
    return click_start(at)


def click_start(at: AppTest) -> AppTest:
    (start,) = [b for b in at.button if b.label == "Start"]
    return start.click().run()


def wait_for_job(at: AppTest, timeout: float = 30.0):
    from pages._ui.jobs import job_manager

    job = job_manager().get(at.session_state["job_id"])
    assert job is not None
    assert job.join(timeout), "the training thread did not finish"
    return job


def test_every_page_runs_and_keeps_the_sidebar(app):
    assert not app.exception
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, f"{page}: {app.exception}"
        app.run()  # a second run: the entrypoint's sidebar would vanish here under AppTest
        assert not app.exception
        assert app.sidebar.selectbox(key="_widget_dataset").value == "toy:8gaussians", page
        assert app.sidebar.number_input(key="_widget_seed").value == 0


def test_selection_persists_across_pages(app):
    choose_dataset(app, "digits")
    app.sidebar.radio(key="_widget_view").set_value("gray8").run()
    app.sidebar.number_input(key="_widget_seed").set_value(3).run()
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception
        assert app.sidebar.selectbox(key="_widget_dataset").value == "digits", page
        assert app.sidebar.radio(key="_widget_view").value == "gray8", page
        assert app.sidebar.number_input(key="_widget_seed").value == 3, page


def test_data_page_shows_both_baselines_on_a_toy(app):
    choose_dataset(app, "toy:moons", page="pages/data.py")
    assert not app.exception
    values = metric_values(app)
    assert values["Training items"] == ["20,000"]
    nll, kl = values["Test NLL (nats)"], values["KL(p_data‖p_θ) (nats)"]
    assert len(nll) == 2 and all(is_number(v) for v in nll)  # the Gaussian and the KDE
    gaussian_kl, kde_kl = (float(v) for v in kl)
    assert 0 <= kde_kl < gaussian_kl  # a single Gaussian cannot bend around two moons
    assert any("continuous" in m.value for m in app.markdown)  # the curse of dimensionality, toy version
    assert len(app.get("plotly_chart")) == 4  # data, true density, two fitted densities


def test_data_page_on_images_counts_possible_inputs(app):
    choose_dataset(app, "digits", page="pages/data.py")
    assert not app.exception
    values = metric_values(app)
    assert values["Shape of one item"] == ["1 × 8 × 8"]
    assert all(is_number(v) for v in values["Bits per dim"])
    # 2^64 binary 8x8 images ≈ 10^19
    assert any("10^{19}" in m.value for m in app.markdown)


def test_train_page_trains_and_shows_test_numbers(app):
    at = choose_dataset(app, "toy:8gaussians")
    start_run(at, "gmm", seconds=1, num_components=4)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    job = wait_for_job(at)
    assert job.view().state == "finished"
    at.run()
    assert not at.exception
    values = metric_values(at)
    assert is_number(values["Test NLL (nats)"][0])
    assert is_number(values["Test KL (nats)"][0])
    assert any("exact log-likelihood" in c.value for c in at.caption)
    assert at.get("plotly_chart"), "the training curves and the density are drawn"
    # the finished run is on the Compare page
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 1 and table["family"][0] == "Gaussian mixture"


@pytest.mark.parametrize("dataset", ["toy:8gaussians", "digits"])
def test_train_page_offers_fitting_families_with_widgets_from_their_config(app, dataset):
    at = choose_dataset(app, dataset, page="pages/train.py")
    spec = genlab.load_dataset(dataset).spec
    fitting = [name for name in genlab.families() if genlab.fits(name, spec) is None]
    view = genlab.load_dataset(dataset).view
    assert at.selectbox(key="_widget_train_family").options == [family_label(genlab.families()[n], view)
                                                                 for n in fitting]
    for name in fitting:
        cls = genlab.families()[name]
        at.selectbox(key="_widget_train_family").set_value(name).run()
        assert not at.exception, name
        shown = {w.key for w in at.number_input} | {w.key for w in at.selectbox} | {w.key for w in at.checkbox}
        for field in cls.config_class.fields():
            if (cls.trainable or field.name not in ("learning_rate", "batch_size")) \
                    and view in (field.metadata["views"] or (view,)):
                assert f"hparam:{name}:{field.name}" in shown, (name, field.name)
                if field.name in {w.key.split(":")[-1] for w in at.number_input if w.key.startswith("hparam:")}:
                    widget = at.number_input(key=f"hparam:{name}:{field.name}")
                    assert (widget.min, widget.max) == (field.metadata["low"], field.metadata["high"])


def test_pause_resume_stop_from_the_page(app):
    at = choose_dataset(app, "toy:8gaussians")
    start_run(at, "gmm", seconds=60, num_components=2)
    from pages._ui.jobs import job_manager

    job = job_manager().get(at.session_state["job_id"])
    (pause,) = [b for b in at.button if b.label == "Pause"]
    pause.click().run()
    assert job.view().state == "paused"
    (resume,) = [b for b in at.button if b.label == "Resume"]
    resume.click().run()
    assert job.view().state == "running"
    (stop,) = [b for b in at.button if b.label == "Stop"]
    stop.click().run()
    assert job.join(10)
    at.run()
    assert job.view().state == "stopped"
    assert not at.exception


def test_bad_hyper_parameters_show_a_sentence(app, monkeypatch):
    def refuse(*args, **kwargs):
        raise ValueError("num_components must be between 1 and 256; got 0.")

    monkeypatch.setattr(genlab, "create_model", refuse)
    at = start_run(app, "gmm")
    assert not at.exception
    assert any("num_components must be between" in e.value for e in at.error)
    assert "job_id" not in at.session_state


def test_capacity_refusal_is_a_message(app, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_JOBS", "0")
    at = start_run(app, "gaussian")
    assert not at.exception
    assert any("the most it allows" in e.value for e in at.error)


def test_missing_dataset_shows_an_error_not_a_traceback(app):
    choose_dataset(app, "mnist")
    for page in PAGES:
        app.switch_page(page).run()
        assert not app.exception, page
        assert any("not found under" in e.value for e in app.error), page


def test_compare_empty_state_points_to_train(app):
    at = app.switch_page("pages/compare.py").run()
    assert not at.exception
    assert any("No saved runs" in i.value for i in at.info)
    assert any("Train" in link.label for link in at.page_link)


def test_compare_lists_saved_runs(app, runs_in_tmp):
    ds = genlab.load_dataset("toy:moons")
    for family in ("gaussian", "gmm"):
        model = genlab.create_model(family, ds, **({"num_components": 2} if family == "gmm" else {}))
        genlab.train_and_save(model, ds, runs_in_tmp / family, seconds=0.5, seed=0)
    at = choose_dataset(app, "toy:moons", page="pages/compare.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["family"]) == ["Gaussian (full covariance)", "Gaussian mixture"]
    assert all(math.isfinite(v) for v in table["KL (nats)"])
    assert len(at.get("plotly_chart")) == 1


def test_a_session_that_ends_stops_the_jobs_it_started(runs_in_tmp):
    """What `st.cache_resource(scope="session", on_release=...)` calls when a tab goes away."""
    from genlab.hosting import AddressBook
    from genlab.jobs import JobManager
    from pages._ui.jobs import SessionOwner, _release_session

    ds = genlab.load_dataset("toy:moons")
    manager = JobManager(runs_in_tmp, max_concurrent=2)
    book = AddressBook()
    gone, staying = SessionOwner("gone", manager, book), SessionOwner("staying", manager, book)
    book.add("10.0.0.1", "gone")
    jobs = {owner.id: manager.start(genlab.create_model("gmm", ds, num_components=2), ds, seconds=60,
                                    owner=f"workspace-of-{owner.id}", session=owner.id)
            for owner in (gone, staying)}
    _release_session(gone)
    assert jobs["gone"].join(10) and jobs["gone"].view().state == "stopped"
    assert jobs["staying"].active
    assert book.add("10.0.0.1", "later") == {"later"}  # the address book forgets the tab
    manager.shutdown()
