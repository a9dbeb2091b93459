"""A drawn density: its log p_data is a normalised mixture, its samples follow it, bad rows are refused."""
import math
from pathlib import Path

import pytest
import torch

from genlab.data.drawn import NAME, check_blobs, drawn_dataset, ring

BLOBS = [(0.0, 0.0, 1.0, 0.5), (2.0, 2.0, 3.0, 0.3), (-3.0, 1.0, 0.0, 0.2)]  # the last one switched off


def integral_on_grid(ds, points: int = 801) -> float:
    xmin, xmax, ymin, ymax = ds.bounds
    xs = torch.linspace(xmin, xmax, points, dtype=torch.float64)
    ys = torch.linspace(ymin, ymax, points, dtype=torch.float64)
    grid = torch.cartesian_prod(xs, ys)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return float(ds.log_prob_true(grid).exp().sum() * cell)


@pytest.mark.parametrize("blobs", [BLOBS, ring(), [(1.0, -1.0, 2.0, 0.1)]], ids=["mixed", "ring", "one"])
def test_log_prob_true_integrates_to_one(blobs):
    ds = drawn_dataset(blobs, n_train=100, n_test=100)
    assert integral_on_grid(ds) == pytest.approx(1.0, abs=2e-3)


def test_log_prob_true_is_the_mixture():
    ds = drawn_dataset(BLOBS, n_train=10, n_test=10)
    x = torch.tensor([[2.0, 2.0], [0.3, -0.1]])

    def normal(x, mu, s):
        return math.exp(-((x[0] - mu[0]) ** 2 + (x[1] - mu[1]) ** 2) / (2 * s * s)) / (2 * math.pi * s * s)
    for point, got in zip(x.tolist(), ds.log_prob_true(x).tolist()):
        want = 0.25 * normal(point, (0, 0), 0.5) + 0.75 * normal(point, (2, 2), 0.3)
        assert got == pytest.approx(math.log(want), rel=1e-5)


def test_samples_follow_the_weights_and_skip_switched_off_blobs():
    ds = drawn_dataset(BLOBS, n_train=20000, n_test=500, seed=1)
    assert ds.name == NAME and ds.is_toy and ds.view == "continuous"
    share = (ds.labels_train == 1).float().mean().item()
    assert share == pytest.approx(0.75, abs=0.02)
    near_off_blob = ((ds.train - torch.tensor([-3.0, 1.0])).norm(dim=1) < 0.2).float().mean().item()
    assert near_off_blob < 0.001
    # the average log-density of its own samples estimates −entropy: finite and close between splits
    assert ds.log_prob_true(ds.test).mean().item() == pytest.approx(ds.log_prob_true(ds.train).mean().item(), abs=0.1)


def test_same_seed_same_data():
    a, b = drawn_dataset(BLOBS, 50, 50, seed=3), drawn_dataset(BLOBS, 50, 50, seed=3)
    assert torch.equal(a.train, b.train) and not torch.equal(a.train, a.test)


def test_one_std_gives_modes_for_coverage():
    ds = drawn_dataset(ring(blobs=8, std=0.2), 10, 10)
    centres, sigma = ds.modes
    assert centres.shape == (8, 2) and sigma == pytest.approx(0.2)
    assert drawn_dataset(BLOBS, 10, 10).modes is None


@pytest.mark.parametrize("blobs, message", [
    ([], "at least one blob"),
    ([(0, 0, 1, 0)], "std"),
    ([(0, 0, -1, 0.3)], "negative"),
    ([(9, 0, 1, 0.3)], "off the canvas"),
    ([(0, 0, 0, 0.3)], "Every weight is zero"),
    ([(0, 0, float("nan"), 0.3)], "four numbers"),
])
def test_bad_rows_are_refused_with_a_sentence(blobs, message):
    with pytest.raises(ValueError, match=message):
        check_blobs(blobs)


def test_a_run_on_a_drawn_density_rebuilds_it_in_a_fresh_process(tmp_path):
    """The run records its blobs, so load_run in a new interpreter, with no session state, gets the
    same points and the same KL back."""
    import json
    import os
    import subprocess
    import sys

    import genlab

    blobs = [(-1.5, 0.5, 2.0, 0.4), (1.0, -1.0, 1.0, 0.2), (2.5, 2.5, 0.5, 0.6)]
    ds = drawn_dataset(blobs, n_train=2000, n_test=500, seed=5)
    summary = genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "run", seconds=2, seed=0)
    script = (
        "import json, sys, genlab\n"
        "model, ds, info = genlab.load_run(sys.argv[1])\n"
        "print(json.dumps({'kl': genlab.evaluate(model, ds)['kl_nats'], 'train': ds.train.sum().item(),\n"
        "                  'blobs': info['config']['data_source']['blobs'], 'name': ds.name}))\n"
    )
    repo = Path(genlab.__file__).parents[1]
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run")], capture_output=True, text=True,
                         check=True, env={**os.environ, "GENLAB_THREADS": "1"}, cwd=str(repo))
    fresh = json.loads(out.stdout)
    assert fresh["name"] == NAME and fresh["blobs"] == [list(b) for b in blobs]
    assert fresh["train"] == pytest.approx(ds.train.sum().item(), rel=1e-6)
    assert fresh["kl"] == pytest.approx(summary["kl_nats"], abs=1e-6)
    assert summary["kl_nats"] > 0.1  # one Gaussian cannot fit three blobs: a KL that would expose wrong data


def test_a_drawn_run_saved_without_its_blobs_loads_without_data(tmp_path):
    import json

    import genlab

    ds = drawn_dataset(ring(blobs=4), n_train=200, n_test=100)
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "old", seconds=1)
    config_path = tmp_path / "old" / "config.json"
    config = json.loads(config_path.read_text())
    del config["data_source"]  # as runs were written before they recorded their blobs
    config_path.write_text(json.dumps(config))
    model, loaded, _ = genlab.load_run(tmp_path / "old")
    assert loaded is None and model.name == "gaussian"


@pytest.mark.parametrize("row, words", [((0, 0, 1e308, 0.3), "weight"), ((0, 0, 1, 1e300), "std")])
def test_blobs_whose_weights_or_widths_would_break_the_maths_are_refused_plainly(row, words):
    # a link once carried weights summing to infinity (NaN mixture weights) and a std that broke a Cholesky
    with pytest.raises(ValueError, match=words):
        check_blobs([row, (1, 1, 1, 0.3)])
