"""Run folders: what is saved loads back and gives the same numbers."""
import json

import pytest
import torch

import genlab


@pytest.mark.parametrize("family", ["gaussian", "kde", "gmm"])
def test_round_trip_reproduces_log_prob(points_ds, tmp_path, family):
    model = genlab.create_model(family, points_ds)
    summary = genlab.train_and_save(model, points_ds, tmp_path / "run", seconds=1, seed=3)
    loaded, ds, info = genlab.load_run(tmp_path / "run", load_data=False)
    assert ds is None  # in-memory tensors can't be reloaded by name
    assert type(loaded) is type(model) and loaded.hparams() == model.hparams()
    x = points_ds.test[:20]
    assert torch.allclose(loaded.log_prob(x), model.log_prob(x))
    assert info["summary"]["test_nll_nats"] == pytest.approx(summary["test_nll_nats"])
    assert info["config"]["seed"] == 3 and info["metrics"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["family"] == family


def test_not_a_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a GenLab run"):
        genlab.load_run(tmp_path)


def test_tampered_weights_are_refused(points_ds, tmp_path):
    from safetensors.torch import save_file

    genlab.train_and_save(genlab.create_model("gmm", points_ds, num_components=3), points_ds, tmp_path / "r", seconds=1)
    save_file({"means": torch.zeros(5, 2)}, str(tmp_path / "r" / "model.safetensors"))
    with pytest.raises(ValueError, match="do not match"):
        genlab.load_run(tmp_path / "r", load_data=False)


def test_list_runs_filters_by_dataset(points_ds, tmp_path):
    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "a", seconds=1)
    runs = genlab.list_runs(tmp_path)
    assert [r["name"] for r in runs] == ["a"]
    assert genlab.list_runs(tmp_path, dataset="digits") == []
