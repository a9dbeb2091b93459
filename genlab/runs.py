"""Runs on disk: config JSON, metrics as JSON lines, weights as safetensors, a summary."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from genlab.data import drawn, load_dataset
from genlab.data.base import DataSpec, Dataset
from genlab.models import create_model
from genlab.models.base import GenerativeModel
from genlab.runtime import process_group

__all__ = ["save_run", "load_run", "list_runs", "MetricsLog", "json_safe", "default_runs_root"]

CONFIG, METRICS, WEIGHTS, SUMMARY = "config.json", "metrics.jsonl", "model.safetensors", "summary.json"


def default_runs_root() -> Path:
    import os

    return Path(os.environ.get("GENLAB_RUNS", "runs"))


def json_safe(value):
    """Replace inf/NaN (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def run_config(model: GenerativeModel, ds: Dataset, seed: int, seconds: float) -> dict:
    return {
        "family": model.name,
        "title": model.title,
        "hparams": model.hparams(),
        "dataset": ds.name,
        "view": ds.view,
        "spec": ds.spec.to_json(),
        "data_source": ds.source,
        "seed": seed,
        "seconds_budget": seconds,
        "torch_threads": torch.get_num_threads(),
        **process_group(),  # world_size, backend: processes that trained it (torchrun, genlab.distributed)
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


class MetricsLog:
    """Appends metric records to a run folder as they arrive (a crash keeps what was logged)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / METRICS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def __call__(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(json_safe(record)) + "\n")


def save_run(folder, model: GenerativeModel, ds: Dataset, seed: int, seconds: float, summary: dict,
             metrics=None) -> Path:
    """Write a run folder that `load_run` can rebuild the model from."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG).write_text(json.dumps(json_safe(run_config(model, ds, seed, seconds)), indent=2))
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS))
    (folder / SUMMARY).write_text(json.dumps(json_safe(summary), indent=2))
    if metrics is not None:
        log = MetricsLog(folder)
        for record in metrics:
            log(record)
    return folder


def read_metrics(folder) -> list[dict]:
    path = Path(folder) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


BUILT_FROM_SOURCE = {drawn.NAME: drawn.drawn_dataset}  # sets rebuilt from the arguments a run recorded


def _load_run_data(config: dict, spec: DataSpec) -> Dataset | None:
    """The run's data set built again, or None for in-memory tensors (and drawn densities saved
    before runs recorded their blobs)."""
    name = config["dataset"]
    if name in BUILT_FROM_SOURCE:
        source = config.get("data_source")
        return None if source is None else BUILT_FROM_SOURCE[name](**source)
    if name == "tensors":
        return None
    size = spec.shape[-1] if spec.is_image else 28  # folder:PATH sets are made at the run's size
    return load_dataset(name, view=None if config["view"] == "continuous" else config["view"],
                        seed=config.get("data_seed", 0), size=size)


def load_run(folder, load_data: bool = True) -> tuple[GenerativeModel, Dataset | None, dict]:
    """Rebuild a saved run: (model in eval mode, its dataset or None, info).

    `info` holds the config, the summary and the metrics. Raises FileNotFoundError with
    the folder's name when it is not a run.
    """
    folder = Path(folder)
    if not (folder / CONFIG).exists() or not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder} is not a GenLab run: it needs {CONFIG} and {WEIGHTS}.")
    config = json.loads((folder / CONFIG).read_text())
    spec = DataSpec.from_json(config["spec"])
    model = create_model(config["family"], spec, **config["hparams"])
    model.load_weights(load_file(str(folder / WEIGHTS)))
    model.eval()
    ds = _load_run_data(config, spec) if load_data else None
    summary = json.loads((folder / SUMMARY).read_text()) if (folder / SUMMARY).exists() else {}
    info = {"folder": str(folder), "config": config, "summary": summary, "metrics": read_metrics(folder)}
    return model, ds, info


def list_runs(root=None, dataset: str | None = None, view: str | None = None) -> list[dict]:
    """Config + summary of every finished run under root, newest first."""
    root = Path(root) if root is not None else default_runs_root()
    runs = []
    for config_path in sorted(root.glob(f"*/{CONFIG}")):
        folder = config_path.parent
        if not (folder / SUMMARY).exists():
            continue
        config = json.loads(config_path.read_text())
        if (dataset and config["dataset"] != dataset) or (view and config["view"] != view):
            continue
        runs.append({"folder": str(folder), "name": folder.name, "config": config,
                     "summary": json.loads((folder / SUMMARY).read_text())})
    return sorted(runs, key=lambda r: r["config"].get("created", ""), reverse=True)


def train_and_save(model: GenerativeModel, ds: Dataset, folder=None, seconds: float = 30.0, seed: int = 0,
                   on_metrics=None, control=None, **train_kwargs) -> dict:
    """Train, evaluate on the test split and (if `folder`) save the run; returns the summary.

    The summary holds the evaluation (`test_nll_nats`, `bits_per_dim`, `kl_nats`, ...), the
    training result under "train", the parameter count and the torch thread setting.
    """
    from genlab.evaluate import evaluate
    from genlab.train import train

    log = MetricsLog(folder) if folder is not None else None

    def record(metrics: dict) -> None:
        if log is not None:
            log(metrics)
        if on_metrics is not None:
            on_metrics(metrics)

    result = train(model, ds, seconds=seconds, seed=seed, on_metrics=record, control=control, **train_kwargs)
    summary = {
        "family": model.name,
        "dataset": ds.name,
        "view": ds.view,
        "seed": seed,
        **evaluate(model, ds),
        "train_seconds": result.seconds,
        "num_parameters": model.num_parameters(),
        "torch_threads": torch.get_num_threads(),
        "train": result.to_json(),
    }
    if folder is not None:
        save_run(folder, model, ds, seed, seconds, summary)
    return json_safe(summary)
