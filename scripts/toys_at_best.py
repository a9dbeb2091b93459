"""Measure each family at its best on a toy: the "toys at 60 s" table in docs/BENCHMARKS.md.

Trains a family with a preset's settings (or the defaults) on a toy for a budget of CPU time on
one thread, seed by seed, as `python -m genlab bench --presets` does (a CPU-time budget gives the
same computation whatever else shares the machine; the wall time is printed beside it), and prints
one Markdown row per seed: KL(p_data‖p_θ) by the family's own estimator (`kl_nats`, with its
method), the DDPM's KL by the probability-flow ODE where it has one, the modes covered, the steps,
and the load average before and after. A measurement script, not part of the package.

Usage:
    PYTHONPATH=. python scripts/toys_at_best.py --family nsf --data toy:8gaussians --seconds 60 --seeds 0 1
    PYTHONPATH=. python scripts/toys_at_best.py --family ddpm --preset "Small MLP diffusion" --seconds 60 --seeds 0 1
"""
import argparse
import os

from genlab.bench import _train_once
from genlab.data import load_dataset
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


def row(family: str, preset: str, data: str, seconds: float, seed: int) -> str:
    """Train once and format the result as a table row."""
    load = os.getloadavg()[0]
    run = _train_once(family, load_dataset(data), settings(family, preset if preset != "defaults" else None),
                      seconds, seed)
    ode = run.get("test_ode_nll_nats")
    ode_kl = "—" if ode is None else f"{ode - run['data_entropy_nats']:.3f}"
    modes = "—" if run.get("modes_covered") is None else run["modes_covered"]
    return (f"| {family} | {preset} | {data} | {seed} | {run['kl_nats']:.3f} | {ode_kl} | {modes} | {run['steps']} | "
            f"{run['cpu_seconds']:.0f} / {run['wall_seconds']:.0f} | {load:.1f} → {os.getloadavg()[0]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", required=True)
    parser.add_argument("--preset", default=None, help="a toy preset's name (default: the config's defaults)")
    parser.add_argument("--data", default="toy:8gaussians")
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU seconds of training per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    set_threads(1)
    print("| family | preset | data | seed | KL (nats) | KL by the ODE | modes | steps | CPU / wall s | load |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---|")
    for seed in args.seeds:
        print(row(args.family, args.preset or "defaults", args.data, args.seconds, seed), flush=True)


if __name__ == "__main__":
    main()
