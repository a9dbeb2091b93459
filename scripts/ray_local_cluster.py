"""A Ray cluster of several nodes on this one machine, for trying the Ray backend and the load test.

    python scripts/ray_local_cluster.py --nodes 2 --cpus 1      # prints the address, runs until Ctrl-C
    GENLAB_RAY_ADDRESS=<that address> streamlit run app.py
    python scripts/loadtest.py --backend ray --ray-address <that address> --sessions 20

Each node is a raylet of its own on 127.0.0.1 (`ray.cluster_utils.Cluster`), so Ray schedules
runs across nodes exactly as on several machines, only without a network between them.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="raylets to start (the first is the head)")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs each node offers")
    args = parser.parse_args()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # bind 127.0.0.1, not the machine's address
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.cpus})
    for _ in range(args.nodes - 1):
        cluster.add_node(num_cpus=args.cpus)
    cluster.wait_for_nodes()
    print(cluster.address, flush=True)
    print(f"{args.nodes} nodes × {args.cpus} CPU at {cluster.address}; Ctrl-C ends them", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
