"""The benchmark: every family on every offline dataset at a fixed CPU budget, in one table.

Timings on a shared 2-core box are noisy, so speed is reported as throughput measured
side by side in one process (steps per second with 1, 2 and 4 concurrent jobs), never
as pass/fail thresholds.
"""
from __future__ import annotations

import sys
import threading
import time

import torch

__all__ = ["run_bench", "format_table", "measure_concurrency", "DEFAULT_DATASETS"]

DEFAULT_DATASETS = (
    ("toy:8gaussians", None), ("toy:checkerboard", None), ("toy:moons", None), ("toy:rings", None),
    ("toy:spirals", None), ("toy:pinwheel", None), ("digits", "binary"), ("digits", "gray8"), ("mnist5k", "binary"),
)


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


def run_bench(seconds: float = 5.0, seed: int = 0, families=None, datasets=None, threads=None,
              concurrency: bool = True) -> dict:
    """Train each family on each dataset it fits for `seconds`; evaluate on the test split."""
    import genlab
    from genlab.models import fits
    from genlab.runtime import set_threads

    n_threads = set_threads(threads)
    families = families or list(genlab.families())
    pairs = [_parse_dataset(d) for d in datasets] if datasets else list(DEFAULT_DATASETS)
    rows = []
    for name, view in pairs:
        ds = genlab.load_dataset(name, view=view)
        for family in families:
            if fits(family, ds.spec):
                continue
            print(f"bench: {family} on {name} {ds.view} ({seconds:g}s)", file=sys.stderr, flush=True)
            model = genlab.create_model(family, ds)
            start = time.perf_counter()
            summary = genlab.train_and_save(model, ds, None, seconds=seconds, seed=seed)
            rows.append({
                "family": family, "dataset": name, "view": ds.view,
                "test_nll_nats": summary.get("test_nll_nats"), "bits_per_dim": summary.get("bits_per_dim"),
                "kl_nats": summary.get("kl_nats"), "kl_method": summary.get("kl_method"),
                "mmd": summary.get("mmd"), "modes_covered": summary.get("modes_covered"),
                "log_prob_kind": summary.get("log_prob_kind"),
                "num_parameters": summary["num_parameters"], "steps": summary["train"]["steps"],
                "wall_seconds": time.perf_counter() - start, "seed": seed,
            })
    out = {"seconds_budget": seconds, "seed": seed, "torch_threads": n_threads, "rows": rows}
    if concurrency:
        print("bench: concurrency (1, 2, 4 jobs x 1, 2 threads)", file=sys.stderr, flush=True)
        out["concurrency"] = measure_concurrency()
        set_threads(n_threads)
    return out


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def format_table(result: dict) -> str:
    """The benchmark as a Markdown table (what the README carries)."""
    lines = [
        f"Budget {result['seconds_budget']:g} s per pair, seed {result['seed']}, torch threads {result['torch_threads']}.",
        "",
        "| family | dataset | view | test NLL (nats) | bits/dim | KL (nats) | MMD² | modes | kind | params | steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['family']} | {r['dataset']} | {r['view']} | {_fmt(r['test_nll_nats'], '.3f')} | "
            f"{_fmt(r['bits_per_dim'], '.3f')} | {_fmt(r['kl_nats'], '.3f')} | {_fmt(r.get('mmd'), '.4f')} | "
            f"{_fmt(r.get('modes_covered'), 'd')} | {r['log_prob_kind']} | "
            f"{r['num_parameters']:,} | {r['steps']} | {r['wall_seconds']:.1f} |"
        )
    if result.get("concurrency"):
        lines += ["", "| torch threads | concurrent jobs | total steps/s | per job steps/s | vs 1 job, 1 thread |",
                  "|---|---|---|---|---|"]
        for r in result["concurrency"]:
            lines.append(f"| {r['torch_threads']} | {r['jobs']} | {r['steps_per_second']:.0f} | "
                         f"{r['per_job_steps_per_second']:.0f} | {r['throughput_vs_1job_1thread']:.2f}× |")
    return "\n".join(lines)
