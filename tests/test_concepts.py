"""The Concepts maths: Bayes' rule, the learning curve, growing data, counting inputs, downsampling, probes."""
import math

import numpy as np
import pytest
import torch

import genlab
from genlab import concepts
from genlab.data.base import from_tensors

SIGMA = torch.tensor([[1.0, 0.6], [0.6, 2.0]])
MEANS = torch.tensor([[-1.0, 0.5], [1.5, -0.5]])
PRIORS = torch.tensor([0.3, 0.7])


def shared_covariance_log_likelihood(x: torch.Tensor) -> np.ndarray:
    """log N(x; μ_k, Σ) for both classes, shape (N, 2)."""
    dists = [torch.distributions.MultivariateNormal(m.double(), SIGMA.double()) for m in MEANS]
    return torch.stack([d.log_prob(x.double()) for d in dists], 1).numpy()


def analytic_log_odds(x: torch.Tensor) -> np.ndarray:
    """log p(1|x) − log p(0|x) = wᵀx + b for two Gaussians with one covariance (a linear boundary)."""
    inverse = torch.linalg.inv(SIGMA.double())
    mu0, mu1 = MEANS.double()
    w = inverse @ (mu1 - mu0)
    b = -0.5 * (mu1 @ inverse @ mu1 - mu0 @ inverse @ mu0) + math.log(PRIORS[1] / PRIORS[0])
    return (x.double() @ w + b).numpy()


def two_gaussians(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand(n, generator=g) < PRIORS[1]).long()
    x = MEANS[y] + torch.randn(n, 2, generator=g) @ torch.linalg.cholesky(SIGMA).T
    return x, y


# ---- Bayes' rule ------------------------------------------------------------------------
def test_bayes_posterior_sums_to_one_and_matches_the_linear_boundary():
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 3
    log_post = concepts.bayes_log_posterior(shared_covariance_log_likelihood(x), PRIORS.log().numpy())
    assert np.allclose(np.exp(log_post).sum(1), 1.0, atol=1e-12)
    assert np.allclose(log_post[:, 1] - log_post[:, 0], analytic_log_odds(x), atol=1e-9)


def test_bayes_posterior_is_stable_far_out_and_falls_back_to_the_prior_when_nothing_fits():
    log_likelihood = np.array([[-1e4, -1e4 - 2.0], [-np.inf, -np.inf]])
    log_post = concepts.bayes_log_posterior(log_likelihood, np.log([0.5, 0.5]))
    assert np.allclose(np.exp(log_post[0]), [1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2))])
    assert np.allclose(np.exp(log_post[1]), [0.5, 0.5])


def test_fitted_per_class_gaussians_find_the_analytic_boundary():
    x, y = two_gaussians(4000, seed=1)
    ds = from_tensors(x, x[:1], view="continuous")
    model = concepts.make_classifier("gaussian", ds.spec).fit(x, y, num_classes=2)
    grid = torch.randn(2000, 2, generator=torch.Generator().manual_seed(2)) * 2
    log_post = model.predict_log_proba(grid)
    assert np.allclose(np.exp(log_post).sum(1), 1.0)
    agree = (log_post.argmax(1) == (analytic_log_odds(grid) > 0)).mean()
    assert agree > 0.97
    assert np.allclose(np.exp(model.log_prior), PRIORS.numpy(), atol=0.03)


def test_the_generative_side_samples_a_class_and_flags_inputs_that_fit_no_class():
    ds = concepts.gaussian_blobs(600, 300, seed=0)
    model = concepts.make_classifier("naive_bayes", ds.spec).fit(ds.train, ds.labels_train, num_classes=3)
    samples = model.sample(2, 500, torch.Generator().manual_seed(0))
    assert samples.shape == (500, 2)
    assert torch.allclose(samples.mean(0), ds.train[ds.labels_train == 2].mean(0), atol=0.15)
    cut = concepts.novelty_threshold(model, ds.train, percentile=1.0)
    flagged_test = concepts.fits_no_class(model, ds.test, cut).mean()
    assert flagged_test < 0.05  # about 1 % of held-out points, as for the training points
    far = torch.tensor([[30.0, 30.0], [-25.0, 0.0]])
    assert concepts.fits_no_class(model, far, cut).all()
    assert np.exp(model.predict_log_proba(far).max(1)).min() > 0.5  # yet p(y|x) still picks a class


def test_a_family_without_a_normalised_density_is_refused():
    ds = concepts.gaussian_blobs(60, 30, seed=0)
    assert "gan" not in concepts.density_families(ds.spec)
    assert {"gaussian", "kde", "realnvp"} <= set(concepts.density_families(ds.spec))


# ---- the learning curve -------------------------------------------------------------------
class Recorder(concepts.Classifier):
    """Predicts class 0 and remembers which items it was fitted on and asked about (ids in column 0)."""

    fitted_on: list = []
    asked_about: list = []

    def _fit(self, x, y):
        Recorder.fitted_on.append((x[:, 0].long().tolist(), y.tolist()))

    def predict_log_proba(self, x):
        Recorder.asked_about.append(x[:, 0].long().tolist())
        out = np.full((len(x), self.num_classes), -np.inf)
        out[:, 0] = 0.0
        return out


def test_the_learning_curve_fits_on_train_items_and_scores_on_disjoint_test_items():
    train_ids, test_ids = torch.arange(0, 90), torch.arange(1000, 1060)
    train = torch.stack([train_ids.float(), torch.zeros(90)], 1)
    test = torch.stack([test_ids.float(), torch.zeros(60)], 1)
    ds = from_tensors(train, test, view="continuous", labels_train=train_ids % 3, labels_test=test_ids % 3)
    Recorder.fitted_on, Recorder.asked_about = [], []
    rows = concepts.learning_curve(ds, {"recorder": lambda seed: Recorder(ds.spec, seed)}, sizes=[5, 10, None],
                                   repeats=2, seed=0)
    assert [r["n_train"] for r in rows] == [15, 30, 90] * 2
    for ids, labels in Recorder.fitted_on:
        assert set(ids) <= set(train_ids.tolist())
        assert labels == [i % 3 for i in ids]  # each item keeps its own label
        assert np.bincount(labels).min() == np.bincount(labels).max()  # class-balanced
    for ids in Recorder.asked_about:
        assert ids == test_ids.tolist()
    assert all(r["accuracy"] == pytest.approx(1 / 3) for r in rows)
    assert Recorder.fitted_on[0][0] != Recorder.fitted_on[3][0]  # repeats draw fresh subsets


def test_the_learning_curve_runs_both_kinds_and_reads_its_own_verdict():
    ds = concepts.gaussian_blobs(300, 300, seed=0)
    builders = {name: (lambda seed, name=name: concepts.make_classifier(name, ds.spec, seed))
                for name in ("logistic", "naive_bayes")}
    rows = concepts.learning_curve(ds, builders, sizes=[5, None], repeats=2, seed=0)
    assert {r["kind"] for r in rows} == {"discriminative", "generative"}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert all(r["accuracy"] > 0.6 for r in rows if r["n_train"] == 300)  # chance is 1/3
    assert "curves" in concepts.curve_verdict(rows)["sentence"]


def verdict_rows(small: tuple[float, float], large: tuple[float, float]) -> list[dict]:
    rows = []
    for per_class, (gen, disc) in ((5, small), (500, large)):
        rows += [{"classifier": "nb", "kind": "generative", "per_class": per_class, "accuracy": gen},
                 {"classifier": "lr", "kind": "discriminative", "per_class": per_class, "accuracy": disc}]
    return rows


def test_the_verdict_says_what_the_curve_shows():
    crossing = concepts.curve_verdict(verdict_rows((0.80, 0.70), (0.90, 0.95)))
    assert crossing["cross"] and crossing["sentence"].startswith("The curves cross")
    never = concepts.curve_verdict(verdict_rows((0.70, 0.80), (0.90, 0.95)))
    assert not never["cross"] and "do not cross" in never["sentence"]
    level = concepts.curve_verdict(verdict_rows((0.805, 0.80), (0.90, 0.95)))
    assert level["leaders"][0][1] == "level" and not level["cross"]


# ---- parametric vs. non-parametric ---------------------------------------------------------
def test_growth_sizes_run_from_ten_to_all():
    assert concepts.growth_sizes(1438) == [10, 30, 100, 300, 1000, 1438]
    assert concepts.growth_sizes(20000)[-2:] == [10000, 20000]
    assert concepts.growth_sizes(10) == [10]


def test_a_kde_stores_its_data_and_a_gaussian_does_not(points_ds):
    models = concepts.growth_models(points_ds.spec, deep=False)
    rows = concepts.growth_curve(points_ds, models, sizes=[20, 200, 600], seed=0)
    stored = {(r["model"], r["n"]): r["num_parameters"] for r in rows}
    assert stored[("Gaussian", 20)] == stored[("Gaussian", 600)] == 2 + 4  # mean and Cholesky factor
    for n in (20, 200, 600):  # the trainer holds a tenth out to choose the bandwidth
        assert stored[("KDE", n)] == (n - round(n / 10)) * 2 + 1
    assert all(math.isfinite(r["test_nll_nats"]) and r["fit_seconds"] >= 0 for r in rows)
    assert "Gaussian" in concepts.growth_verdict(rows, dim=2)


def growth_rows(gaussian: tuple[float, float], kde: tuple[float, float]) -> list[dict]:
    return [{"model": model, "n": n, "test_nll_nats": nll}
            for model, values in (("Gaussian", gaussian), ("KDE", kde)) for n, nll in zip((10, 1000), values)]


def test_the_growth_verdict_follows_the_numbers():
    assert "overtakes it by n = 1,000" in concepts.growth_verdict(growth_rows((3.0, 2.9), (9.0, 2.5)), dim=2)
    reversed_ = concepts.growth_verdict(growth_rows((900.0, 30.0), (50.0, 45.0)), dim=64)
    assert reversed_.startswith("Reversed") and "singular" in reversed_  # 10 points in 64 dimensions
    assert "singular" not in concepts.growth_verdict(growth_rows((900.0, 30.0), (50.0, 45.0)), dim=2)


# ---- the curse of dimensionality -----------------------------------------------------------
def test_the_notes_example_counted_correctly():
    log10 = concepts.log10_possible_inputs(**concepts.NOTES_IMAGE)
    assert math.floor(log10) == 7_080_225  # 256^2,940,000, not the notes' 10^800000
    mantissa, exponent = concepts.power_of_ten(log10)
    assert exponent == 7_080_225 and 3.1 < mantissa < 3.2
    assert concepts.format_power_of_ten(log10) == "3.15 × 10^7,080,225"


def test_binary_mnist_has_ten_to_the_236_possible_images():
    log10 = concepts.log10_possible_inputs(28, 28, 1, 2)
    assert f"{log10:.1f}" == "236.0"
    assert concepts.log10_possible_inputs(1, 1, 1, 10) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="levels"):
        concepts.log10_possible_inputs(28, 28, 1, 0)


@pytest.mark.parametrize("source,view,size",
                         [("digits", "binary", 4), ("digits", "gray8", 4), ("mnist5k", "gray8", 16)])
def test_downsampling_keeps_the_view_domain_labels_and_split(source, view, size):
    ds = genlab.load_dataset(source, view=view)
    small = concepts.downsample(ds, size)
    assert small.shape == (1, size, size) and small.view == view and small.levels == ds.levels
    for x in (small.train, small.test):
        assert ((x >= 0) & (x <= ds.levels - 1) & (x == x.round())).all()
    assert torch.equal(small.labels_train, ds.labels_train) and len(small.test) == len(ds.test)
    assert genlab.fits("kde", small.spec) is None


def test_downsampling_averages_blocks():
    block = torch.tensor([[0.0, 2.0], [4.0, 6.0]]).repeat(1, 1, 1, 1)  # one 2×2 gray8 image
    ds = from_tensors(block, block, view="gray8", levels=17)
    assert concepts.downsample(ds, 1).train.item() == 3.0
    with pytest.raises(ValueError, match="between 1 and 2"):
        concepts.downsample(ds, 3)


# ---- downstream inference -------------------------------------------------------------------
def test_a_linear_probe_on_learned_features_beats_chance_on_digits():
    ds = genlab.load_dataset("digits")
    model = genlab.create_model("gaussian", ds)  # encode(x) is the whitened code L⁻¹(x − μ)
    genlab.train(model, ds, seconds=5, seed=0)
    rows = concepts.probe_comparison(model, ds, per_class=(10, None), repeats=1, seed=0)
    assert {r["features"] for r in rows} == {"raw pixels", f"{model.title} features"}
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert all(r["accuracy"] > 0.5 for r in rows if r["per_class"] is None)  # chance is 0.1
    assert "raw pixels" in concepts.probe_summary(rows)


def test_a_probe_needs_a_model_that_encodes():
    ds = genlab.load_dataset("digits")
    with pytest.raises(ValueError, match="encode"):
        concepts.probe_comparison(genlab.create_model("kde", ds), ds)
