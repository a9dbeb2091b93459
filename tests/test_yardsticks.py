"""The shared yardsticks: MMD, grid normalisation, sample-based KL, mode coverage."""
import math

import numpy as np
import pytest
import torch

import genlab
from genlab.yardsticks import grid_kl, grid_log_prob, median_distance, mmd2, mode_coverage, sample_log_density


def gaussian_samples(n, shift, seed):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) + shift


def test_mmd_is_zero_in_expectation_for_one_distribution():
    values = [mmd2(gaussian_samples(300, 0.0, s), gaussian_samples(300, 0.0, 100 + s), 1.0) for s in range(20)]
    assert abs(np.mean(values)) < 3 * np.std(values) / math.sqrt(len(values)) + 1e-4
    assert min(values) < 0 < max(values)  # unbiased: it can go either way by chance


def test_mmd_grows_with_a_mean_shift():
    ref = gaussian_samples(400, 0.0, 0)
    scale = median_distance(ref)
    values = [mmd2(gaussian_samples(400, shift, 1), ref, scale) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[-1] > 0.1


def test_grid_normalisation_reproduces_a_known_kl():
    ds = genlab.load_dataset("toy:8gaussians")
    x = ds.test[:2000]
    # an unnormalised isotropic Gaussian: log p̃ = -|x|²/2s² + 7 (an arbitrary offset)
    s = 1.2  # narrow enough that the box holds all but ~1e-3 of the mass
    unnormalised = lambda p: -(p.double() ** 2).sum(1) / (2 * s * s) + 7.0  # noqa: E731
    normal = torch.distributions.Normal(0.0, s)
    exact = float((ds.log_prob_true(x).double() - normal.log_prob(x.double()).sum(1)).mean())
    assert grid_kl(unnormalised, ds, x, n=300) == pytest.approx(exact, abs=0.02)
    grid, log_z = grid_log_prob(unnormalised, ds.bounds, n=300)
    assert log_z == pytest.approx(7.0 + math.log(2 * math.pi * s * s), abs=0.05)


def test_sample_based_density_recovers_the_data_density():
    ds = genlab.load_dataset("toy:8gaussians")
    log_p_hat = sample_log_density(ds.train, ds.bounds)
    kl = float((ds.log_prob_true(ds.test).double() - log_p_hat(ds.test)).mean())
    assert 0 <= kl < 0.1  # a KDE of the data itself is close to p_data


def test_mode_coverage_counts_modes_and_strays():
    centres = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    samples = torch.cat([centres[0] + 0.1 * torch.randn(90, 2), torch.full((10, 2), 20.0)])
    result = mode_coverage(samples, centres, sigma=0.3)
    assert result["modes_covered"] == 1 and result["modes_total"] == 3
    assert result["far_share"] == pytest.approx(0.1)


def test_eight_gaussians_test_points_cover_all_modes():
    ds = genlab.load_dataset("toy:8gaussians")
    centres, sigma = ds.modes
    result = mode_coverage(ds.test, centres, sigma)
    assert result["modes_covered"] == 8 and result["far_share"] < 0.02


def test_a_test_point_the_model_gives_zero_probability_makes_the_nll_infinite_not_minus_infinite(points_ds):
    from genlab.evaluate import evaluate

    class Nowhere(genlab.create_model("gaussian", points_ds).__class__):
        def log_prob(self, x):
            out = super().log_prob(x)
            out[0] = -math.inf
            return out

    model = Nowhere(genlab.create_model("gaussian", points_ds).config, points_ds.spec)
    genlab.train(model, points_ds, seconds=1)
    out = evaluate(model, points_ds)
    assert out["test_nll_nats"] == math.inf
