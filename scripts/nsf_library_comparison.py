"""Compare GenLab's NSF with a public library's neural spline flow at equal CPU seconds on 8gaussians.

A measurement script, not part of the package, and the library is not a GenLab dependency: install
it apart, e.g. `pip install --target /tmp/nsfvenv zuko`, and run
`PYTHONPATH=.:/tmp/nsfvenv python scripts/nsf_library_comparison.py --seconds 10 30 60`.

Both flows get the same training points, one torch thread and the same budget of CPU time, and
are scored by the same yardstick: KL(p_data‖p_θ), the mean of log p_data − log p_θ over the test
points. The library's flow is its documented NSF with GenLab's NSF sizes (4 transforms, 8 bins,
two hidden layers of 64), on standardised data (its log-determinant added back), trained by Adam
with batches of 512 at 1e-3, a constant step, as its tutorial does. Prints one Markdown row per
budget with both KLs, their steps and the ratio.
"""
import argparse
import math
import time

import torch

import genlab
from genlab.bench import _train_once
from genlab.runtime import set_threads


def library_flow_kl(ds, seconds: float, seed: int) -> tuple[float, int]:
    """Train the library's NSF for `seconds` of CPU time; (test KL in nats, steps)."""
    import zuko

    torch.manual_seed(seed)
    train, test = ds.train.double(), ds.test.double()
    loc, scale = train.mean(0), train.std(0)
    flow = zuko.flows.NSF(features=2, transforms=4, bins=8, hidden_features=(64, 64))
    optimizer = torch.optim.Adam(flow.parameters(), lr=1e-3)
    z = ((train - loc) / scale).float()
    generator = torch.Generator().manual_seed(seed)
    began, steps = time.process_time(), 0
    while time.process_time() - began < seconds:
        batch = z[torch.randint(len(z), (512,), generator=generator)]
        loss = -flow().log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    with torch.no_grad():
        log_q = flow().log_prob(((test - loc) / scale).float()).double() - scale.log().sum()
    kl = float((ds.log_prob_true(test) - log_q).mean())
    return (kl if math.isfinite(kl) else math.inf), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 30.0, 60.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    set_threads(1)
    ds = genlab.load_dataset("toy:8gaussians")
    print("| CPU s | GenLab NSF KL (steps) | library NSF KL (steps) | library / GenLab |")
    print("|---:|---:|---:|---:|")
    for seconds in args.seconds:
        ours = _train_once("nsf", ds, {}, seconds, args.seed)
        theirs, their_steps = library_flow_kl(ds, seconds, args.seed)
        print(f"| {seconds:g} | {ours['kl_nats']:.4f} ({ours['steps']}) | {theirs:.4f} ({their_steps}) | "
              f"{theirs / ours['kl_nats']:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
