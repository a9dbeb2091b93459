"""Lesson 2: what a Gaussian and a KDE store and score as the data grow."""
import math

from genlab import concepts


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
