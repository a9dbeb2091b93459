"""The benchmark runs a grid and prints one table; its JSON holds the yardsticks."""
import pytest

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


def test_preset_candidates_try_coinciding_settings_once():
    from genlab.bench import preset_candidates

    candidates = preset_candidates("fvsbn", "image-binary")
    assert candidates[0]["role"] == "defaults" and candidates[0]["names"][0] == "defaults"
    settings = [tuple(sorted(c["hparams"].items())) for c in candidates]
    assert len(settings) == len(set(settings))
    names = [n for c in candidates for n in c["names"]]
    assert "Logistic chain" in names and not any("broken" in n for n in names)


def test_preset_bench_marks_the_best_setting_and_merges_into_the_file(tmp_path):
    import json

    from genlab.bench import format_preset_table, run_preset_bench, write_measured

    result = run_preset_bench(seconds=0.3, families=["gaussian", "fvsbn"], kinds=["toy", "image-binary"], repeats=2)
    groups = {(g["family"], g["kind"]): g for g in result["groups"]}
    runs = groups["fvsbn", "image-binary"]["candidates"][0]["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and all(r["steps"] > 0 for r in runs)
    assert groups["fvsbn", "image-binary"]["candidates"][0]["value"] == pytest.approx(
        (runs[0]["test_nll_nats"] + runs[1]["test_nll_nats"]) / 2)
    assert set(groups) == {("gaussian", "toy"), ("fvsbn", "image-binary")}
    assert groups["gaussian", "toy"]["yardstick"] == "kl_nats"
    assert groups["fvsbn", "image-binary"]["yardstick"] == "test_nll_nats"
    for g in groups.values():
        best = min(c["value"] for c in g["candidates"])
        assert [c["winner"] for c in g["candidates"]] == [c["value"] == best for c in g["candidates"]]
    path = tmp_path / "measured.json"
    path.write_text(json.dumps({"groups": [{**groups["gaussian", "toy"], "date": "old"},
                                           {**groups["gaussian", "toy"], "kind": "image-gray8"}]}))
    merged = json.loads(write_measured(result, path).read_text())["groups"]
    assert [(g["family"], g["kind"], g["date"] == "old") for g in merged] == [
        ("gaussian", "toy", False), ("fvsbn", "image-binary", False), ("gaussian", "image-gray8", False)]
    assert "✓" in format_preset_table(result) and "Logistic chain" in format_preset_table(result)


def test_cli_bench_presets_prints_one_json_object(capsys):
    import json

    from genlab.cli import main

    assert main(["bench", "--presets", "--seconds", "0.2", "--models", "gaussian", "--kinds", "toy", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [(g["family"], g["kind"]) for g in result["groups"]] == [("gaussian", "toy")]
    assert main(["bench", "--kinds", "toy"]) == 2 and "--presets" in capsys.readouterr().err


def test_write_keeps_what_was_written_by_hand_around_the_generated_section(tmp_path):
    from genlab.bench import BEGIN, END, write_benchmarks

    result = run_bench(seconds=0.3, families=["gaussian"], datasets=["toy:8gaussians"], concurrency=False)
    path = write_benchmarks(result, tmp_path / "docs" / "BENCHMARKS.md")
    first = path.read_text()
    assert first.startswith("# GenLab benchmarks") and first.count(BEGIN) == first.count(END) == 1
    assert format_table(result) in first and result["date"] in first and result["machine"] in first
    assert "| gaussian | toy:8gaussians | continuous |" in first

    before, after = "# Benchmarks\n\nAn introduction by hand.\n\n", "\n\n## Load test\n\nMeasured by hand.\n"
    path.write_text(before + first[first.index(BEGIN):].rstrip("\n") + after)
    again = run_bench(seconds=0.3, families=["gmm"], datasets=["toy:8gaussians"], concurrency=False)
    text = write_benchmarks(again, path).read_text()
    assert text.startswith(before) and text.endswith(after) and text.count(BEGIN) == 1
    assert "| gmm | toy:8gaussians |" in text and "| gaussian |" not in text

    plain = tmp_path / "plain.md"
    plain.write_text("# Notes\n")
    assert write_benchmarks(again, plain).read_text().startswith("# Notes\n\n" + BEGIN)


def test_cli_bench_write_renders_the_printed_result(tmp_path, capsys, monkeypatch):
    import json

    from genlab import bench
    from genlab.cli import main

    measure = bench.measure_concurrency
    monkeypatch.setattr(bench, "measure_concurrency", lambda: measure(seconds=0.2, jobs=(1,), threads=(1,)))
    path = tmp_path / "BENCHMARKS.md"
    assert main(["bench", "--seconds", "0.2", "--models", "bernoulli", "--datasets", "digits/binary",
                 "--write", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == str(path) and [r["family"] for r in result["rows"]] == ["bernoulli"]
    text = path.read_text()
    assert "| bernoulli | digits | binary |" in text and "| 1 | 1 |" in text and "throughput table" in text


def test_preset_bench_trains_the_broken_presets_seed_by_seed():
    from genlab.bench import format_preset_table, run_preset_bench

    result = run_preset_bench(seconds=0.3, families=["gmm"], kinds=["toy"], seeds=[3, 5])
    assert result["seeds"] == [3, 5] and result["seed"] == 3 and result["repeats"] == 2
    assert [r["seed"] for r in result["groups"][0]["candidates"][0]["runs"]] == [3, 5]
    (check,) = result["broken"]
    assert check["name"].startswith("Too few components") and [r["seed"] for r in check["runs"]] == [3, 5]
    assert all(0 <= r["modes_covered"] <= 8 for r in check["runs"])  # 8gaussians has eight modes
    table = format_preset_table(result)
    assert table.count("| Too few components (broken on purpose) |") == 2
