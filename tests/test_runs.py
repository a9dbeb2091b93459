"""Run folders: what is saved loads back and gives the same numbers."""
import json
import shutil

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


def test_a_bad_folder_is_skipped_and_reported_not_raised(points_ds, tmp_path):
    from genlab.runs import bad_runs

    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "good", seconds=1)
    shutil.copytree(tmp_path / "good", tmp_path / "bad")
    (tmp_path / "bad" / "config.json").write_text('{"family": ["gaussian"]}')
    shutil.copytree(tmp_path / "good", tmp_path / "cut")
    (tmp_path / "cut" / "summary.json").write_text('{"test_nll')
    assert [r["name"] for r in genlab.list_runs(tmp_path)] == ["good"]
    reasons = dict(bad_runs(tmp_path))
    assert set(reasons) == {"bad", "cut"} and "family" in reasons["bad"] and "not valid JSON" in reasons["cut"]
    assert str(tmp_path) not in " ".join(reasons.values())


def test_a_bad_metrics_file_is_reported_as_the_metrics_file(points_ds, tmp_path):
    from genlab.runs import RunError, bad_runs

    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "r", seconds=1)
    (tmp_path / "r" / "metrics.jsonl").write_text('{"loss": 1}\nnot json\n')
    [(name, reason)] = bad_runs(tmp_path)
    assert name == "r" and "Line 2 of the run's metrics.jsonl" in reason and "config.json" not in reason
    with pytest.raises(RunError, match="metrics.jsonl is not valid JSON") as caught:
        genlab.load_run(tmp_path / "r", load_data=False)
    assert "config.json" not in str(caught.value)


def test_loading_a_bad_run_raises_one_plain_error(points_ds, tmp_path):
    from genlab.runs import RunError

    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "r", seconds=1)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    for broken, message in [({**config, "hparams": None}, "hyper-parameters"), ({**config, "spec": 3}, "spec"),
                            ({**config, "dataset": "digits"}, "not one GenLab builds")]:
        (tmp_path / "r" / "config.json").write_text(json.dumps(broken))
        with pytest.raises(RunError, match=message):
            genlab.load_run(tmp_path / "r", load_data=False)
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    (tmp_path / "r" / "model.safetensors").write_bytes(b"\x08\0\0\0\0\0\0\0{garbage")
    with pytest.raises(RunError, match="weights could not be read") as caught:
        genlab.load_run(tmp_path / "r", load_data=False)
    assert str(tmp_path) not in str(caught.value)


def test_a_full_disk_while_saving_leaves_nothing_that_breaks_listing(points_ds, tmp_path, monkeypatch):
    import errno

    from genlab import runs

    model = genlab.create_model("gaussian", points_ds)
    genlab.train_and_save(model, points_ds, tmp_path / "done", seconds=1)
    real_write = runs.Path.open

    def fills_up(path, mode="r", *args, **kwargs):
        if "w" in mode and path.name.endswith("summary.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, mode, *args, **kwargs)

    monkeypatch.setattr(runs.Path, "open", fills_up)
    with pytest.raises(OSError):
        genlab.train_and_save(model, points_ds, tmp_path / "half", seconds=1)
    with pytest.raises(OSError):
        runs.save_run(tmp_path / "done", model, points_ds, 0, 1, {"test_nll_nats": 1.0})  # overwrite a finished run
    monkeypatch.undo()
    assert not (tmp_path / "half" / "summary.json").exists()
    assert [r["name"] for r in genlab.list_runs(tmp_path)] == [] and runs.bad_runs(tmp_path) == []
    assert sorted(runs.clean_partial_runs(tmp_path)) == ["done", "half"]
    assert list(tmp_path.iterdir()) == []


def test_clean_partial_runs_spares_finished_runs_and_other_folders(points_ds, tmp_path):
    from genlab.runs import clean_partial_runs

    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "done", seconds=1)
    (tmp_path / "done" / ".tmp-abc-summary.json").write_text("{")
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "metrics.jsonl").write_text('{"loss": 1}\n')
    (tmp_path / ".tmp-123-uploaded").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    removed = clean_partial_runs(tmp_path)
    assert sorted(removed) == [".tmp-123-uploaded", "done/.tmp-abc-summary.json", "training"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done", "notes"]
    assert genlab.list_runs(tmp_path)[0]["name"] == "done"


def test_delete_run_removes_a_run_and_nothing_else(points_ds, tmp_path):
    from genlab.runs import RunError, delete_run

    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "mine", seconds=1)
    delete_run(tmp_path / "mine")
    assert list(tmp_path.iterdir()) == [] and genlab.list_runs(tmp_path) == []
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.json").write_text("{}")
    (tmp_path / "home" / "thesis.tex").write_text("precious")
    with pytest.raises(RunError, match="not a GenLab run folder"):
        delete_run(tmp_path / "home")
    assert (tmp_path / "home" / "thesis.tex").exists()
