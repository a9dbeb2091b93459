"""The pretrained zoo: small checkpoints of every family on the offline data sets, shipped
with the repository so every page works on a fresh install ("workshop mode").

`python -m genlab zoo build` trains each family on each zoo data set at a fixed seed and
budget and writes `zoo/<family>-<dataset>/` run folders plus `zoo/manifest.json`
(family, dataset, view, hyper-parameters, yardsticks, sha256 of the weights).
`install(runs_root)` copies the zoo into a runs folder, where the app lists it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

from genlab.data import source_of
from genlab.runs import CONFIG, WEIGHTS, json_safe

__all__ = ["ZOO_DIR", "ZOO_DATASETS", "build", "install", "manifest", "datasets_with_models", "YARDSTICKS"]

ZOO_DIR = Path(__file__).resolve().parent.parent / "zoo"
ZOO_DATASETS = (("toy:8gaussians", None), ("toy:moons", None), ("digits", "binary"), ("digits", "gray8"))
YARDSTICKS = ("test_nll_nats", "bits_per_dim", "kl_nats", "mmd", "log_prob_kind")
MAX_ZOO_BYTES = 25 * 2**20


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry_name(family: str, dataset: str, view: str) -> str:
    return f"{family}-{source_of(dataset).short}-{view}"


def build(seconds: float = 20.0, seed: int = 0, families=None, datasets=None, out: Path | None = None) -> dict:
    """Train the zoo and write its manifest; returns the manifest.

    `datasets` is a list of (name, view or None), ZOO_DATASETS by default. The checkpoints built
    now replace those of the same folder; the manifest keeps the other entries already in it.
    """
    import genlab
    from genlab.models import fits

    out = Path(out) if out is not None else ZOO_DIR
    out.mkdir(parents=True, exist_ok=True)
    kept = manifest(out)["entries"] if (out / "manifest.json").exists() else []
    entries = []
    for name, view in datasets or ZOO_DATASETS:
        ds = genlab.load_dataset(name, view=view)
        for family in families or genlab.families():
            if fits(family, ds.spec):
                continue
            folder = out / entry_name(family, name, ds.view)
            print(f"zoo: {folder.name} ({seconds:g} s)", file=sys.stderr, flush=True)
            model = genlab.create_model(family, ds)
            summary = genlab.train_and_save(model, ds, folder, seconds=seconds, seed=seed, full_evaluation=True)
            entries.append({
                "folder": folder.name, "family": family, "dataset": name, "view": ds.view,
                "hparams": model.hparams(), "seed": seed, "seconds": seconds,
                "yardsticks": {k: summary.get(k) for k in YARDSTICKS},
                "sha256": _sha256(folder / WEIGHTS),
            })
    built = {entry["folder"] for entry in entries}
    entries = [entry for entry in kept if entry["folder"] not in built] + entries
    result = json_safe({"built": time.strftime("%Y-%m-%dT%H:%M:%S"), "entries": entries})
    (out / "manifest.json").write_text(json.dumps(result, indent=2))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if size > MAX_ZOO_BYTES:
        print(f"zoo: warning, {size / 2**20:.1f} MB is over the {MAX_ZOO_BYTES // 2**20} MB budget",
              file=sys.stderr)
    return result


def manifest(zoo_dir: Path | None = None) -> dict:
    path = Path(zoo_dir or ZOO_DIR) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"No zoo at {path.parent}; build it with `python -m genlab zoo build`.")
    return json.loads(path.read_text())


def datasets_with_models(zoo_dir: Path | None = None) -> list[tuple[str, str]]:
    """(data set, view) pairs the zoo has checkpoints for, in the manifest's order."""
    found = [(entry["dataset"], entry["view"]) for entry in manifest(zoo_dir)["entries"]]
    return list(dict.fromkeys(found))


def install(runs_root, zoo_dir: Path | None = None) -> list[Path]:
    """Copy every zoo run whose weights match the manifest into runs_root (skipping ones
    already there); returns the folders installed now."""
    zoo_dir = Path(zoo_dir or ZOO_DIR)
    installed = []
    for entry in manifest(zoo_dir)["entries"]:
        source = zoo_dir / entry["folder"]
        target = Path(runs_root) / f"zoo-{entry['folder']}"
        if target.exists() or not (source / CONFIG).exists():
            continue
        if _sha256(source / WEIGHTS) != entry["sha256"]:
            raise ValueError(f"The zoo checkpoint {entry['folder']} does not match its manifest checksum.")
        shutil.copytree(source, target)
        installed.append(target)
    return installed
