"""Export: a run becomes a short PyTorch script that reproduces its held-out number without GenLab.

Every family with a script template trains a tiny run here; its exported script then runs in a
clean interpreter (`python -I`, in a folder outside the repository, so genlab cannot be imported)
and must print the numbers `genlab.evaluate` gave for the run. The script uses the same seeded
generators for dequantization noise and a VAE's importance samples and the same batches, so
the numbers agree to float rounding: the tolerance is 1e-5 relative, not a Monte-Carlo one.
"""
import ast
import dataclasses
import io
import json
import math
import os
import re
import runpy
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import genlab
from genlab.data import Dataset
from genlab.evaluate import evaluate
from genlab.export import SCRIPTS, TEMPLATES, export_run, script_name, unsupported_reason
from genlab.runs import save_run
from genlab.train import train

# case -> (data set, view, tiny hyper-parameters): toys for KL, both image views for dequantization; a case
# is its family's name, then a word for a second setting of it worth a script of its own ("nsf box")
CASES = {
    "gaussian": ("toy:8gaussians", None, {}),
    "gmm": ("toy:8gaussians", None, {"num_components": 3}),
    "kde": ("digits", "binary", {"max_points": 200, "num_bandwidths": 4}),
    "realnvp": ("digits", "gray8", {"num_layers": 2, "hidden_units": 8, "hidden_layers": 1}),
    "nsf": ("toy:8gaussians", None, {"num_layers": 2, "hidden_units": 8, "hidden_layers": 1, "num_bins": 4}),
    "nsf box": ("toy:checkerboard", None, {"support": "box", "num_layers": 1, "hidden_units": 8, "hidden_layers": 1,
                                           "num_bins": 4}),
    "bernoulli": ("digits", "gray8", {}),
    "bernoulli-mixture": ("digits", "binary", {"num_components": 3, "max_iterations": 5}),
    "fvsbn": ("digits", "binary", {}),
    "nade": ("digits", "binary", {"hidden_units": 8}),
    "made": ("digits", "gray8", {"num_masks": 2, "hidden_units": 16}),
    "pixelcnn": ("digits", "binary", {"channels": 4, "first_kernel": 3, "residual_blocks": 1}),
    "vae": ("digits", "gray8", {"latent_dim": 2, "hidden_units": 16, "hidden_layers": 1, "iw_samples": 8}),
}
YARDSTICKS = ("test_nll_nats", "bits_per_dim", "kl_nats")
ALONE = "vae"  # runs exactly as a user would: `python -I vae_tiny.py`, and `--train --steps 5`
# Every other script runs in one clean interpreter, in turn, as __main__ from its own folder: each
# interpreter of its own would spend ~2 s of CPU importing torch, too much for a busy test box.
RUN_IN_TURN = """
import contextlib, io, json, os, runpy, sys, traceback
results = {}
for folder in sys.argv[1:]:
    script = os.path.basename(folder) + ".py"
    os.chdir(folder)
    sys.argv = [script]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(script, run_name="__main__")
        results[folder] = {"returncode": 0, "stdout": out.getvalue(), "stderr": ""}
    except BaseException:
        results[folder] = {"returncode": 1, "stdout": out.getvalue(), "stderr": traceback.format_exc()}
print(json.dumps(results))
"""


def family_of(case: str) -> str:
    return case.split()[0]


def small(name: str, view: str | None) -> Dataset:
    """The named set cut to a few hundred items: GenLab's evaluation and the script's stay quick."""
    ds = genlab.load_dataset(name, view=view)
    return dataclasses.replace(ds, train=ds.train[:400], test=ds.test[:150], labels_train=None, labels_test=None)


def clean_python(*args, cwd) -> subprocess.CompletedProcess:
    """A clean interpreter: isolated mode (no PYTHONPATH, no user site), cwd outside the repository, one thread."""
    env = {"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-I", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def run_scripts(folders) -> dict:
    """Each script's (returncode, stdout, stderr) from one clean interpreter, by folder."""
    proc = clean_python("-c", RUN_IN_TURN, *map(str, folders), cwd=folders[0].parent)
    assert proc.returncode == 0, proc.stderr
    return {folder: subprocess.CompletedProcess([], **result) for folder, result in
            zip(folders, json.loads(proc.stdout).values())}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """family -> (GenLab's evaluation of the tiny run, the unzipped script folder, the script's run);
    "alone" and "trained" -> the ALONE family's script run in a clean interpreter of its own."""
    root = tmp_path_factory.mktemp("export")
    data = {key: small(*key) for key in {(name, view) for name, view, _ in CASES.values()}}
    out = {}
    for case, (name, view, hparams) in CASES.items():
        ds = data[name, view]
        torch.manual_seed(0)
        model = genlab.create_model(family_of(case), ds, **hparams)
        result = train(model, ds, seconds=60, seed=0, max_steps=3)
        summary = {**evaluate(model, ds), "train": result.to_json()}
        folder = save_run(root / "runs" / f"{case.replace(' ', '-')}-tiny", model, ds, 0, 60, summary)
        zipfile.ZipFile(io.BytesIO(export_run(folder, ds))).extractall(root / "scripts")
        out[case] = (summary, root / "scripts" / script_name(folder.name))
    alone = out[ALONE][1]
    jobs = {
        "in turn": lambda: run_scripts([folder for _, folder in out.values()]),
        "alone": lambda: clean_python(f"{alone.name}.py", cwd=alone),
        "trained": lambda: clean_python(f"{alone.name}.py", "--train", "--steps", "5", cwd=alone),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        done = {name: pool.submit(job) for name, job in jobs.items()}
    runs = done["in turn"].result()
    return {family: (summary, folder, runs[folder]) for family, (summary, folder) in out.items()} | {
        "alone": done["alone"].result(), "trained": done["trained"].result()}


def printed(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_covered_family_is_tested():
    assert set(map(family_of, CASES)) == set(SCRIPTS)


@pytest.mark.parametrize("family", SCRIPTS)
def test_template_reads_every_hyper_parameter_of_its_family(family):
    """A setting the family gains and its script ignores would make the script a different model."""
    _, parts = SCRIPTS[family]
    text = "".join((TEMPLATES / f"{part}.py-tpl").read_text() for part in (*parts, "run"))
    read = set(re.findall(r'hparams\["(\w+)"\]', text, flags=re.IGNORECASE))
    assert {f.name for f in genlab.models.family(family).config_class.fields()} <= read


@pytest.mark.parametrize("case", CASES)
def test_script_reproduces_the_held_out_number(exported, case):
    summary, _, proc = exported[case]
    out = printed(proc)
    compared = [key for key in YARDSTICKS if summary.get(key) is not None]
    assert "test_nll_nats" in compared and ("kl_nats" in compared) == CASES[case][0].startswith("toy:")
    for key in compared:
        assert out[key] == pytest.approx(summary[key], rel=1e-5, abs=1e-6), key
    assert out["n_test"] == summary["n_test"]
    assert out["genlab_reported"]["test_nll_nats"] == summary["test_nll_nats"]


@pytest.mark.parametrize("case", CASES)
def test_script_imports_only_torch_and_the_standard_library(exported, case):
    _, folder, _ = exported[case]
    tree = ast.parse((folder / f"{folder.name}.py").read_text())
    modules = {alias.name.split(".")[0]
               for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "torch" in modules
    assert all(m == "torch" or m in sys.stdlib_module_names for m in modules), modules


@pytest.mark.parametrize("case", CASES)
def test_script_trains_from_scratch(exported, case, capsys):
    """`--train` runs for every case; a closed-form fit with the run's seed lands on the run's numbers."""
    summary, folder, _ = exported[case]
    script = runpy.run_path(str(folder / f"{folder.name}.py"), run_name="exported")
    out = script["main"](["--train", "--steps", "3", "--check-every", "2"])
    assert json.loads(capsys.readouterr().out) == out
    assert math.isfinite(out["test_nll_nats"])
    if script["MODEL"].trainable:
        assert out["trained"]["steps"] == 3 and out["trained"]["best_step"] in (2, 3)
    else:
        assert out["test_nll_nats"] == pytest.approx(summary["test_nll_nats"], rel=1e-5)


def test_script_runs_alone_in_a_clean_interpreter(exported):
    """`python -I script.py` and `--train --steps 5`, exactly as a user runs them."""
    summary, _, in_turn = exported[ALONE]
    assert printed(exported["alone"]) == printed(in_turn)
    trained = printed(exported["trained"])
    assert trained["trained"]["steps"] == 5 and math.isfinite(trained["test_nll_nats"])


def test_the_zip_holds_the_script_weights_and_data(exported):
    _, folder, _ = exported["made"]
    assert sorted(p.name for p in folder.iterdir()) == ["data.pt", "made_tiny.py", "weights.pt"]
    data = torch.load(folder / "data.pt", weights_only=True)
    assert data["train"].dtype == torch.uint8 and data["test"].shape == (150, 1, 8, 8)


def test_unsupported_family_and_in_memory_data_are_refused(tmp_path, points_ds):
    gan = genlab.create_model("gan", points_ds)
    folder = save_run(tmp_path / "gan", gan, points_ds, 0, 1, {})
    with pytest.raises(ValueError, match="cannot be exported as a script yet.*made"):
        export_run(folder)
    assert "gaussian" in unsupported_reason({"family": "gan"}) and unsupported_reason({"family": "made"}) is None
    gaussian = genlab.create_model("gaussian", points_ds)
    folder = save_run(tmp_path / "gaussian", gaussian, points_ds, 0, 1, {})
    with pytest.raises(ValueError, match="in-memory tensors"):
        export_run(folder)


def test_export_module_does_not_import_streamlit():
    tree = ast.parse(open(genlab.export.__file__).read())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(name.split(".")[0] == "streamlit" for name in names)
