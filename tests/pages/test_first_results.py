"""A student's first results: the question's budget is long enough, and a model no better than independent pixels
says so on Samples (with the pretrained run one click away)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab
from genlab import zoo

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PRETRAINED = f"zoo-{zoo.entry_name('vae', 'digits', 'binary')}"


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("first-runs")
    ds = genlab.load_dataset("digits", view="binary")
    for folder, steps in ((PRETRAINED, 200), ("vae-one-step", 1)):
        model = genlab.create_model("vae", ds, hidden_units=32)
        genlab.train_and_save(model, ds, root / folder, seconds=5, seed=0, max_steps=steps)
    return root


@pytest.fixture
def app(monkeypatch, tmp_path, saved_runs):
    monkeypatch.setenv("GENLAB_RUNS", str(saved_runs))
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    return AppTest.from_file(APP, default_timeout=60).run()


def test_a_question_from_home_trains_for_a_minute(app: AppTest):
    (ask,) = [b for b in app.button if b.label == "See new digits"]
    ask.click().run()
    assert not app.exception
    assert app.number_input(key="train_seconds").value == 60


def test_samples_of_a_model_no_better_than_independent_pixels_say_so_and_offer_the_pretrained_run(app, saved_runs):
    app.sidebar.selectbox(key="_widget_dataset").set_value("digits").run()
    app.sidebar.radio(key="_widget_view").set_value("binary").run()
    app.switch_page("pages/samples.py").run()
    app.selectbox(key="_widget_run").set_value(str(saved_runs / "vae-one-step")).run()
    assert not app.exception
    (note,) = [w.value for w in app.warning if "independent pixels" in w.value]
    assert "Train it for longer" in note
    (pretrained,) = [b for b in app.button if b.label.startswith("Show the pretrained run instead")]
    pretrained.click().run()
    assert app.selectbox(key="_widget_run").value == str(saved_runs / PRETRAINED)


def test_score_my_handwriting_opens_density_on_the_drawing_canvas(app: AppTest):
    app.sidebar.selectbox(key="_widget_dataset").set_value("digits").run()
    app.sidebar.radio(key="_widget_view").set_value("binary").run()
    app.session_state["_asked"] = "density"  # as the "Score my handwriting" button on Home leaves it
    app.switch_page("pages/density.py").run()
    assert not app.exception
    assert app.segmented_control(key="_widget_density_source").value == "draw"


def test_each_query_page_links_on_to_the_other_two_questions_on_the_same_run(app: AppTest, saved_runs):
    app.sidebar.selectbox(key="_widget_dataset").set_value("digits").run()
    app.sidebar.radio(key="_widget_view").set_value("binary").run()
    for page in ("density", "samples", "latent"):
        app.switch_page(f"pages/{page}.py").run()
        assert not app.exception
        links = {link.proto.page: link.proto for link in app.get("page_link")
                 if link.proto.page in {"density", "samples", "latent"}}
        assert set(links) == {"density", "samples", "latent"} - {page}
        assert all("run=" in link.query_string for link in links.values())
