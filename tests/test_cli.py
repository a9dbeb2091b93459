"""The command line: --json prints exactly one JSON object; eval reproduces train's numbers."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def genlab_cli(*args, check=True):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_train_then_eval_reproduces_the_number(tmp_path):
    out = tmp_path / "kde-digits"
    proc = genlab_cli("train", "--model", "kde", "--data", "digits", "--view", "gray8", "--seconds", "1",
                      "--seed", "0", "--out", str(out), "--json", "--full-eval")  # every test item, as eval scores
    trained = json.loads(proc.stdout)  # stdout is one JSON object and nothing else
    assert trained["log_prob_kind"] == "lower_bound" and trained["bits_per_dim"] > 0
    assert trained["torch_threads"] == 1 and trained["run"] == str(out)
    evaluated = json.loads(genlab_cli("eval", "--run", str(out), "--json").stdout)
    assert evaluated["test_nll_nats"] == pytest.approx(trained["test_nll_nats"], rel=1e-6)
    assert evaluated["bits_per_dim"] == pytest.approx(trained["bits_per_dim"], rel=1e-6)


def test_train_on_a_toy_at_a_number_of_points_and_eval_rebuilds_it(tmp_path):
    out = tmp_path / "gaussian-moons"
    trained = json.loads(genlab_cli("train", "--model", "gaussian", "--data", "toy:moons", "--points", "1000",
                                    "--seconds", "1", "--out", str(out), "--json").stdout)
    assert json.loads((out / "config.json").read_text())["data_source"] == {"n_train": 1000}
    evaluated = json.loads(genlab_cli("eval", "--run", str(out), "--json").stdout)
    assert evaluated["kl_nats"] == pytest.approx(trained["kl_nats"], rel=1e-6)
    proc = genlab_cli("train", "--model", "gaussian", "--data", "digits", "--points", "1000", "--json", check=False)
    assert proc.returncode == 2 and "only the generated 2-D toys" in json.loads(proc.stdout)["error"]


def test_list_json_names_families_and_datasets():
    listing = json.loads(genlab_cli("list", "--json").stdout)
    assert {"gaussian", "kde", "gmm"} <= set(listing["families"])
    assert "digits" in listing["datasets"] and "toy:8gaussians" in listing["datasets"]
    assert listing["families"]["kde"]["views"]


def test_bad_input_gives_a_plain_error_not_a_traceback():
    proc = genlab_cli("train", "--model", "gmm", "--data", "digits", "--hparam", "num_components=-3",
                      "--seconds", "1", "--json", check=False)
    assert proc.returncode == 2
    assert "between" in json.loads(proc.stdout)["error"]
    assert "Traceback" not in proc.stderr
    proc = genlab_cli("eval", "--run", "/nonexistent/run", check=False)
    assert proc.returncode == 2 and "not a GenLab run" in proc.stderr


def test_ray_backend_options_are_checked_before_any_cluster_is_joined(capsys):
    from genlab.cli import main

    assert main(["bench", "--presets", "--backend", "ray"]) == 2
    assert main(["train", "--model", "gmm", "--data", "toy:moons", "--backend", "ray", "--max-steps", "5"]) == 2
    errors = capsys.readouterr().err
    assert "run --presets without it" in errors and "--max-steps is not available" in errors


def test_device_cuda_without_a_gpu_is_a_plain_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = genlab_cli("train", "--model", "made", "--data", "digits", "--device", "cuda", "--seconds", "1",
                      check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no CUDA GPU" in proc.stderr and "--device cpu" in proc.stderr


def test_export_writes_a_script_zip(tmp_path):
    import zipfile

    import genlab

    ds = genlab.load_dataset("digits", view="gray8")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "gauss-digits", seconds=1)
    out = tmp_path / "script.zip"
    result = json.loads(genlab_cli("export", str(tmp_path / "gauss-digits"), "--out", str(out), "--json").stdout)
    assert result["out"] == str(out) and result["bytes"] == out.stat().st_size
    assert sorted(zipfile.ZipFile(out).namelist()) == [
        "gauss_digits/data.pt", "gauss_digits/gauss_digits.py", "gauss_digits/weights.pt"]
