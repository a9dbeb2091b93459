"""The conditional-completion panel of the Concepts page (Downstream inference tab) under AppTest.

A tiny NADE saved on the 8×8 digits is what the panel completes with (it also encodes, so the
linear probe above it reuses the run instead of training a model of its own).
"""
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import genlab
from tests.pages.test_concepts_page import open_panel

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "concepts.py")
TIMEOUT = 60


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("completion-runs")
    ds = genlab.load_dataset("digits")
    genlab.train_and_save(genlab.create_model("nade", ds, hidden_units=16), ds, root / "nade-digits", seconds=0.5)
    return root


def open_tab(runs, monkeypatch, **state) -> AppTest:
    monkeypatch.setenv("GENLAB_RUNS", str(runs))
    return open_panel("Downstream inference", **state)


def completion_grids(at: AppTest) -> list[dict]:
    """The figures of completions (tiles labelled original, erased, #1, ...): their titles and tile labels."""
    grids = []
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec)["layout"]
        labels = [note["text"] for note in layout.get("annotations", [])]
        if labels[:2] == ["original", "erased"]:
            grids.append({"title": layout["title"]["text"], "tiles": len(labels)})
    return grids


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_the_bottom_half_is_completed_exactly_with_a_saved_run(saved_run, monkeypatch):
    at = open_tab(saved_run, monkeypatch)
    assert at.selectbox(key="_widget_concepts_completion_source").value.endswith("nade-digits")
    assert at.selectbox(key="_widget_concepts_completion_mask").value == "bottom half"
    (grid,) = completion_grids(at)
    assert grid["title"] == "Exact draws" and grid["tiles"] == 2 + 6  # original, erased, six completions
    assert "test image #0, bottom half erased (red), 6 completions at temperature 1." in captions(at)
    assert "every kept pixel comes before every erased one" in captions(at)
    assert any("can:" in m.value and "NADE" in m.value for m in at.markdown)  # names the families that can


def test_another_region_shows_the_plain_draw_beside_the_resampled_one(saved_run, monkeypatch):
    at = open_tab(saved_run, monkeypatch, concepts_completion_mask="left half", concepts_completion_proposals=8,
                  concepts_completion_temperature=0.8)
    plain, resampled = completion_grids(at)
    assert plain["title"] == "In order only" and resampled["title"] == "Resampled from K = 8"
    assert "left half erased (red), 6 completions at temperature 0.8" in captions(at)
    assert "none after" in captions(at) and "Effective proposals per completion" in captions(at)


def test_an_uploaded_image_is_completed(saved_run, monkeypatch):
    at = open_tab(saved_run, monkeypatch, concepts_completion_input="upload")
    assert not completion_grids(at)
    digit = np.zeros((32, 32), dtype=np.uint8)
    digit[6:26, 12:20] = 255  # a light stroke on black, like the training digits
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    at.get("file_uploader")[0].set_value(("one.png", buffer.getvalue(), "image/png")).run()
    assert not at.exception, at.exception
    (grid,) = completion_grids(at)
    assert grid["tiles"] == 8 and "one.png, bottom half erased" in captions(at)


def test_without_a_saved_run_a_small_model_is_trained_on_request(tmp_path, monkeypatch):
    at = open_tab(tmp_path / "no-runs", monkeypatch, concepts_probe_seconds=0.5, concepts_completion_seconds=0.5)
    assert at.selectbox(key="_widget_concepts_completion_source").value == "__fresh__"
    assert not completion_grids(at)  # nothing trains until asked
    at.button(key="concepts_completion_train").click().run()
    assert not at.exception, at.exception
    (grid,) = completion_grids(at)
    assert grid["tiles"] == 8
    labels = [box.label for box in at.number_input]
    assert len(labels) == len(set(labels)), labels  # the probe's and the completer's budgets are told apart


def test_the_drawing_canvas_waits_for_a_drawing(saved_run, monkeypatch):
    at = open_tab(saved_run, monkeypatch, concepts_completion_input="draw")
    assert not completion_grids(at)
    assert any("draw one" in m.value for m in at.info)
