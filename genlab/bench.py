"""The benchmark: every family on every offline dataset at a fixed CPU budget, in one table.

Timings on a shared 2-core box are noisy, so speed is reported as throughput measured
side by side in one process (steps per second with 1, 2 and 4 concurrent jobs), never
as pass/fail thresholds. `write_benchmarks` renders a result as the generated section of
docs/BENCHMARKS.md (`python -m genlab bench --write`), keeping what was written by hand around it.

The preset benchmark (`run_preset_bench`) is the same measurement turned on the presets:
per family and kind of data, the config's defaults, the working presets and a few nearby
alternatives, side by side at one budget and seed; `write_measured` keeps the result in
genlab/presets_measured.json, which `genlab.presets.measured` reads. Its budget is CPU time,
not wall time, so settings measured while other work shares the machine get the same
amount of computation.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import sys
import threading
import time
from pathlib import Path

import torch

__all__ = ["run_bench", "format_table", "format_report", "write_benchmarks", "measure_concurrency", "DEFAULT_DATASETS",
           "BENCHMARKS_PATH", "preset_candidates", "run_preset_bench", "format_preset_table", "write_measured"]

DEFAULT_DATASETS = (
    ("toy:8gaussians", None), ("toy:checkerboard", None), ("toy:moons", None), ("toy:rings", None),
    ("toy:spirals", None), ("toy:pinwheel", None), ("digits", "binary"), ("digits", "gray8"), ("mnist5k", "binary"),
)


BENCHMARKS_PATH = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
BEGIN = "<!-- begin: written by `python -m genlab bench --write`; edit outside these markers only -->"
END = "<!-- end: written by `python -m genlab bench --write` -->"


def _machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"


def _parse_dataset(spec: str) -> tuple[str, str | None]:
    name, _, view = spec.partition("/")
    return name, view or None


def measure_concurrency(seconds: float = 4.0, jobs=(1, 2, 4), threads=(1, 2)) -> list[dict]:
    """Total training steps per second of a small flow with n jobs side by side, per torch thread setting."""
    import genlab

    ds = genlab.load_dataset("toy:8gaussians")
    rows = []
    previous = torch.get_num_threads()
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for n_jobs in jobs:
            steps = [0] * n_jobs

            def work(i):
                model = genlab.create_model("realnvp", ds)
                result = genlab.train(model, ds, seconds=seconds, seed=i, report_every=seconds)
                steps[i] = result.steps

            workers = [threading.Thread(target=work, args=(i,)) for i in range(n_jobs)]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - start
            rows.append({"torch_threads": n_threads, "jobs": n_jobs, "steps_per_second": sum(steps) / wall,
                         "per_job_steps_per_second": sum(steps) / wall / n_jobs})
    torch.set_num_threads(previous)
    base = rows[0]["steps_per_second"]
    for row in rows:
        row["throughput_vs_1job_1thread"] = row["steps_per_second"] / base
    return rows


def _bench_row(family: str, name: str, ds, seconds: float, seed: int, threads: int) -> dict:
    """One cell of the grid: `family` trained on `ds` for `seconds`, evaluated on its test split; its table row."""
    import genlab
    from genlab.runtime import set_threads

    set_threads(threads)  # also in a Ray worker, which starts with its own setting
    model = genlab.create_model(family, ds)
    start = time.perf_counter()
    summary = genlab.train_and_save(model, ds, None, seconds=seconds, seed=seed)
    return {
        "family": family, "dataset": name, "view": ds.view,
        "test_nll_nats": summary.get("test_nll_nats"), "bits_per_dim": summary.get("bits_per_dim"),
        "kl_nats": summary.get("kl_nats"), "kl_method": summary.get("kl_method"),
        "mmd": summary.get("mmd"), "modes_covered": summary.get("modes_covered"),
        "frechet_distance": summary.get("frechet_distance"), "classes_covered": summary.get("classes_covered"),
        "log_prob_kind": summary.get("log_prob_kind"),
        "num_parameters": summary["num_parameters"], "steps": summary["train"]["steps"],
        "wall_seconds": time.perf_counter() - start, "seed": seed,
    }


def _bench_on_ray(cells: list, seconds: float, seed: int, threads: int, address: str | None) -> tuple[list, str]:
    """The grid's cells as one Ray task each (one CPU), over the whole cluster; the rows in the grid's order."""
    import ray

    from genlab.jobs.ray_backend import cluster_capacity, connect

    connect(address)
    capacity = cluster_capacity()
    print(f"bench: {len(cells)} pairs sent to the {capacity}", file=sys.stderr, flush=True)
    task = ray.remote(num_cpus=1)(_bench_row)
    data = {}  # each data set goes to the cluster once
    refs = [task.remote(family, name, data.setdefault(id(ds), ray.put(ds)), seconds, seed, threads)
            for family, name, ds in cells]
    waiting = list(refs)
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        family, name, ds = cells[refs.index(done[0])]
        print(f"bench: {family} on {name} {ds.view} done ({len(refs) - len(waiting)} of {len(refs)})",
              file=sys.stderr, flush=True)
    where = f"a {capacity.name} of {capacity.cpus} CPUs on {capacity.nodes} node(s), driven from {_machine()}"
    return ray.get(refs), where


def run_bench(seconds: float = 5.0, seed: int = 0, families=None, datasets=None, threads=None,
              concurrency: bool = True, backend: str = "local", ray_address: str | None = None) -> dict:
    """Train each family on each dataset it fits for `seconds`; evaluate on the test split.

    With backend="ray", each pair is a task on the Ray cluster at `ray_address` (the pairs train
    side by side, one CPU each) and the concurrency table, which measures this process, is left out.
    """
    import genlab
    from genlab.models import fits
    from genlab.runtime import set_threads

    n_threads = set_threads(threads)
    began = time.perf_counter()
    families = families or list(genlab.families())
    pairs = [_parse_dataset(d) for d in datasets] if datasets else list(DEFAULT_DATASETS)
    cells = []
    for name, view in pairs:
        ds = genlab.load_dataset(name, view=view)
        cells += [(family, name, ds) for family in families if not fits(family, ds.spec)]
    out = {"seconds_budget": seconds, "seed": seed, "torch_threads": n_threads, "date": time.strftime("%Y-%m-%d"),
           "machine": _machine(), "backend": backend}
    if backend == "ray":
        out["rows"], out["machine"] = _bench_on_ray(cells, seconds, seed, n_threads, ray_address)
    else:
        out["rows"] = []
        for family, name, ds in cells:
            print(f"bench: {family} on {name} {ds.view} ({seconds:g}s)", file=sys.stderr, flush=True)
            out["rows"].append(_bench_row(family, name, ds, seconds, seed, n_threads))
    if concurrency and backend == "local":
        print("bench: concurrency (1, 2, 4 jobs x 1, 2 threads)", file=sys.stderr, flush=True)
        out["concurrency"] = measure_concurrency()
        set_threads(n_threads)
    out["wall_seconds"] = time.perf_counter() - began
    out["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return out


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_table(result: dict) -> str:
    """The benchmark as Markdown tables: one row per family × data set, then the throughput of concurrent jobs."""
    lines = [
        f"Budget {result['seconds_budget']:g} s per pair, seed {result['seed']}, "
        f"torch threads {result['torch_threads']}.",
        "",
        "| family | dataset | view | test NLL (nats) | bits/dim | KL (nats) | FD (features) | classes | MMD² | modes | "
        "kind | params | steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['family']} | {r['dataset']} | {r['view']} | {_fmt(r['test_nll_nats'], '.3f')} | "
            f"{_fmt(r['bits_per_dim'], '.3f')} | {_fmt(r['kl_nats'], '.3f')} | "
            f"{_fmt(r.get('frechet_distance'), '.1f')} | {_fmt(r.get('classes_covered'), 'd')} | "
            f"{_fmt(r.get('mmd'), '.4f')} | {_fmt(r.get('modes_covered'), 'd')} | {r['log_prob_kind']} | "
            f"{r['num_parameters']:,} | {r['steps']} | {r['wall_seconds']:.1f} |"
        )
    if result.get("concurrency"):
        lines += ["", "| torch threads | concurrent jobs | total steps/s | per job steps/s | vs 1 job, 1 thread |",
                  "|---|---|---|---|---|"]
        for r in result["concurrency"]:
            lines.append(f"| {r['torch_threads']} | {r['jobs']} | {r['steps_per_second']:.0f} | "
                         f"{r['per_job_steps_per_second']:.0f} | {r['throughput_vs_1job_1thread']:.2f}× |")
    return "\n".join(lines)


def format_report(result: dict) -> str:
    """The benchmark as the generated section of docs/BENCHMARKS.md: when and where it ran, the tables,
    and how to read them."""
    minutes, seconds = divmod(round(result["wall_seconds"]), 60)
    lines = [
        "## Every family on every data set",
        "",
        f"Run of {result['date']} on {result['machine']}: the whole grid took {minutes} min {seconds} s of wall "
        f"time, peak memory {result['peak_memory_mb'] / 1024:.1f} GB.",
        "",
        format_table(result),
        "",
        "How to read it:",
        "- `kind` says what the NLL is: `exact`; `lower_bound` (the reported NLL and bits/dim are upper bounds on "
        "the true ones: dequantized continuous families, the VAE's importance-weighted estimate, the diffusion "
        "model's ELBO); `unnormalized` (an EBM) and `None` (GANs) have no NLL and are scored by KL on toys (from a "
        "grid-normalised energy or a Gaussian mixture fitted to their samples, whose bias docs/YARDSTICKS.md "
        "measures) and by MMD² everywhere.",
        "- KL is KL(p_data‖p_θ) in nats on toys; MMD² is the unbiased kernel MMD² between samples and held-out "
        "data (it can be slightly negative); `modes` counts the modes of `toy:8gaussians` the samples cover.",
        "- FD (features) is the Fréchet distance between samples and held-out images in the features of a small "
        "classifier trained on the data set's training split, and `classes` how many of its classes the samples "
        "cover (`genlab.features`; what a perfect sampler and noise score is in docs/YARDSTICKS.md).",
        f"- {result['seconds_budget']:g} s per pair is a budget for comparing families side by side, not for their "
        "best numbers.",
    ]
    if result.get("concurrency"):
        lines.append("- The throughput table trains a small RealNVP with 1, 2 and 4 jobs side by side in one "
                     "process, with 1 and 2 torch threads each: total training steps per second, against one job "
                     "on one thread. GenLab's defaults (one thread per job, `GENLAB_MAX_JOBS`) follow from it.")
    return "\n".join(lines)


def write_benchmarks(result: dict, path=None) -> Path:
    """Write `format_report(result)` into docs/BENCHMARKS.md (or `path`) between its markers.

    Whatever the file holds outside the markers (an introduction, numbers measured by hand) stays as
    it is; a file without the markers gets the section appended, and a missing file is created.
    """
    path = Path(path) if path is not None else BENCHMARKS_PATH
    section = f"{BEGIN}\n{format_report(result)}\n{END}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"# GenLab benchmarks\n\n{section}\n"
    elif BEGIN in (old := path.read_text()) and END in old:
        before, rest = old.split(BEGIN, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    return path


# ---- the preset benchmark -----------------------------------------------------------
def preset_candidates(family: str, kind: str) -> list[dict]:
    """The settings the preset benchmark tries for `family` on `kind`: the defaults, each working
    preset, then each alternative, as {"names", "role", "hparams"} with full hyper-parameters;
    settings that coincide are tried once, under every name they go by."""
    from genlab.presets import ALTERNATIVES, PRESETS, full_hparams

    named = [("defaults", "defaults", {})]
    named += [(p.name, "preset", p.hparams) for p in PRESETS if p.family == family and p.kind == kind and not p.broken]
    named += [(p.name, "alternative", p.hparams) for p in ALTERNATIVES if p.family == family and p.kind == kind]
    candidates: list[dict] = []
    for name, role, hparams in named:
        full = full_hparams(family, hparams)
        same = next((c for c in candidates if c["hparams"] == full), None)
        if same is None:
            candidates.append({"names": [name], "role": role, "hparams": full})
        else:
            same["names"].append(name)
    return candidates


WALL_CAP = 40  # a CPU budget of s seconds may take up to WALL_CAP * s seconds of wall time on a busy machine


def _cpu_budget(seconds: float):
    """A TrainControl that stops training once this process has used `seconds` of CPU time.

    On a shared machine a wall-clock budget gives whoever trains while others are busy fewer
    steps; CPU time on one thread is the same budget for every candidate, and on an idle
    machine it is the same as the wall-clock seconds the Train page counts.
    """
    from genlab.train import TrainControl

    class CpuBudget(TrainControl):
        def __init__(self):
            super().__init__()
            self.began = time.process_time()

        @property
        def stopped(self) -> bool:
            return super().stopped or time.process_time() - self.began >= seconds

        @property
        def progress(self) -> float:
            return (time.process_time() - self.began) / seconds

    return CpuBudget()


def _train_once(family: str, ds, hparams: dict, seconds: float, seed: int, also=None) -> dict:
    """Train one setting for `seconds` of CPU time and evaluate it: the yardsticks, steps and times, and
    what `also(model)` returns (a dict), if given."""
    import genlab

    model = genlab.create_model(family, ds, **hparams)
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = genlab.train_and_save(model, ds, None, seconds=WALL_CAP * seconds, seed=seed,
                                    control=_cpu_budget(seconds))
    run = {k: summary.get(k) for k in ("kl_nats", "test_nll_nats", "bits_per_dim", "mmd", "log_prob_kind",
                                       "modes_covered", "frechet_distance", "classes_covered", "test_ode_nll_nats",
                                       "data_entropy_nats")}
    if also is not None:
        run |= also(model)
    return {"seed": seed, **run, "steps": summary["train"]["steps"],
            "train_wall_seconds": round(summary["train_seconds"], 1),
            "wall_seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(time.process_time() - cpu_start, 1)}


def _mean(values: list) -> float | None:
    return None if not values or any(v is None for v in values) else sum(values) / len(values)


def run_preset_bench(seconds: float = 15.0, seed: int = 0, families=None, kinds=None, threads=None,
                     repeats: int = 1, seeds=None) -> dict:
    """Train each family's defaults, working presets and alternatives for `seconds` of CPU time each
    (one thread by default) on the kind's benchmark data set (`genlab.presets.BENCH_DATASETS`), with
    the same seeds, and mark the one with the lowest yardstick (its mean over `repeats` seeds from
    `seed` on, or over `seeds` when given: one seed's noise on a short budget can exceed the gap
    between close settings). The presets broken on purpose are trained on the same seeds, to see
    whether the failure they promise shows on every seed (on mixtures: the modes covered per seed).

    Returns {"date", "seconds_budget", "seed", "repeats", "seeds", "torch_threads", "machine", "groups",
    "broken"}: one group per family × kind with its "yardstick" and "candidates", each with its "value",
    mean "steps" and its "runs" (one per seed); and one entry per broken preset with its "runs".
    """
    import genlab
    from genlab.presets import BENCH_DATASETS, KINDS, PRESETS, YARDSTICKS, full_hparams
    from genlab.runtime import set_threads

    n_threads = set_threads(threads)
    kinds = kinds or KINDS
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"Unknown kind(s) of data {', '.join(unknown)}; choose from {', '.join(KINDS)}.")
    if repeats < 1:
        raise ValueError(f"--repeats needs at least one seed; got {repeats}.")
    seeds = list(range(seed, seed + repeats)) if seeds is None else [int(s) for s in seeds]
    if not seeds:
        raise ValueError("--seeds needs at least one seed.")
    seed, repeats = seeds[0], len(seeds)
    date = time.strftime("%Y-%m-%d")
    groups, broken = [], []
    for kind in kinds:
        name, view = BENCH_DATASETS[kind]
        with_presets = dict.fromkeys(p.family for p in PRESETS if p.kind == kind and not p.broken)
        chosen = [f for f in with_presets if not families or f in families]
        failures = [p for p in PRESETS if p.kind == kind and p.broken and (not families or p.family in families)]
        ds = genlab.load_dataset(name, view=view) if chosen or failures else None
        for preset in failures:
            print(f"bench --presets: {preset.family} on {name} {ds.view}, {preset.name} ({seconds:g}s x {repeats})",
                  file=sys.stderr, flush=True)
            hparams = full_hparams(preset.family, preset.hparams)
            broken.append({"family": preset.family, "kind": kind, "dataset": name, "view": ds.view,
                           "name": preset.name, "look_for": preset.look_for, "hparams": hparams,
                           "runs": [_train_once(preset.family, ds, hparams, seconds, s) for s in seeds]})
        for family in chosen:
            load_before = os.getloadavg()[0]
            candidates = preset_candidates(family, kind)
            for c in candidates:
                print(f"bench --presets: {family} on {name} {ds.view}, {c['names'][0]} ({seconds:g}s x {repeats})",
                      file=sys.stderr, flush=True)
                c["runs"] = [_train_once(family, ds, c["hparams"], seconds, s) for s in seeds]
            yardstick = YARDSTICKS[kind] if candidates[0]["runs"][0][YARDSTICKS[kind]] is not None else "mmd"
            for c in candidates:
                c["value"] = _mean([r[yardstick] for r in c["runs"]])
                c["steps"] = round(_mean([r["steps"] for r in c["runs"]]))
                c["train_wall_seconds"] = round(_mean([r["train_wall_seconds"] for r in c["runs"]]), 1)
            scores = [float("inf") if c["value"] is None else c["value"] for c in candidates]
            for c, score in zip(candidates, scores):
                c["winner"] = score == min(scores)
            groups.append({"family": family, "kind": kind, "dataset": name, "view": ds.view, "yardstick": yardstick,
                           "date": date, "seconds_budget": seconds, "budget_clock": "process CPU time",
                           "seed": seed, "repeats": repeats, "torch_threads": n_threads, "machine": _machine(),
                           "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                           "candidates": candidates})
    return {"date": date, "seconds_budget": seconds, "seed": seed, "repeats": repeats, "seeds": seeds,
            "torch_threads": n_threads, "machine": _machine(), "groups": groups, "broken": broken}


def _settings(candidate: dict, defaults: dict) -> str:
    changed = {k: v for k, v in candidate["hparams"].items() if defaults["hparams"].get(k) != v}
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items()) or "—"


def format_preset_table(result: dict) -> str:
    """The preset benchmark as a Markdown table, one row per setting tried, the winner in bold; then the
    presets broken on purpose, one row per seed."""
    from genlab.presets import YARDSTICKS, format_yardstick

    lines = [
        f"Budget {result['seconds_budget']:g} s of CPU time per setting and seed, seeds from {result['seed']}, "
        f"torch threads {result['torch_threads']}, {result['machine']}, {result['date']}.",
        "",
        "| kind | family | setting | changed from the defaults | yardstick (mean over seeds) | seeds | steps | "
        "wall s | best |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for group in result["groups"]:
        defaults = group["candidates"][0]
        for c in group["candidates"]:
            names = " = ".join(c["names"])
            value = format_yardstick(group["yardstick"], c["value"])
            lines.append(f"| {group['kind']} | {group['family']} | {names} | {_settings(c, defaults)} | "
                         f"{'**' + value + '**' if c['winner'] else value} | {group.get('repeats', 1)} | "
                         f"{c['steps']} | "
                         f"{c['train_wall_seconds']:.0f} | "
                         f"{'✓' if c['winner'] else ''} |")
    if result.get("broken"):
        lines += ["", "Broken on purpose, seed by seed (does the failure show on every seed?):", "",
                  "| kind | family | preset | seed | yardstick | modes covered | steps |",
                  "|---|---|---|---|---|---|---|"]
        for check in result["broken"]:
            yardstick = YARDSTICKS[check["kind"]]
            for run in check["runs"]:
                modes = run.get("modes_covered")
                lines.append(f"| {check['kind']} | {check['family']} | {check['name']} | {run['seed']} | "
                             f"{format_yardstick(yardstick, run[yardstick]) if run[yardstick] is not None else '—'} | "
                             f"{'—' if modes is None else modes} | {run['steps']} |")
    return "\n".join(lines)


def write_measured(result: dict, path=None) -> Path:
    """Merge a preset benchmark into presets_measured.json: its groups replace those of the same
    family and kind, the others stay as they were measured."""
    from genlab.presets import KINDS, MEASURED_PATH, read_measured
    from genlab.runs import json_safe

    path = Path(path) if path is not None else MEASURED_PATH
    old = json.loads(path.read_text())["groups"] if path.exists() else []
    new = {(g["family"], g["kind"]): g for g in result["groups"]}
    groups = [g for g in old if (g["family"], g["kind"]) not in new] + list(new.values())
    groups.sort(key=lambda g: (KINDS.index(g["kind"]), g["family"]))
    about = ("Written by `python -m genlab bench --presets --write`: per family and kind of data, the "
             "config's defaults, the working presets and nearby alternatives trained side by side (the same "
             "budget of CPU time, seeds and data set); `value` is the group's yardstick, its mean over the "
             "seeds, lower is better.")
    path.write_text(json.dumps(json_safe({"about": about, "groups": groups}), indent=1, ensure_ascii=False) + "\n")
    read_measured.cache_clear()
    return path
