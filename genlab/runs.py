"""Runs on disk: config JSON, metrics as JSON lines, weights as safetensors, a summary.

Every file is written under a temporary name and renamed into place, and summary.json
comes last: a folder without a summary is a run still training or one cut short (a full
disk, a crash), which listing skips and `clean_partial_runs` removes at start-up. What is
read back goes through `genlab.run_config`, so a damaged or hostile folder raises one
RunError with a plain sentence and never reaches a page half-checked.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import uuid
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from genlab.data import load_dataset, source_of
from genlab.data.base import DataSpec, Dataset
from genlab.models import create_model
from genlab.models.base import GenerativeModel
from genlab.run_config import RunError, check_config, check_metrics, check_summary
from genlab.runtime import process_group

__all__ = ["save_run", "load_run", "list_runs", "list_run_folder", "bad_runs", "delete_run", "clean_partial_runs",
           "RunError", "MetricsLog", "json_safe", "default_runs_root", "write_atomic"]

CONFIG, METRICS, WEIGHTS, SUMMARY = "config.json", "metrics.jsonl", "model.safetensors", "summary.json"
RUN_FILES = (CONFIG, METRICS, WEIGHTS, SUMMARY)
TEMPORARY = ".tmp-"  # written files and deleted folders carry this in their name until renamed
MAX_CONFIG_BYTES, MAX_SUMMARY_BYTES, MAX_METRICS_BYTES = 2**16, 2**18, 4 * 2**20
log = logging.getLogger(__name__)


def default_runs_root() -> Path:
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


def write_atomic(path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary name in the same folder, then a rename."""
    path = Path(path)
    temporary = path.with_name(f"{TEMPORARY}{uuid.uuid4().hex}-{path.name}")
    try:
        with temporary.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


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
    (folder / SUMMARY).unlink(missing_ok=True)  # until the new one lands, the folder is a partial run
    write_atomic(folder / CONFIG, json.dumps(json_safe(run_config(model, ds, seed, seconds)), indent=2).encode())
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    write_atomic(folder / WEIGHTS, save(tensors))
    if metrics is not None:
        write_atomic(folder / METRICS, "".join(json.dumps(json_safe(r)) + "\n" for r in metrics).encode())
    write_atomic(folder / SUMMARY, json.dumps(json_safe(summary), indent=2).encode())
    return folder


def _read_json(path: Path, limit: int):
    if path.stat().st_size > limit:
        raise RunError(f"The run's {path.name} is larger than {limit:,} bytes.")
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise RunError(f"The run's {path.name} is not valid JSON.") from None


def read_metrics(folder) -> list[dict]:
    """The run's metrics records, checked; raises RunError when the file is too large or malformed."""
    path = Path(folder) / METRICS
    if not path.exists():
        return []
    if path.stat().st_size > MAX_METRICS_BYTES:
        raise RunError(f"The run's {METRICS} is larger than {MAX_METRICS_BYTES:,} bytes.")
    try:
        return check_metrics(path.read_text().splitlines())
    except UnicodeDecodeError:
        raise RunError(f"The run's {METRICS} is not text.") from None


def read_config(folder, uploaded: bool = False) -> dict:
    """The run's config.json rebuilt from its allow-list (`genlab.run_config.check_config`)."""
    return check_config(_read_json(Path(folder) / CONFIG, MAX_CONFIG_BYTES), uploaded=uploaded)


def _load_run_data(config: dict, spec: DataSpec) -> Dataset | None:
    """The run's data set built again, or None for in-memory tensors (and drawn densities saved
    before runs recorded their blobs)."""
    name = config["dataset"]
    if name == "tensors":
        return None
    source, recorded = source_of(name), config.get("data_source")
    if source.rebuild is not None and recorded is not None:  # a drawn density, a toy at other than its defaults
        return source.rebuild(**recorded)
    if source.rebuild is not None and source.yours:  # a drawn density saved before runs recorded its blobs
        return None
    size = spec.shape[-1] if spec.is_image else 28  # folder:PATH sets are made at the run's size
    return load_dataset(name, view=None if config["view"] == "continuous" else config["view"],
                        seed=config.get("data_seed", 0), size=size)


def load_run(folder, load_data: bool = True) -> tuple[GenerativeModel, Dataset | None, dict]:
    """Rebuild a saved run: (model in eval mode, its dataset or None, info).

    `info` holds the config, the summary and the metrics, each checked by `genlab.run_config`.
    Raises FileNotFoundError naming the folder (not its path) when it is not a run, and
    RunError with a plain sentence when its files are damaged or do not match.
    """
    folder = Path(folder)
    if not (folder / CONFIG).exists() or not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder.name!r} is not a GenLab run: it needs {CONFIG} and {WEIGHTS}.")
    config = read_config(folder)
    spec = DataSpec.from_json(config["spec"])
    model = create_model(config["family"], spec, **config["hparams"])
    try:
        model.load_weights(load_file(str(folder / WEIGHTS)))
    except (SafetensorError, RuntimeError) as exc:
        raise RunError(f"The run's weights could not be read ({type(exc).__name__}).") from None
    except ValueError as exc:
        raise RunError(str(exc)) from None
    model.eval()
    ds = _load_run_data(config, spec) if load_data else None
    has_summary = (folder / SUMMARY).exists()
    summary = check_summary(_read_json(folder / SUMMARY, MAX_SUMMARY_BYTES), config) if has_summary else {}
    info = {"folder": str(folder), "config": config, "summary": summary, "metrics": read_metrics(folder)}
    return model, ds, info


def _read_run(folder: Path, with_metrics: bool = False) -> dict:
    """A finished run as listed (folder, name, config, summary); raises RunError or OSError if it cannot be read.

    `with_metrics` also reads (and checks) its metrics.jsonl, which listing leaves for `load_run`.
    """
    config = read_config(folder)
    summary = check_summary(_read_json(folder / SUMMARY, MAX_SUMMARY_BYTES), config)
    if with_metrics:
        read_metrics(folder)
    return {"folder": str(folder), "name": folder.name, "config": config, "summary": summary}


def _scan(root, with_metrics: bool = False) -> tuple[list[dict], list[tuple[str, str]]]:
    """(finished runs, [(folder name, why it cannot be read)]) under root; see `_read_run` for `with_metrics`."""
    root = Path(root) if root is not None else default_runs_root()
    runs, bad = [], []
    for summary_path in sorted(root.glob(f"*/{SUMMARY}")):
        folder = summary_path.parent
        if TEMPORARY in folder.name:
            continue
        try:
            runs.append(_read_run(folder, with_metrics))
        except (RunError, OSError) as exc:
            reason = str(exc) if isinstance(exc, RunError) else f"it cannot be read ({type(exc).__name__})."
            bad.append((folder.name, reason))
    return runs, bad


def list_run_folder(folder) -> dict | None:
    """One finished run as `list_runs` lists it, or None when it is not one or cannot be read."""
    folder = Path(folder)
    if TEMPORARY in folder.name or not (folder / SUMMARY).is_file():
        return None
    try:
        return _read_run(folder)
    except (RunError, OSError) as exc:
        log.warning("Skipped run folder %r: %s", folder.name, exc)
        return None


def list_runs(root=None, dataset: str | None = None, view: str | None = None) -> list[dict]:
    """Config + summary of every finished run under root, newest first.

    A damaged folder is skipped (and logged); `bad_runs` says which and why.
    """
    runs, bad = _scan(root)
    for name, reason in bad:
        log.warning("Skipped run folder %r: %s", name, reason)
    runs = [r for r in runs if not (dataset and r["config"]["dataset"] != dataset)
            and not (view and r["config"]["view"] != view)]
    return sorted(runs, key=lambda r: r["config"]["created"], reverse=True)


def bad_runs(root=None) -> list[tuple[str, str]]:
    """(folder name, plain reason naming the bad file) of every finished run under root that cannot be read,
    its metrics.jsonl included (which `list_runs` does not read)."""
    return _scan(root, with_metrics=True)[1]


def delete_run(folder) -> None:
    """Remove a run folder: renamed aside first (so listing never sees it half-deleted), then deleted.

    Refuses (RunError) a folder that holds anything but a run's files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder.name!r} is not a GenLab run.")
    strays = [p.name for p in folder.iterdir() if p.name not in RUN_FILES and not p.name.startswith(TEMPORARY)]
    if strays or not any((folder / name).exists() for name in RUN_FILES):
        raise RunError(f"{folder.name!r} is not a GenLab run folder; nothing was deleted.")
    aside = folder.with_name(f"{TEMPORARY}{uuid.uuid4().hex}-{folder.name}")
    os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


def clean_partial_runs(root=None, min_age_seconds: float = 0.0) -> list[str]:
    """Delete what an interrupted save left under root: folders without summary.json and temporary files.

    Call it at start-up, before any training starts (a run still training has no summary yet);
    `min_age_seconds` spares folders touched more recently than that. Returns the names removed.
    """
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    removed, now = [], time.time()
    for path in sorted(root.iterdir()):
        if not path.is_dir() or now - path.stat().st_mtime < min_age_seconds:
            continue
        if TEMPORARY in path.name:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
            continue
        names = {p.name for p in path.iterdir()}
        if not names <= set(RUN_FILES) | {n for n in names if n.startswith(TEMPORARY)}:
            continue  # not a run folder: leave it alone
        for leftover in (n for n in names if n.startswith(TEMPORARY)):
            (path / leftover).unlink(missing_ok=True)
            removed.append(f"{path.name}/{leftover}")
        if SUMMARY not in names:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def train_and_save(model: GenerativeModel, ds: Dataset, folder=None, seconds: float = 30.0, seed: int = 0,
                   on_metrics=None, control=None, full_evaluation: bool = False, **train_kwargs) -> dict:
    """Train, evaluate on the test split and (if `folder`) save the run; returns the summary.

    The summary holds the evaluation (`test_nll_nats`, `bits_per_dim`, `kl_nats`, ...), the
    training result under "train", the parameter count and the torch thread setting. Held-out scoring
    after the budget (the trainer's last report and this evaluation) takes about EVAL_SHARE of
    `seconds`: the test items scored are a random subset sized to fit (`n_test` of `n_test_total`),
    unless `full_evaluation` (the zoo, whose numbers a test reproduces) asks for every one.
    """
    from genlab.evaluate import EVAL_SHARE, evaluate
    from genlab.train import REPORT_SHARE, train

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
        **evaluate(model, ds, seconds=None if full_evaluation else (EVAL_SHARE - REPORT_SHARE) * seconds),
        "train_seconds": result.seconds,
        "num_parameters": model.num_parameters(),
        "torch_threads": torch.get_num_threads(),
        "train": result.to_json(),
    }
    if folder is not None:
        save_run(folder, model, ds, seed, seconds, summary)
    return json_safe(summary)
