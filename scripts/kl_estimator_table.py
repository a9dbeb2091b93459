"""Measure the bias of the KL estimate from samples against exact KLs: the table in docs/YARDSTICKS.md.

Each case is a sampler whose log-density is known exactly: the true density of a toy, 8gaussians
with only its first k of 8 modes kept (weights renormalised), and 8gaussians with σ halved. The
exact KL(p_data‖q) is a Monte-Carlo mean over the toy's test points with the exact log q; the
estimate replaces log q by `sample_log_density` of `--samples` samples of q (as `genlab.evaluate`
does). Usage: python scripts/kl_estimator_table.py [--samples 20000] [--seeds 2]
"""
import argparse
import math
import time

import torch

import genlab
from genlab.data.toys import TOYS, IsotropicMixture
from genlab.yardsticks import sample_log_density


def cases():
    """(data set, case name, sampler with exact log_prob) for every known case."""
    for name in ("toy:8gaussians", "toy:checkerboard", "toy:moons", "toy:rings", "toy:spirals", "toy:pinwheel"):
        yield name, "the true density", TOYS[name].make()
    full = TOYS["toy:8gaussians"].make()
    for keep in range(1, 8):
        weights = torch.full((keep,), -math.log(keep), dtype=torch.float64)
        yield "toy:8gaussians", f"{keep} of 8 modes kept", IsotropicMixture(full.centres[:keep], weights, full.sigma)
    yield "toy:8gaussians", "σ halved", IsotropicMixture(full.centres, full.log_weights, full.sigma / 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"| data | case | exact KL | estimate ({args.samples:,} samples; seeds) | error | components | seconds |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, case, density in cases():
        ds = genlab.load_dataset(name)
        x = ds.test.double()
        log_p_data = ds.log_prob_true(ds.test).double()
        exact = float((log_p_data - density.log_prob(x)).mean())
        estimates, sizes, start = [], [], time.perf_counter()
        for seed in range(args.seeds):
            samples, _ = density.sample(args.samples, torch.Generator().manual_seed(100 + seed))
            log_q_hat, k = sample_log_density(samples.float(), seed=seed)
            estimates.append(float((log_p_data - log_q_hat(x)).mean()))
            sizes.append(str(k))
        seconds = (time.perf_counter() - start) / args.seeds
        worst = max(estimates, key=lambda e: abs(e - exact))
        print(f"| {name.removeprefix('toy:')} | {case} | {exact:.3f} | {' / '.join(f'{e:.3f}' for e in estimates)} | "
              f"{worst - exact:+.3f} | {' / '.join(sizes)} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
