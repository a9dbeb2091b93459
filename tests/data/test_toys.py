"""The 2-D toys: seeded samples with labels, and a true density that integrates to one and matches them."""
import math
from functools import lru_cache

import pytest
import torch
from scipy import stats

import genlab
from genlab.data.toys import TOYS, TOY_NAMES, NoisyCurves, load_toy

CURVE_TOYS = ("toy:moons", "toy:rings", "toy:spirals", "toy:pinwheel")
COMPONENTS = {  # blobs, dark squares or curves
    "toy:8gaussians": 8, "toy:checkerboard": 8, "toy:moons": 2, "toy:rings": 4, "toy:spirals": 2, "toy:pinwheel": 5,
}
GRID = 400  # cells per side of the grid that integrates p_data over a toy's bounds
BINS = 8  # bins per side for the sample-frequency check; GRID is a multiple of it


def _small(name: str, seed: int = 0):
    return load_toy(name, n_train=2000, n_test=1000, seed=seed)


@lru_cache(maxsize=None)
def _cell_masses(name: str) -> torch.Tensor:
    """p_data at the centre of each of GRID × GRID cells over the bounds, times the cell area: (GRID, GRID) [x, y]."""
    ds = _small(name)
    xmin, xmax, ymin, ymax = ds.bounds
    steps = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
    xs, ys = xmin + (xmax - xmin) * steps, ymin + (ymax - ymin) * steps
    points = torch.cartesian_prod(xs, ys)  # (GRID², 2), y fastest
    cell_area = (xmax - xmin) * (ymax - ymin) / GRID**2
    return (ds.log_prob_true(points).exp() * cell_area).view(GRID, GRID)


def test_names_match_the_table():
    assert TOY_NAMES == ("toy:8gaussians", "toy:checkerboard", "toy:moons", "toy:rings", "toy:spirals", "toy:pinwheel")
    assert set(COMPONENTS) == set(TOY_NAMES)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_shapes_types_and_labels(name):
    ds = load_toy(name, n_train=3000, n_test=700, seed=3)
    assert ds.name == name and ds.view == "continuous" and ds.is_toy
    for x, y, n in ((ds.train, ds.labels_train, 3000), (ds.test, ds.labels_test, 700)):
        assert x.shape == (n, 2) and x.dtype == torch.float32 and torch.isfinite(x).all()
        assert y.shape == (n,) and y.dtype == torch.int64
        assert set(y.tolist()) == set(range(COMPONENTS[name]))  # every component shows up, and no other
    xmin, xmax, ymin, ymax = ds.bounds
    assert xmax - xmin == ymax - ymin > 0  # a square box
    assert ds.description.endswith(".") and ds.description.count(". ") == 0


def test_default_sizes():
    ds = load_toy("toy:rings")
    assert ds.train.shape == (20000, 2) and ds.test.shape == (5000, 2) and ds.source is None


def test_a_number_of_training_points_keeps_the_test_split_and_is_rebuilt_from_the_run(tmp_path):
    default, bigger = genlab.load_dataset("toy:moons"), genlab.load_dataset("toy:moons", points=100_000)
    assert bigger.train.shape == (100_000, 2) and torch.equal(bigger.test, default.test)
    assert bigger.source == {"n_train": 100_000}
    model = genlab.create_model("gaussian", bigger)
    genlab.train_and_save(model, bigger, tmp_path / "run", seconds=1)
    _, rebuilt, info = genlab.load_run(tmp_path / "run")
    assert torch.equal(rebuilt.train, bigger.train) and info["config"]["data_source"] == {"n_train": 100_000}


@pytest.mark.parametrize("points, message", [(99, "100 to 1,000,000"), (10**7, "100 to 1,000,000"), (2.5, "got 2.5")])
def test_a_number_of_points_out_of_range_is_a_sentence(points, message):
    with pytest.raises(ValueError, match=message):
        genlab.load_dataset("toy:moons", points=points)
    with pytest.raises(ValueError, match="only the generated 2-D toys"):
        genlab.load_dataset("digits", points=1000)
    with pytest.raises(ValueError, match="at most 1,000,000"):
        load_toy("toy:moons", n_train=10**7)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_seeded_and_independent_splits(name):
    a, b, other = load_toy(name, 500, 500, seed=7), load_toy(name, 500, 500, seed=7), load_toy(name, 500, 500, seed=8)
    assert torch.equal(a.train, b.train) and torch.equal(a.test, b.test)
    assert torch.equal(a.labels_train, b.labels_train) and torch.equal(a.labels_test, b.labels_test)
    assert not torch.equal(a.train, other.train) and not torch.equal(a.test, other.test)
    assert torch.cdist(a.train, a.test).min() > 0  # no test point repeats a training point


def test_unknown_toy_lists_the_choices():
    with pytest.raises(ValueError, match="toy:8gaussians, toy:checkerboard, .*toy:pinwheel"):
        load_toy("toy:swissroll")


@pytest.mark.parametrize("name", TOY_NAMES)
def test_true_density_integrates_to_one_over_the_bounds(name):
    tolerance = 1e-3 if name == "toy:checkerboard" else 1e-2
    assert float(_cell_masses(name).sum()) == pytest.approx(1.0, abs=tolerance)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_samples_lie_where_the_density_is_high(name):
    ds = _small(name)
    log_p_data = ds.log_prob_true(ds.test)
    assert log_p_data.shape == (1000,) and log_p_data.dtype == torch.float32
    assert torch.isfinite(log_p_data).all()  # every sample has positive density
    xmin, xmax, ymin, ymax = ds.bounds
    uniform = torch.rand(1000, 2, generator=torch.Generator().manual_seed(0))
    uniform = uniform * torch.tensor([xmax - xmin, ymax - ymin]) + torch.tensor([xmin, ymin])
    assert log_p_data.mean() > ds.log_prob_true(uniform).mean() + 1.0


@pytest.mark.parametrize("name", TOY_NAMES)
def test_sample_frequencies_match_the_density(name):
    """Pearson's chi-square over BINS × BINS boxes: counts of 20,000 samples against grid-integrated p_data."""
    ds = load_toy(name, seed=1)
    xmin, xmax, ymin, ymax = ds.bounds
    x = ds.train.double()
    inside = (x[:, 0] >= xmin) & (x[:, 0] < xmax) & (x[:, 1] >= ymin) & (x[:, 1] < ymax)
    ix = ((x[inside, 0] - xmin) / (xmax - xmin) * BINS).long()
    iy = ((x[inside, 1] - ymin) / (ymax - ymin) * BINS).long()
    counts = torch.bincount(ix * BINS + iy, minlength=BINS * BINS).double()
    counts = torch.cat([counts, torch.tensor([float(len(x) - inside.sum())])])  # last: outside the box
    k = GRID // BINS
    probs = _cell_masses(name).view(BINS, k, BINS, k).sum((1, 3)).reshape(-1)  # (BINS²,), [x, y] order
    expected = len(x) * torch.cat([probs, (1 - probs.sum()).clamp(min=0).view(1)])
    # Bins expected to hold fewer than 5 samples are pooled into one, as the chi-square test needs.
    small = expected < 5
    observed = torch.cat([counts[~small], counts[small].sum().view(1)])
    expected = torch.cat([expected[~small], expected[small].sum().view(1)])
    assert observed[expected == 0].sum() == 0  # no sample where p_data is zero
    keep = expected > 0
    chi2 = float(((observed - expected)[keep] ** 2 / expected[keep]).sum())
    assert stats.chi2.sf(chi2, int(keep.sum()) - 1) > 1e-3


@pytest.mark.parametrize("name", CURVE_TOYS)
def test_quadrature_is_converged(name):
    coarse = TOYS[name].make()
    fine = NoisyCurves(coarse.curves, coarse.sigma, panels_per_sigma=4 * coarse.panels_per_sigma)
    x = _small(name).test.double()
    assert (coarse.log_prob(x) - fine.log_prob(x)).abs().max() < 1e-4


@pytest.mark.parametrize("name", TOY_NAMES)
def test_kl_of_the_data_with_itself_is_zero_and_with_a_gaussian_is_not(name):
    ds = _small(name)
    x = ds.test.double()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    log_p = ds.log_prob_true(x)
    log_p_again = torch.empty_like(log_p)
    log_p_again[perm] = ds.log_prob_true(x[perm])  # same points, other order and chunks
    assert torch.isfinite(log_p).all()
    assert float((log_p - log_p_again).mean()) == pytest.approx(0.0, abs=1e-12)
    # Gibbs: KL(p‖q) > 0 for any other q; a Gaussian fitted to the training set is far from these shapes.
    train = ds.train.double()
    gaussian = torch.distributions.MultivariateNormal(train.mean(0), torch.cov(train.T))
    assert float((log_p - gaussian.log_prob(x)).mean()) > 0.1


def test_eight_gaussians_matches_its_closed_form():
    ds = _small("toy:8gaussians")
    angles = torch.arange(8, dtype=torch.float64) * math.pi / 4
    centres = torch.stack([angles.cos(), angles.sin()], 1) * 4 / 1.414
    std = 0.5 / 1.414
    x = torch.cat([ds.test.double()[:200], torch.tensor([[0.0, 0.0], [3.9, -3.9], [-12.0, 7.0]])])
    components = torch.stack([
        torch.tensor(stats.multivariate_normal(c.numpy(), std**2).logpdf(x.numpy())) for c in centres
    ], 1)  # (N, 8)
    expected = torch.logsumexp(components, 1) - math.log(8)
    assert torch.allclose(ds.log_prob_true(x), expected, atol=1e-9, rtol=0)
    nearest = torch.cdist(ds.test.double(), centres).argmin(1)
    assert (nearest == ds.labels_test).double().mean() > 0.98  # labels name the blob each point came from


def test_checkerboard_is_flat_on_dark_squares_and_zero_elsewhere():
    ds = _small("toy:checkerboard")
    x = torch.tensor([[-3.0, -3.0], [1.0, 1.0], [-1.0, -3.0], [4.5, 0.0], [-2.0, -3.0], [0.0, 0.0], [4.0, 4.0]])
    expected = [-math.log(32), -math.log(32), -math.inf, -math.inf, -math.log(32), -math.log(32), -math.log(32)]
    assert ds.log_prob_true(x).tolist() == pytest.approx(expected)  # edges and corners of dark squares count


@pytest.mark.parametrize("name", ("toy:8gaussians", "toy:checkerboard", "toy:spirals"))
def test_odd_points_and_shapes(name):
    ds = _small(name)
    log_p = ds.log_prob_true(torch.tensor([[math.nan, 0.0], [math.inf, 0.0], [0.0, -math.inf]]))
    assert math.isnan(log_p[0]) and log_p[1:].tolist() == [-math.inf, -math.inf]
    assert ds.log_prob_true(torch.empty(0, 2)).shape == (0,)
    with pytest.raises(ValueError, match=r"shaped \(N, 2\)"):
        ds.log_prob_true(torch.zeros(5, 3))
