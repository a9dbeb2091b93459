"""Runs as single files that move between machines, and the checks that make loading one safe.

A checkpoint is a zip of a run folder: config.json, summary.json, metrics.jsonl and
model.safetensors. Loading one never executes code: JSON and safetensors only (no
pickle), member names are checked (no paths, no extras), sizes are capped before
anything is decoded, the family and hyper-parameters go through the same checks as
`create_model`, and every tensor's name, dtype and shape is compared with a freshly
built model before a single weight is copied.
"""
from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load as load_safetensors

from genlab.data.base import VIEWS, DataSpec
from genlab.models import create_model, family
from genlab.models.base import GenerativeModel
from genlab.runs import CONFIG, METRICS, SUMMARY, WEIGHTS

__all__ = ["CheckpointError", "pack_run", "unpack_run", "read_checkpoint", "MAX_CHECKPOINT_BYTES"]

MAX_CHECKPOINT_BYTES = 64 * 2**20  # a packed checkpoint
MAX_MEMBER_BYTES = {CONFIG: 2**20, SUMMARY: 2**20, METRICS: 32 * 2**20, WEIGHTS: 256 * 2**20}
MAX_BUFFER_ELEMENTS = 50_000_000  # fitted buffers that may change shape (a KDE's data)
FLOAT_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
                "I64": torch.int64, "I32": torch.int32, "BOOL": torch.bool, "U8": torch.uint8}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message says why in plain words."""


def pack_run(folder) -> bytes:
    """Zip a run folder into one file's bytes (config, summary, metrics, weights)."""
    folder = Path(folder)
    if not (folder / CONFIG).exists() or not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder} is not a GenLab run: it needs {CONFIG} and {WEIGHTS}.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in (CONFIG, SUMMARY, METRICS, WEIGHTS):
            if (folder / name).exists():
                archive.write(folder / name, arcname=name)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The checkpoint is {len(data) / 2**20:.0f} MB; the limit is "
                              f"{MAX_CHECKPOINT_BYTES // 2**20} MB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CheckpointError("This is not a GenLab checkpoint (a .zip made by 'Download run').") from None
    out = {}
    for info in archive.infolist():
        if info.filename not in MAX_MEMBER_BYTES:
            raise CheckpointError(f"Unexpected file {info.filename!r} in the checkpoint; it holds only "
                                  f"{', '.join(MAX_MEMBER_BYTES)}.")
        if info.file_size > MAX_MEMBER_BYTES[info.filename]:
            raise CheckpointError(f"{info.filename} in the checkpoint is too large ({info.file_size:,} bytes).")
        out[info.filename] = archive.read(info)
    for required in (CONFIG, WEIGHTS):
        if required not in out:
            raise CheckpointError(f"The checkpoint has no {required}.")
    return out


def _config(raw: bytes) -> tuple[dict, DataSpec]:
    try:
        config = json.loads(raw)
        spec = DataSpec(tuple(int(s) for s in config["spec"]["shape"]), str(config["spec"]["view"]),
                        config["spec"].get("levels"))
        family(str(config["family"]))
        hparams = dict(config["hparams"])
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"The checkpoint's {CONFIG} is malformed: {exc}") from None
    if spec.view not in VIEWS or not 1 <= len(spec.shape) <= 3 or not all(0 < s <= 4096 for s in spec.shape):
        raise CheckpointError(f"The checkpoint's data shape {spec.shape} / view {spec.view!r} is not one GenLab uses.")
    config["hparams"] = hparams
    return config, spec


def _header(raw: bytes) -> dict:
    """The safetensors header (names, dtypes, shapes), read without touching the tensors."""
    if len(raw) < 8:
        raise CheckpointError(f"{WEIGHTS} is truncated.")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8 or length > 2**24:
        raise CheckpointError(f"{WEIGHTS} has a damaged header.")
    try:
        header = json.loads(raw[8 : 8 + length])
    except ValueError:
        raise CheckpointError(f"{WEIGHTS} has a damaged header.") from None
    header.pop("__metadata__", None)
    return header


def read_checkpoint(data: bytes) -> tuple[GenerativeModel, dict]:
    """Validate a checkpoint's bytes and rebuild its model; returns (model, {config, summary, metrics})."""
    members = _members(data)
    config, spec = _config(members[CONFIG])
    try:
        model = create_model(config["family"], spec, **config["hparams"])
    except ValueError as exc:
        raise CheckpointError(f"The checkpoint's settings are not valid: {exc}") from None
    header = _header(members[WEIGHTS])
    own = dict(model.named_parameters()) | dict(model.named_buffers())
    params = dict(model.named_parameters())
    if set(header) != set(own):
        raise CheckpointError(f"The weights do not match a {model.title}: expected {len(own)} tensors named as "
                              f"the family names them, found {len(header)}.")
    for name, entry in header.items():
        dtype = FLOAT_DTYPES.get(entry.get("dtype"))
        shape = tuple(entry.get("shape", ()))
        if dtype is None:
            raise CheckpointError(f"Weight {name} has an unsupported type {entry.get('dtype')!r}.")
        if name in params and shape != tuple(params[name].shape):
            raise CheckpointError(f"Weight {name} has shape {shape}; a {model.title} with these settings needs "
                                  f"{tuple(params[name].shape)}.")
        count = 1
        for s in shape:
            count *= s
        if count > MAX_BUFFER_ELEMENTS:
            raise CheckpointError(f"Weight {name} is too large ({count:,} numbers).")
    try:
        tensors = load_safetensors(members[WEIGHTS])
        model.load_weights(tensors)
    except (ValueError, RuntimeError) as exc:
        raise CheckpointError(f"The weights could not be loaded: {exc}") from None
    model.eval()
    summary = json.loads(members[SUMMARY]) if SUMMARY in members else {}
    metrics = [json.loads(line) for line in members.get(METRICS, b"").decode().splitlines() if line.strip()]
    return model, {"config": config, "summary": summary, "metrics": metrics}


def unpack_run(data: bytes, runs_root, name: str | None = None) -> Path:
    """Validate a checkpoint and write it as a run folder under runs_root; returns the folder."""
    model, info = read_checkpoint(data)
    members = _members(data)
    stem = name or f"{info['config']['family']}-uploaded"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip(".-") or "uploaded"
    root = Path(runs_root)
    folder, i = root / stem, 1
    while folder.exists():
        i += 1
        folder = root / f"{stem}-{i}"
    folder.mkdir(parents=True)
    for member, raw in members.items():
        (folder / member).write_bytes(raw)
    return folder
