"""Every page's link reopens the same view: set each control, open the link in a fresh session, compare.

A fresh AppTest stands for another browser: no session state, only the link's query.
"""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import genlab
from genlab.data.packed import pack_pixels

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60
RUNS = {  # folder -> (family, dataset, hyper-parameters)
    "vae-digits": ("vae", "digits", {"latent_dim": 3, "hidden_units": 32}),
    "made-digits": ("made", "digits", {"hidden_units": 32}),
    "gaussian-moons": ("gaussian", "toy:moons", {}),
}


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("share-runs")
    for folder, (family, dataset, hparams) in RUNS.items():
        ds = genlab.load_dataset(dataset)
        genlab.train_and_save(genlab.create_model(family, ds, **hparams), ds, root / folder, seconds=0.5, seed=0)
    return root


@pytest.fixture(autouse=True)
def runs(monkeypatch, tmp_path, saved_runs):
    monkeypatch.setenv("GENLAB_RUNS", str(saved_runs))
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    return saved_runs


def on_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params = dict(query or {})
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def with_run(page: str, run: str) -> AppTest:
    at = on_page("pages/home.py")
    at.sidebar.selectbox(key="_widget_dataset").set_value(RUNS[run][1]).run()
    at.switch_page(page).run()
    at.selectbox(key="_widget_run").set_value(str(Path(at_runs()) / run)).run()
    assert not at.exception, at.exception
    return at


def at_runs() -> str:
    import os

    return os.environ["GENLAB_RUNS"]


def link_of(at: AppTest) -> dict:
    return {key: at.query_params[key] for key in at.query_params}


def widget(at: AppTest, kind: str, key: str):
    return getattr(at, kind)(key=f"_widget_{key}").value


def reopened_same(at: AppTest, page: str, controls: list[tuple[str, str]]) -> AppTest:
    """Open `at`'s link in a fresh session on `page` and check each (widget kind, key) shows the same value."""
    other = on_page(page, link_of(at))
    for kind, key in controls:
        assert widget(other, kind, key) == widget(at, kind, key), key
    assert widget(other, "selectbox", "run") == widget(at, "selectbox", "run")
    return other


def test_a_latent_link_carries_items_projection_direction_and_start_item():
    at = with_run("pages/latent.py", "vae-digits")
    at.slider(key="_widget_latent_items").set_value(100).run()
    at.radio(key="_widget_latent_method").set_value("t-SNE").run()
    at.selectbox(key="_widget_latent_direction").set_value("principal direction 2").run()
    at.number_input(key="_widget_latent_base").set_value(5).run()
    assert not at.exception
    reopened_same(at, "pages/latent.py", [("slider", "latent_items"), ("radio", "latent_method"),
                                          ("selectbox", "latent_direction"), ("number_input", "latent_base")])


def test_a_samples_link_carries_count_seed_temperature_and_interpolation_ends():
    at = with_run("pages/samples.py", "vae-digits")
    at.slider(key="_widget_sample_count").set_value(12).run()
    at.number_input(key="_widget_sample_seed").set_value(7).run()
    at.slider(key="_widget_sample_temperature").set_value(0.8).run()
    at.number_input(key="_widget_sample_from").set_value(3).run()
    at.number_input(key="_widget_sample_to").set_value(9).run()
    reopened_same(at, "pages/samples.py", [("slider", "sample_count"), ("number_input", "sample_seed"),
                                           ("slider", "sample_temperature"), ("number_input", "sample_from"),
                                           ("number_input", "sample_to")])


def test_a_samples_link_carries_the_step_by_step_frame():
    at = with_run("pages/samples.py", "made-digits")
    frame = next(s for s in at.slider if s.label == "Frame")
    frame.set_value(2).run()
    other = reopened_same(at, "pages/samples.py", [])
    assert next(s for s in other.slider if s.label == "Frame").value == 2


def test_a_density_link_carries_the_perturbed_test_image_and_the_comparison_set():
    at = with_run("pages/density.py", "vae-digits")
    at.segmented_control(key="_widget_density_source").set_value("test").run()
    at.number_input(key="_widget_density_test_index").set_value(4).run()
    at.selectbox(key="_widget_density_perturbation").set_value("noise").run()
    at.slider(key="_widget_density_amount_noise").set_value(0.3).run()
    at.selectbox(key="_widget_density_other").set_value("none").run()
    reopened_same(at, "pages/density.py", [
        ("segmented_control", "density_source"), ("number_input", "density_test_index"),
        ("selectbox", "density_perturbation"), ("slider", "density_amount_noise"), ("selectbox", "density_other")])


def test_a_density_link_on_a_toy_carries_the_point():
    at = with_run("pages/density.py", "gaussian-moons")
    at.number_input(key="_widget_density_x").set_value(0.5).run()
    at.number_input(key="_widget_density_y").set_value(-0.25).run()
    reopened_same(at, "pages/density.py", [("number_input", "density_x"), ("number_input", "density_y")])


def test_a_drawing_travels_in_a_density_link_and_is_scored_there():
    ds = genlab.load_dataset("digits", view="binary")
    drawing = torch.zeros(ds.shape)
    drawing[0, 1:7, 3:5] = 1  # a "1"
    query = {"dataset": "digits", "view": "binary", "run": "vae-digits", "input": "draw",
             "drawing": pack_pixels(drawing, ds.levels)}
    at = on_page("pages/density.py", query)
    assert any("drawing the link carries" in i.value for i in at.info)
    assert at.query_params["drawing"] == query["drawing"]  # and its own link carries it on
    assert not any("Give the model an input" in i.value for i in at.info)  # the drawing is scored
    broken = on_page("pages/density.py", {**query, "drawing": "not-a-drawing"})
    assert any("drawing cannot be shown" in w.value for w in broken.warning)


def test_the_share_box_names_what_cannot_travel():
    at = with_run("pages/density.py", "vae-digits")
    at.segmented_control(key="_widget_density_source").set_value("upload").run()
    assert any("Not in the link: the uploaded images" in c.value for c in at.sidebar.caption)


def test_a_train_link_carries_the_family_its_settings_and_the_budget():
    at = on_page("pages/train.py", {"dataset": "digits", "view": "binary"})
    at.selectbox(key="_widget_train_family").set_value("made").run()
    at.number_input(key="hparam:made:hidden_units").set_value(48).run()
    at.number_input(key="hparam:made:learning_rate").set_value(0.003).run()
    at.number_input(key="train_seconds").set_value(7).run()
    other = on_page("pages/train.py", link_of(at))
    assert widget(other, "selectbox", "train_family") == "made"
    for key in ("hparam:made:hidden_units", "hparam:made:learning_rate", "train_seconds"):
        assert other.number_input(key=key).value == at.number_input(key=key).value, key
    bad = on_page("pages/train.py", {**link_of(at), "hidden_units": "-3"})
    assert any("hidden_units" in w.value for w in bad.warning)
