"""The benchmark runs a grid and prints one table; its JSON holds the yardsticks."""
from genlab.bench import format_table, run_bench


def test_bench_on_a_small_grid():
    result = run_bench(seconds=0.5, families=["gaussian", "gmm", "bernoulli"],
                       datasets=["toy:8gaussians", "digits/binary"], concurrency=False)
    pairs = {(r["family"], r["dataset"]) for r in result["rows"]}
    # bernoulli does not fit continuous toys: the grid skips it rather than failing
    assert pairs == {("gaussian", "toy:8gaussians"), ("gmm", "toy:8gaussians"), ("gaussian", "digits"),
                     ("gmm", "digits"), ("bernoulli", "digits")}
    toy = next(r for r in result["rows"] if r["dataset"] == "toy:8gaussians" and r["family"] == "gmm")
    assert toy["kl_nats"] is not None and toy["modes_covered"] is not None and toy["log_prob_kind"] == "exact"
    table = format_table(result)
    assert table.count("\n| ") >= 5 and "KL (nats)" in table and result["torch_threads"] == 1


def test_concurrency_measurement_reports_ratios():
    from genlab.bench import measure_concurrency

    rows = measure_concurrency(seconds=0.5, jobs=(1, 2), threads=(1,))
    assert [r["jobs"] for r in rows] == [1, 2] and rows[0]["throughput_vs_1job_1thread"] == 1.0
    assert all(r["steps_per_second"] > 0 for r in rows)
