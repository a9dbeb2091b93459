"""Regenerate the feature classifiers shipped in genlab/feature_classifiers/ (the image yardstick's).

    python scripts/ship_feature_classifiers.py

Trains one classifier per bundled image set and view on its training split (seed 0), as
`genlab.features` would on first use, and prints each file with its test accuracy and time.
"""
import time

import torch

import genlab
from genlab.features import classifier_for, scaled, ship

BUNDLED = [("digits", "binary"), ("digits", "gray8"), ("mnist5k", "binary"), ("mnist5k", "gray8")]


def main() -> None:
    torch.set_num_threads(1)
    for name, view in BUNDLED:
        ds = genlab.load_dataset(name, view=view)
        start = time.perf_counter()
        path = ship(ds, f"{name}-{view}")
        seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy = float((classifier_for(ds)(scaled(ds, ds.test)).argmax(1) == ds.labels_test).double().mean())
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KB, test accuracy {accuracy:.3f}, trained in "
              f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
