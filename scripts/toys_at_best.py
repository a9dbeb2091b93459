"""Measure each family at its best on a toy: the "toys at 60 s" table in docs/BENCHMARKS.md.

Trains a family with a preset's settings (or the defaults) on a toy for a budget of CPU time on
one thread, seed by seed, as `python -m genlab bench --presets` does (a CPU-time budget gives the
same computation whatever else shares the machine; the wall time is printed beside it), and prints
one Markdown row per seed: KL(p_data‖p_θ) by the family's own estimator (`kl_nats`, with its
method), the DDPM's KL by the probability-flow ODE where it has one, the modes covered, the steps,
and the load average before and after. With `--fresh N`, a family with an exact log p_θ is also
scored on N fresh points of p_data (another seed than the data set's): the KL it has, not the one
the 5,000 test points happen to show (their standard error is near 0.003 nats); and on its own
training points, where a KL below the fresh one is overfitting. A measurement script, not part of
the package.

Usage:
    PYTHONPATH=. python scripts/toys_at_best.py --family nsf --data toy:8gaussians --seconds 60 --seeds 0 1
    PYTHONPATH=. python scripts/toys_at_best.py --family ddpm --preset "Small MLP diffusion" --seconds 60 --seeds 0 1
    PYTHONPATH=. python scripts/toys_at_best.py --family nsf --preset "Hard edges" --data toy:checkerboard \
        --points 1000000 --fresh 200000
"""
import argparse
import os

import torch

from genlab.bench import _train_once
from genlab.data import load_dataset
from genlab.data.toys import load_toy
from genlab.presets import PRESETS
from genlab.runtime import set_threads


def settings(family: str, preset: str | None) -> dict:
    """The preset's hyper-parameters (the defaults when no preset is named)."""
    if preset is None:
        return {}
    found = [p for p in PRESETS if p.family == family and p.kind == "toy" and p.name == preset]
    if not found:
        names = ", ".join(p.name for p in PRESETS if p.family == family and p.kind == "toy")
        raise SystemExit(f"No toy preset {preset!r} for {family}; its toy presets: {names or 'none'}.")
    return found[0].hparams


FRESH_SEED = 12345  # the fresh points' draw: neither split of the data set (seed 0)


def kl_on(ds, points, model) -> tuple[float, float]:
    """Mean of log p_data − log p_θ over points of the toy `ds`, and its standard error (nats)."""
    gap = torch.cat([ds.log_prob_true(x).double() - model.log_prob(x).double() for x in points.split(50_000)])
    return float(gap.mean()), float(gap.std() / len(gap) ** 0.5)


def fresh_kl(ds, n: int):
    """KL(p_data‖p_θ) of an exact model on n fresh points of the toy, with its standard error, and the same
    mean over its own training points (how far it fits them better than p_data)."""
    fresh = load_toy(ds.name, n_train=1, n_test=n, seed=FRESH_SEED)

    @torch.no_grad()
    def score(model) -> dict:
        if model.log_prob_kind != "exact":
            return {}
        (kl, se), (train_kl, _) = kl_on(fresh, fresh.test, model), kl_on(ds, ds.train, model)
        return {"fresh_kl": kl, "fresh_se": se, "train_kl": train_kl}
    return score


def row(family: str, preset: str, data: str, seconds: float, seed: int, points: int | None, fresh: int) -> str:
    """Train once and format the result as a table row."""
    load = os.getloadavg()[0]
    ds = load_dataset(data, points=points)
    run = _train_once(family, ds, settings(family, preset if preset != "defaults" else None), seconds, seed,
                      also=fresh_kl(ds, fresh) if fresh else None)
    ode = run.get("test_ode_nll_nats")
    ode_kl = "—" if ode is None else f"{ode - run['data_entropy_nats']:.3f}"
    modes = "—" if run.get("modes_covered") is None else run["modes_covered"]
    fresh_text = (f" | {run['fresh_kl']:.4f} ± {run['fresh_se']:.4f} | {run['train_kl']:.4f}" if "fresh_kl" in run
                  else (" | — | —" if fresh else ""))
    return (f"| {family} | {preset} | {data} | {points or 20000:,} | {seed} | {run['kl_nats']:.4f}{fresh_text} | "
            f"{ode_kl} | {modes} | {run['steps']} | {run['cpu_seconds']:.0f} / {run['wall_seconds']:.0f} | "
            f"{load:.1f} → {os.getloadavg()[0]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", required=True)
    parser.add_argument("--preset", default=None, help="a toy preset's name (default: the config's defaults)")
    parser.add_argument("--data", default="toy:8gaussians")
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU seconds of training per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--points", type=int, default=None, help="training points of the toy (default 20,000)")
    parser.add_argument("--fresh", type=int, default=0, help="also score an exact model on this many fresh points")
    args = parser.parse_args()
    set_threads(1)
    fresh_head = (" KL on fresh points | on its training points |", "---:|---:|") if args.fresh else ("", "")
    print(f"| family | preset | data | training points | seed | KL (nats) |{fresh_head[0]} KL by the ODE | modes | "
          "steps | CPU / wall s | load |")
    print(f"|---|---|---|---:|---|---:|{fresh_head[1]}---:|---:|---:|---:|---|")
    for seed in args.seeds:
        print(row(args.family, args.preset or "defaults", args.data, args.seconds, seed, args.points, args.fresh),
              flush=True)


if __name__ == "__main__":
    main()
