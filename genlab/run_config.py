"""A run's config, summary and metrics rebuilt from an allow-list, never trusted as they come.

Whatever sits in a run folder or arrives in an uploaded checkpoint goes through here
before any page, export or model sees it: each known key is checked for its type and
range, unknown keys are dropped, the family's hyper-parameters go through the family's
own config dataclass, and the data set must be one GenLab builds itself. The result has
the same keys `save_run` writes, so every reader can index it without guarding.

Example:
    >>> config = check_config(json.loads(raw), uploaded=True)   # or RunError("... plain sentence")
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import threading
import time

from torch.nn.modules.module import (
    register_module_buffer_registration_hook,
    register_module_parameter_registration_hook,
)

from genlab.data import drawn, toys
from genlab.data.base import VIEWS, DataSpec
from genlab.data.registry import SMALLEST_POINTS
from genlab.models import family, fits
from genlab.models.base import ModelConfig

__all__ = ["RunError", "check_config", "check_summary", "check_metrics", "parameter_budget",
           "MAX_METRIC_LINES", "MAX_TEXT"]

MAX_METRIC_LINES = 20_000  # records in metrics.jsonl (a long run logs a few thousand)
MAX_TEXT = 1000  # characters in any string value kept from a config or summary
MAX_METRIC_KEYS = 64  # names in one metrics record
IMAGE_SIZES = (8, 16, 28, 32)  # sides of folder:PATH sets (genlab.data.folder.SIZES)
MAX_TENSOR_SIDE = 64  # in-memory image tensors ("tensors" sets)
MAX_POINT_DIM = 64  # in-memory point clouds
MAX_DRAWN_POINTS = 200_000  # train or test points a drawn density is rebuilt with


class RunError(ValueError):
    """A run folder or checkpoint that cannot be used; the message says why in plain words (no server path)."""


def _builtin_spec(name: str, view: str) -> DataSpec | None:
    """The spec of a data set GenLab builds by name, or None for names it does not know."""
    from genlab.data.toys import TOY_NAMES

    if name in TOY_NAMES or name == drawn.NAME:
        return DataSpec((2,), "continuous", None) if view == "continuous" else None
    sides = {"digits": 8, "mnist5k": 28, "mnist": 28, "fashion-mnist": 28}
    if name not in sides or view not in ("binary", "gray8"):
        return None
    levels = 2 if view == "binary" else (17 if name == "digits" else 256)
    return DataSpec((1, sides[name], sides[name]), view, levels)


def _integer(value, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value) or not low <= value <= high:
        raise RunError(f"The run's {what} must be a whole number between {low} and {high}.")
    return int(value)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RunError(f"The run's {what} must be a finite number.")
    return float(value)


def _text(value, what: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise RunError(f"The run's {what} must be a short text.")
    return value


def _spec(raw) -> DataSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("shape"), list) or raw.get("view") not in VIEWS:
        raise RunError("The run's data description (spec) is missing or malformed.")
    shape = tuple(_integer(s, "data shape", 1, 4096) for s in raw["shape"])
    view = raw["view"]
    levels = None if view == "continuous" else _integer(raw.get("levels"), "number of pixel levels", 2, 256)
    if view == "binary" and levels != 2:
        raise RunError("The run's binary data must have 2 pixel levels.")
    return DataSpec(shape, view, levels)


def _check_tensors_spec(spec: DataSpec) -> None:
    """In-memory data sets: a point cloud or a small image, nothing that builds a huge model."""
    if spec.view == "continuous":
        ok = len(spec.shape) == 1 and spec.shape[0] <= MAX_POINT_DIM
    else:
        ok = len(spec.shape) == 3 and spec.shape[0] <= 3 and max(spec.shape[1:]) <= MAX_TENSOR_SIDE
    if not ok:
        raise RunError(f"The run's data shape {spec.shape} in the {spec.view} view is not one GenLab trains on.")


def _dataset(config: dict, spec: DataSpec, uploaded: bool) -> tuple[str, dict | None]:
    """(data set name, data_source) after checking that GenLab can build it, or "tensors" for none."""
    name = _text(config.get("dataset"), "data set name")
    if name.startswith("folder:") or name == "tensors":
        if name.startswith("folder:") and not uploaded and spec.view != "continuous" \
                and spec.shape[0] == 1 and spec.shape[1] == spec.shape[2] and spec.shape[1] in IMAGE_SIZES:
            return name, None
        _check_tensors_spec(spec)
        return "tensors", None  # an upload never names a path: its data is not rebuilt
    if _builtin_spec(name, spec.view) != spec:
        raise RunError(f"The run's data set {name!r} is not one GenLab builds in the {spec.view} view with "
                       f"shape {spec.shape}.")
    if config.get("data_source") is None:
        return name, None
    if name in toys.TOYS:
        return name, _toy_source(config["data_source"])
    if name != drawn.NAME:
        return name, None
    source = config["data_source"]
    if not isinstance(source, dict) or not isinstance(source.get("blobs"), list):
        raise RunError("The run's drawn density is malformed.")
    try:
        blobs = drawn.check_blobs(source["blobs"])
    except (TypeError, ValueError) as exc:
        raise RunError(f"The run's drawn density is malformed: {exc}") from None
    return name, {"blobs": [list(b) for b in blobs],
                  "n_train": _integer(source.get("n_train", 20000), "drawn train size", 1, MAX_DRAWN_POINTS),
                  "n_test": _integer(source.get("n_test", 5000), "drawn test size", 1, MAX_DRAWN_POINTS),
                  "seed": _integer(source.get("seed", 0), "drawn seed", 0, 2**63 - 1)}


def _toy_source(source) -> dict | None:
    """A generated toy's recorded arguments (`load_toy(name, **source)`), each checked; None at the defaults."""
    if not isinstance(source, dict) or set(source) - {"n_train", "n_test", "seed"}:
        raise RunError("The run's toy data arguments are malformed (n_train, n_test and seed only).")
    most = toys.TOY_POINTS[-1]
    return toys.toy_source(
        _integer(source.get("n_train", toys.DEFAULT_TOY_POINTS), "toy train size", SMALLEST_POINTS, most),
        # a larger test split is only a slower evaluation and a larger exported script
        _integer(source.get("n_test", toys.TOY_TEST_POINTS), "toy test size", SMALLEST_POINTS, toys.DEFAULT_TOY_POINTS),
        _integer(source.get("seed", 0), "toy seed", 0, 2**63 - 1))


def _hparams(config_class: type[ModelConfig], raw) -> dict:
    """The family's hyper-parameters with JSON types checked before its own bounds are."""
    if not isinstance(raw, dict):
        raise RunError("The run's hyper-parameters (hparams) are missing or malformed.")
    for f in dataclasses.fields(config_class):
        if f.name not in raw:
            continue
        value, kind = raw[f.name], type(f.default)
        ok = (isinstance(value, bool) if kind is bool else isinstance(value, str) if kind is str
              else not isinstance(value, bool) and isinstance(value, (int, float)))
        if not ok:
            wanted = {bool: "true or false", str: "a text"}.get(kind, "a number")
            raise RunError(f"The run's hyper-parameter {f.name} must be {wanted}; got {type(value).__name__}.")
    try:
        return config_class.build(**raw).to_json()
    except ValueError as exc:
        raise RunError(f"The run's settings are not valid: {exc}") from None


def check_config(config, uploaded: bool = False) -> dict:
    """The config of a run rebuilt from its known keys, each checked; raises RunError otherwise.

    Arguments:
        config: the parsed config.json.
        uploaded: True for a checkpoint from a visitor: then only data sets GenLab builds by
            name are kept, and any other (a folder path, in-memory tensors) becomes "tensors".
    """
    if not isinstance(config, dict):
        raise RunError("The run's config.json is not a JSON object.")
    try:
        cls = family(_text(config.get("family"), "family"))
    except ValueError as exc:
        raise RunError(str(exc)) from None
    spec = _spec(config.get("spec"))
    fit = fits(cls.name, spec)
    if fit:
        raise RunError(fit)
    name, source = _dataset(config, spec, uploaded)
    created = _text(config.get("created"), "creation time")
    out = {
        "family": cls.name,
        "title": cls.title,
        "hparams": _hparams(cls.config_class, config.get("hparams")),
        "dataset": name,
        "view": spec.view,
        "spec": spec.to_json(),
        "data_source": source,
        "seed": _integer(config.get("seed", 0), "seed", 0, 2**63 - 1),
        "seconds_budget": _number(config.get("seconds_budget", 0.0), "time budget"),
        "torch_threads": _integer(config.get("torch_threads", 1), "thread count", 1, 4096),
        "world_size": _integer(config.get("world_size", 1), "process count", 1, 4096),
        "backend": _text(config.get("backend"), "backend") or None,
        "created": created if re.fullmatch(r"[0-9T:-]{0,19}", created) else time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if "data_seed" in config:
        out["data_seed"] = _integer(config["data_seed"], "data seed", 0, 2**63 - 1)
    return out


def _scalars(record: dict, what: str) -> dict:
    """Keep string keys whose values are finite numbers, None, booleans or short texts."""
    out = {}
    for key, value in record.items():
        if not isinstance(key, str) or len(key) > MAX_TEXT:
            raise RunError(f"The run's {what} has a malformed key.")
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        short_text = isinstance(value, str) and len(value) <= MAX_TEXT
        if value is None or isinstance(value, (bool, int, float)) or short_text:
            out[key] = value
    return out


# the only texts a summary holds
SUMMARY_TEXTS = {"log_prob_kind", "kl_method", "trained_on", "status", "message", "samples_skipped"}


def _numbers(record: dict, what: str) -> dict:
    """`_scalars`, less any text outside SUMMARY_TEXTS: a summary's other values are numbers (or None)."""
    return {key: value for key, value in _scalars(record, what).items()
            if not isinstance(value, str) or key in SUMMARY_TEXTS}


def check_summary(summary, config: dict) -> dict:
    """The run's summary: numeric yardsticks and the few texts GenLab writes (the log p kind, the KL's
    method, the training status); anything else a file carries is dropped. Naming keys come from the config."""
    if not isinstance(summary, dict):
        raise RunError("The run's summary.json is not a JSON object.")
    out = _numbers(summary, "summary.json")
    train = summary.get("train")
    if isinstance(train, dict):
        out["train"] = _numbers(train, "training record")
    out.update(family=config["family"], dataset=config["dataset"], view=config["view"])
    return out


def check_metrics(lines: list[str]) -> list[dict]:
    """Parsed metrics records (JSON objects of scalars); raises RunError for too many or malformed lines."""
    records = []
    for line in lines:
        if not line.strip():
            continue
        if len(records) >= MAX_METRIC_LINES:
            raise RunError(f"The run's metrics.jsonl holds more than {MAX_METRIC_LINES:,} records.")
        try:
            record = json.loads(line)
        except ValueError:
            raise RunError(f"Line {len(records) + 1} of the run's metrics.jsonl is not valid JSON.") from None
        if not isinstance(record, dict) or len(record) > MAX_METRIC_KEYS:
            raise RunError(f"Line {len(records) + 1} of the run's metrics.jsonl is not a JSON object of at most "
                           f"{MAX_METRIC_KEYS} values.")
        records.append(_scalars(record, "metrics.jsonl"))
    return records


_budget = threading.local()


def _count(module, name, tensor):
    left = getattr(_budget, "left", None)
    if left is not None and tensor is not None:
        _budget.left = left - tensor.numel()
        if _budget.left < 0:
            raise RunError(f"The model is larger than the {_budget.limit:,} numbers allowed here; "
                           "pick smaller settings.")


register_module_parameter_registration_hook(_count)
register_module_buffer_registration_hook(_count)


@contextlib.contextmanager
def parameter_budget(limit: int):
    """Within this block (this thread only) building a model stops with RunError as soon as its
    parameters and buffers pass `limit` numbers: a layer is refused when it is registered, before
    its weights are initialised, so a hostile config never fills memory."""
    _budget.left, _budget.limit = limit, limit
    try:
        yield
    finally:
        _budget.left = None
