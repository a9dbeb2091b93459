"""Shareable links: the view state lives in the URL's query, and a fresh session opened from it shows that view."""
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import genlab

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("link-runs")
    ds = genlab.load_dataset("toy:moons")
    for name in ("gaussian-moons", "gmm-moons"):
        model = genlab.create_model(name.split("-")[0], ds)
        genlab.train_and_save(model, ds, root / name, seconds=0.3, seed=0)
    return root


@pytest.fixture
def runs(monkeypatch, saved_runs):
    monkeypatch.setenv("GENLAB_RUNS", str(saved_runs))
    return saved_runs


def opened(query: dict, page: str | None = None) -> AppTest:
    """A fresh session opened from a link: the query is there before the first run."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params = dict(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def share_box(at: AppTest) -> str:
    return next(code.value for code in at.sidebar.code)


def test_the_sidebar_follows_a_link_and_writes_its_state_back(runs):
    at = opened({"dataset": "toy:moons", "seed": "7"})
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:moons"
    assert at.sidebar.number_input(key="_widget_seed").value == 7
    assert not at.warning
    at.sidebar.number_input(key="_widget_seed").set_value(11).run()
    assert at.query_params["seed"] == ["11"] or at.query_params["seed"] == "11"
    assert "seed=11" in share_box(at) and "dataset=toy%3Amoons" in share_box(at)


def test_a_link_with_values_the_page_cannot_show_warns_and_falls_back(runs):
    at = opened({"dataset": "no-such-data", "seed": "-5"})
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:8gaussians"
    assert at.sidebar.number_input(key="_widget_seed").value == 0
    warnings = " ".join(w.value for w in at.warning)
    assert "no-such-data" in warnings and "-5" in warnings


def test_a_samples_link_shows_the_same_samples_in_a_fresh_session(runs):
    query = {"dataset": "toy:moons", "run": "gmm-moons", "sample_seed": "5", "temperature": "0.5"}
    first = opened(query, "pages/samples.py")
    st.cache_data.clear()  # the second session samples afresh, not from the first one's cache
    second = opened(query, "pages/samples.py")
    for at in (first, second):
        assert at.selectbox(key="_widget_run").value == str(runs / "gmm-moons")
        assert at.number_input(key="_widget_sample_seed").value == 5
        assert at.slider(key="_widget_sample_temperature").value == pytest.approx(0.5)
    assert charts(first) and charts(first) == charts(second)  # the same samples, drawn afresh in each
    other = opened({**query, "sample_seed": "6"}, "pages/samples.py")
    assert charts(other)[0] != charts(first)[0]
    assert "run=gmm-moons" in share_box(first) and "temperature=0.5" in share_box(first)


def test_a_link_to_a_run_this_server_does_not_have_names_it(runs):
    at = opened({"dataset": "toy:moons", "run": "someone-elses-run"}, "pages/samples.py")
    assert "someone-elses-run" in " ".join(w.value for w in at.warning)
    assert Path(at.selectbox(key="_widget_run").value).parent == runs


def test_a_drawn_density_travels_in_the_link(runs):
    at = opened({"dataset": "toy:drawn", "blobs": "0,0,1,0.5;1.5,-1,2,0.3"})
    assert at.session_state["drawn_blobs"] == [(0.0, 0.0, 1.0, 0.5), (1.5, -1.0, 2.0, 0.3)]
    assert "blobs=0%2C0%2C1%2C0.5%3B1.5%2C-1%2C2%2C0.3" in share_box(at)


def test_a_broken_drawn_density_in_a_link_is_refused_plainly(runs):
    at = opened({"dataset": "toy:drawn", "blobs": "0,0,1;nonsense"})
    assert "drawn density cannot be used" in " ".join(w.value for w in at.warning)
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:drawn"


def test_the_run_picker_on_a_drawn_density_lists_only_runs_on_that_drawing(monkeypatch, tmp_path):
    from genlab.data import drawn

    drawings = {"one-blob": [(0.0, 0.0, 1.0, 0.5)], "two-blobs": [(-1.0, 0.0, 1.0, 0.3), (1.0, 0.0, 1.0, 0.3)]}
    for name, blobs in drawings.items():
        ds = drawn.drawn_dataset(blobs)  # as the app builds a drawing
        genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / name, seconds=0.2)
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:drawn", "blobs": "-1,0,1,0.3;1,0,1,0.3"}, "pages/samples.py")
    (only,) = at.selectbox(key="_widget_run").options
    assert "two-blobs" in only


def test_the_density_page_shows_the_drawn_truth_beside_the_learned_density(monkeypatch, tmp_path):
    from genlab.data import drawn

    ds = drawn.drawn_dataset([(-1.0, 0.0, 1.0, 0.3), (1.0, 0.0, 1.0, 0.3)])
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "two-blobs", seconds=0.2)
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:drawn", "blobs": "-1,0,1,0.3;1,0,1,0.3"}, "pages/density.py")
    assert not at.exception, at.exception
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("The density you drew" in t for t in titles) and any("click to score a point" in t for t in titles)


def test_choosing_the_drawn_density_opens_its_drawing_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:8gaussians"}, "pages/data.py")
    assert at.toggle(key="_widget_drawing").value is False
    at.sidebar.selectbox(key="_widget_dataset").set_value("toy:drawn").run()
    assert not at.exception, at.exception
    assert at.toggle(key="_widget_drawing").value is True


def test_markdown_in_a_train_link_is_shown_as_text(runs):
    bad = "[Session expired](https://evil.example/login) ![t](https://127.0.0.1:9/t.png) **bold**"
    at = opened({"dataset": "toy:8gaussians", "family": "realnvp", "seconds": bad, "hidden_units": bad},
                "pages/train.py")
    warnings = [w.value for w in at.warning]
    assert any("seconds" in w for w in warnings) and any("hidden_units" in w for w in warnings)
    for text in warnings:
        assert "](" not in text and "\\[Session expired\\]" in text  # escaped: shown, never a link


def test_odd_digits_and_long_values_in_a_train_link_are_refused_briefly(runs):
    long = "A" * 5000
    at = opened({"dataset": "toy:8gaussians", "family": "gan", "seconds": "²", "sampler": long,
                 "learning_rate": long}, "pages/train.py")
    assert not at.exception  # "²".isdigit() is True, and int("²") raised
    warnings = [w.value for w in at.warning]
    assert any("seconds" in w for w in warnings) and any("sampler" in w for w in warnings)
    assert all(len(w) < 400 for w in warnings)  # neither the echo nor the check's own message repeats it all


def test_a_train_link_names_the_settings_its_family_does_not_have_and_uses_the_rest(runs):
    at = opened({"dataset": "toy:8gaussians", "family": "gan", "seconds": "7", "learning_rate": "0.001",
                 "num_components": "32", "covariance": "[full](https://evil.example) " + "x" * 500},
                "pages/train.py")
    (warning,) = [w.value for w in at.warning]
    assert "num_components = '32'" in warning and "covariance = '\\[full\\]\\(" in warning  # echoed as text
    assert len(warning) < 300 and "GAN" in warning
    assert at.number_input(key="hparam:gan:learning_rate").value == 0.001  # the rest of the link is used
    assert at.number_input(key="train_seconds").value == 7
    assert "num_components" not in share_box(at) and "learning_rate=0.001" in share_box(at)


def test_a_closed_form_family_says_its_optimiser_settings_in_a_link_are_left_out(runs):
    at = opened({"dataset": "toy:8gaussians", "family": "gaussian", "learning_rate": "0.01"}, "pages/train.py")
    assert any("learning_rate = '0.01' is not a setting of" in w.value for w in at.warning)


def test_a_link_that_names_only_a_preset_trains_its_settings_and_its_own_values_win(runs):
    at = opened({"dataset": "toy:8gaussians", "family": "gan", "preset": "Rejection by a ratio critic"},
                "pages/train.py")
    assert at.selectbox(key="hparam:gan:sampler").value == "ratio-critic rejection"
    assert "&sampler=ratio-critic+rejection&" in share_box(at)  # and the link the page shares carries it
    at = opened({"dataset": "toy:8gaussians", "family": "gan", "preset": "Rejection by a ratio critic",
                 "learning_rate": "0.001"}, "pages/train.py")
    assert at.selectbox(key="hparam:gan:sampler").value == "ratio-critic rejection"
    assert at.number_input(key="hparam:gan:learning_rate").value == 0.001  # the link's own value over the preset's
