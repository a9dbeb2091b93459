"""The image yardstick: the Fréchet distance against closed forms, its sanity cases on digits (held-out
images near 0, noise and constant images far, missing classes seen), its ranking of exact families
like their NLL, and the classifier's shipping and caching."""
import numpy as np
import pytest
import scipy.linalg
import torch

import genlab
from genlab import features
from genlab.features import class_coverage, classifier_for, data_digest, frechet_distance, image_metrics


@pytest.fixture(scope="module")
def digits():
    return genlab.load_dataset("digits")


def gaussian(n, mean, cov, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.as_tensor(mean) + torch.randn(n, len(mean), generator=g, dtype=torch.float64) @ torch.linalg.cholesky(
        torch.as_tensor(cov, dtype=torch.float64)).T


def test_frechet_distance_in_one_dimension_is_the_gap_in_means_and_in_deviations():
    a, b = gaussian(50, [0.0], [[1.0]], 0), gaussian(70, [2.0], [[4.0]], 1)
    mean_gap = float(a.mean() - b.mean()) ** 2
    deviation_gap = float(a[:, 0].std() - b[:, 0].std()) ** 2
    assert frechet_distance(a, b) == pytest.approx(mean_gap + deviation_gap, rel=1e-9)


def test_frechet_distance_matches_scipy_on_covariances_that_do_not_commute():
    a = gaussian(400, [0.0, 1.0, 0.0], [[2.0, 0.9, 0.0], [0.9, 1.0, 0.3], [0.0, 0.3, 0.5]], 0)
    b = gaussian(300, [1.0, 0.0, 0.0], [[0.5, -0.2, 0.1], [-0.2, 3.0, 0.0], [0.1, 0.0, 1.0]], 1)
    ca, cb = np.cov(a.numpy().T), np.cov(b.numpy().T)
    cross = scipy.linalg.sqrtm(ca @ cb).real
    expected = float(((a.mean(0) - b.mean(0)) ** 2).sum()) + np.trace(ca + cb - 2 * cross)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_with_singular_covariances_and_its_limits():
    few = gaussian(5, [0.0] * 8, np.eye(8), 0)  # 5 rows, 8 features: a covariance of rank 4
    constant = torch.ones(6, 8)  # a covariance of 0
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-9)
    expected = float((few.mean(0) - 1).square().sum() + few.T.cov().trace())  # the cross term is 0
    assert frechet_distance(few, constant) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(torch.zeros(5, 2), torch.ones(5, 2)) == pytest.approx(2.0)
    assert frechet_distance(few, torch.full((5, 8), float("nan"))) == float("inf")  # a diverged model's samples
    with pytest.raises(ValueError, match="two items"):
        frechet_distance(few[:1], few)
    with pytest.raises(ValueError, match="shaped"):
        frechet_distance(few, few[:, :3])


def test_class_coverage_counts_classes_above_a_quarter_of_a_uniform_share():
    labels = torch.tensor([0] * 50 + [1] * 40 + [2] * 8 + [3] * 2)  # 100 samples, 10 classes: 2.5 % to count
    logits = torch.nn.functional.one_hot(labels, 10).float()
    out = class_coverage(logits, 10)
    assert out["classes_covered"] == 3 and out["classes_total"] == 10
    shares = torch.tensor([0.5, 0.4, 0.08, 0.02], dtype=torch.float64)
    assert out["class_entropy_nats"] == pytest.approx(float(-(shares * shares.log()).sum()))


def test_held_out_images_score_near_zero_and_noise_or_blank_images_far(digits):
    test, n = digits.test, 180
    held_out = image_metrics(digits, test[:n], test[n : 2 * n])
    noise = image_metrics(digits, torch.randint(2, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0)).float(),
                          test[n : 2 * n])
    blank = image_metrics(digits, torch.zeros(n, 1, 8, 8), test[n : 2 * n])
    assert held_out["frechet_distance"] < 0.25 * noise["frechet_distance"]
    assert held_out["frechet_distance"] < 0.05 * blank["frechet_distance"]
    assert held_out["classes_covered"] == 10 and blank["classes_covered"] == 1


def test_samples_missing_classes_cover_fewer_and_score_farther(digits):
    x, y = digits.train, digits.labels_train
    everything = image_metrics(digits, x[:300], digits.test)
    half = image_metrics(digits, x[y < 5][:300], digits.test)
    one = image_metrics(digits, x[y == 1][:100], digits.test)
    assert (everything["classes_covered"], half["classes_covered"], one["classes_covered"]) == (10, 5, 1)
    assert everything["frechet_distance"] < half["frechet_distance"] < one["frechet_distance"]
    assert one["class_entropy_nats"] < half["class_entropy_nats"] < everything["class_entropy_nats"]


def test_it_ranks_exact_families_like_their_nll(digits):
    """Independent pixels vs mixtures of Bernoullis: the better NLL has the lower Fréchet distance."""
    results = []
    for hparams in ({"family": "bernoulli"}, {"family": "bernoulli-mixture", "num_components": 3},
                    {"family": "bernoulli-mixture", "num_components": 30}):
        model = genlab.create_model(hparams.pop("family"), digits, **hparams)
        genlab.train(model, digits, seconds=1, seed=0)
        results.append(genlab.evaluate(model, digits))
    nll = [r["test_nll_nats"] for r in results]
    fd = [r["frechet_distance"] for r in results]
    assert nll == sorted(nll, reverse=True) and fd == sorted(fd, reverse=True)
    assert all("mmd" in r and r["classes_total"] == 10 and r["frechet_samples"] == len(digits.test)
               for r in results)


def test_unlabelled_or_point_data_get_no_image_yardstick(binary_ds, points_ds):
    model = genlab.create_model("bernoulli", binary_ds)
    genlab.train(model, binary_ds, seconds=0.2, seed=0)
    out = genlab.evaluate(model, binary_ds)
    assert "mmd" in out and "frechet_distance" not in out
    assert classifier_for(points_ds) is None


@pytest.mark.parametrize("name,view", [("digits", "binary"), ("digits", "gray8"), ("mnist5k", "binary"),
                                       ("mnist5k", "gray8")])
def test_the_bundled_sets_have_small_shipped_classifiers_that_recognise_digits(name, view):
    ds = genlab.load_dataset(name, view=view)
    shipped = list(features.SHIPPED.glob(f"{name}-{view}-{data_digest(ds)}.safetensors"))
    assert len(shipped) == 1, "run `python scripts/ship_feature_classifiers.py` after changing the recipe or data"
    assert shipped[0].stat().st_size < 100_000
    net = classifier_for(ds)
    with torch.no_grad():
        accuracy = (net(features.scaled(ds, ds.test)).argmax(1) == ds.labels_test).double().mean()
    assert accuracy > 0.94


def small_labelled(seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(120) % 3
    images = torch.zeros(120, 1, 6, 6)
    for k in range(3):  # class k: a bar in row 2k, plus noise
        images[labels == k, 0, 2 * k] = 1.0
    images = ((images + (torch.rand(images.shape, generator=g) < 0.1)) > 0).float()
    return genlab.from_tensors(images[:90], images[90:], view="binary", labels_train=labels[:90],
                               labels_test=labels[90:])


def test_a_new_labelled_set_trains_once_then_loads_from_the_cache(runs_in_tmp):
    ds = small_labelled()
    features._memory.clear()
    first = classifier_for(ds)
    cached = runs_in_tmp / "cache" / "features" / f"{data_digest(ds)}.safetensors"
    assert cached.is_file()
    features._memory.clear()
    again = classifier_for(ds)
    assert again is not first
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    cached.write_bytes(b"damaged")
    features._memory.clear()
    retrained = classifier_for(ds)  # a damaged cache is trained again, deterministically, and rewritten
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), retrained.state_dict().values()))
    assert cached.stat().st_size > 1000
    assert data_digest(small_labelled(seed=1)) != data_digest(ds)


def test_ship_writes_one_file_per_label_that_is_found_first(tmp_path, monkeypatch, runs_in_tmp):
    monkeypatch.setattr(features, "SHIPPED", tmp_path)
    ds = small_labelled()
    (tmp_path / "small-stale.safetensors").write_bytes(b"old")
    path = features.ship(ds, "small")
    assert [p.name for p in tmp_path.iterdir()] == [path.name] and data_digest(ds) in path.name
    features._memory.clear()
    classifier_for(ds)
    assert not (runs_in_tmp / "cache").exists()  # the shipped file served it: nothing trained, nothing cached


def test_leaderboard_and_bench_show_it_before_pixel_mmd():
    from genlab import leaderboard
    from genlab.bench import format_table

    assert leaderboard.better("frechet_distance") == "lower" and leaderboard.better("classes_covered") == "higher"
    assert leaderboard.yardstick_keys([{"mmd": 0.1, "frechet_distance": 3.0, "classes_total": 10,
                                        "frechet_samples": 360}]) == ["frechet_distance", "mmd"]
    assert leaderboard.headline("binary", [{"mmd": 0.1, "frechet_distance": 3.0}]) == "frechet_distance"
    row = {"family": "gan", "dataset": "digits", "view": "binary", "test_nll_nats": None, "bits_per_dim": None,
           "kl_nats": None, "frechet_distance": 12.34, "classes_covered": 9, "mmd": 0.01, "modes_covered": None,
           "log_prob_kind": None, "num_parameters": 10, "steps": 5, "wall_seconds": 1.0}
    table = format_table({"seconds_budget": 5, "seed": 0, "torch_threads": 1, "rows": [row]})
    assert "FD (features) | classes | MMD²" in table and "| 12.3 | 9 | 0.0100 |" in table
