"""Findings of a hostile review (issue 14), each a case that must hold: a crafted checkpoint that the
import accepts must not break any page of the visitor who uploaded it."""
import io
import json
import zipfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab
from genlab.checkpoints import pack_run
from tests.data.test_hostile_uploads import zipped

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ["home", "data", "train", "density", "samples", "latent", "compare", "concepts"]


def crafted(tmp_path, config_change: dict, summary_change: dict | None = None) -> bytes:
    """A real checkpoint with some config.json (and summary.json) fields replaced."""
    ds = genlab.load_dataset("toy:8gaussians")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "source", seconds=1)
    with zipfile.ZipFile(io.BytesIO(pack_run(tmp_path / "source"))) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for member, change in (("config.json", config_change), ("summary.json", summary_change or {})):
        members[member] = json.dumps(json.loads(members[member]) | change).encode()
    return zipped(members)


def test_a_checkpoint_naming_a_server_folder_as_its_data_set_breaks_no_page(runs_in_tmp, tmp_path):
    """The import rewrites a `folder:` data set to "tensors"; Compare then raised ValueError
    ("Unknown dataset 'tensors'") on every visit, so the visitor could not even reach Delete.
    A run trained on "Your images", downloaded and uploaded again, takes the same path."""
    data = crafted(tmp_path, {"dataset": "folder:/etc"})
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/compare.py").run()
    at.get("file_uploader")[0].set_value(("etc.zip", data, "application/zip")).run()
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page("app.py" if page == "home" else f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)


def test_a_checkpoint_whose_summary_holds_text_for_numbers_breaks_no_page(runs_in_tmp, tmp_path):
    """check_summary kept {"train_seconds": "abc", "test_nll": "x"} as text; the run picker's label then
    raised "Unknown format code 'f' for object of type 'str'" on Density, Samples and Latent, and the
    room board showed "abc" as a number of seconds."""
    data = crafted(tmp_path, {}, {"train_seconds": "abc", "test_nll": "x", "best_val": [1]})
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/compare.py").run()
    at.get("file_uploader")[0].set_value(("texts.zip", data, "application/zip")).run()
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page("app.py" if page == "home" else f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)


def test_the_density_page_says_plainly_when_a_runs_model_gives_nan_everywhere(monkeypatch, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    from tests.pages.test_links import opened

    ds = genlab.load_dataset("toy:moons")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "broken", seconds=0.2)
    weights = load_file(tmp_path / "broken" / "model.safetensors")
    weights["scale_tril"] = torch.zeros_like(weights["scale_tril"])  # log p is NaN at every point
    save_file(weights, tmp_path / "broken" / "model.safetensors")
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:moons"}, "pages/density.py")
    assert any("NaN everywhere" in e.value for e in at.error)
