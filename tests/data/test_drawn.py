"""A drawn density: its log p_data is a normalised mixture, its samples follow it, bad rows are refused."""
import math

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
