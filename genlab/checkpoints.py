"""Runs as single files that move between machines, and the checks that make loading one safe.

A checkpoint is a zip of a run folder: config.json, summary.json, metrics.jsonl and
model.safetensors. Loading one never executes code and never trusts what it says:
JSON and safetensors only (no pickle); member names, compression and declared sizes are
checked before anything is decompressed, and each member is read with a hard cap; the
config is rebuilt from an allow-list (`genlab.run_config`: checked types and ranges, only
data sets GenLab builds by name); the safetensors header is checked (dtypes, shapes,
offsets, total numbers) before a tensor exists; the model is built under a parameter
budget that stops it the moment it grows past the limit; and every tensor's name and
shape is compared with that model before a single weight is copied. Whatever goes wrong
becomes one CheckpointError with a plain sentence and no server path.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import uuid
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from genlab.data.base import DataSpec
from genlab.models import create_model
from genlab.models.base import GenerativeModel
from genlab.run_config import RunError, check_config, check_metrics, check_summary, parameter_budget
from genlab.runs import (
    CONFIG,
    MAX_CONFIG_BYTES,
    MAX_METRICS_BYTES,
    MAX_SUMMARY_BYTES,
    METRICS,
    SUMMARY,
    TEMPORARY,
    WEIGHTS,
    write_atomic,
)

__all__ = ["CheckpointError", "pack_run", "unpack_run", "read_checkpoint", "MAX_CHECKPOINT_BYTES",
           "max_parameters"]

MAX_CHECKPOINT_BYTES = 64 * 2**20  # a packed checkpoint
MAX_HEADER_BYTES = 2**20  # the safetensors JSON header
DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "F16": (torch.float16, 2),
          "BF16": (torch.bfloat16, 2), "I64": (torch.int64, 8), "I32": (torch.int32, 4),
          "BOOL": (torch.bool, 1), "U8": (torch.uint8, 1)}


def max_parameters() -> int:
    """Numbers (parameters and buffers) an imported model may hold: GENLAB_MAX_PARAMETERS, default 10 million."""
    return int(os.environ.get("GENLAB_MAX_PARAMETERS", "10000000"))


def _member_limits() -> dict[str, int]:
    return {CONFIG: MAX_CONFIG_BYTES, SUMMARY: MAX_SUMMARY_BYTES, METRICS: MAX_METRICS_BYTES,
            WEIGHTS: 8 + MAX_HEADER_BYTES + 8 * max_parameters()}


class CheckpointError(RunError):
    """A checkpoint file that cannot be loaded; the message says why in plain words."""


def pack_run(folder) -> bytes:
    """Zip a run folder into one file's bytes (config, summary, metrics, weights)."""
    folder = Path(folder)
    if not (folder / CONFIG).exists() or not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder.name!r} is not a GenLab run: it needs {CONFIG} and {WEIGHTS}.")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in (CONFIG, SUMMARY, METRICS, WEIGHTS):
            if (folder / name).exists():
                archive.write(folder / name, arcname=name)
    return buf.getvalue()


NOT_A_CHECKPOINT = "This is not a GenLab checkpoint (a .zip made by 'Download run')."


def _members(data: bytes) -> dict[str, bytes]:
    """The zip's members, each checked (name, compression, encryption, declared and real size)."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The checkpoint is {len(data) / 2**20:.0f} MB; the limit is "
                              f"{MAX_CHECKPOINT_BYTES // 2**20} MB.")
    limits = _member_limits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise CheckpointError(NOT_A_CHECKPOINT) from None
    names = [info.filename for info in infos]
    for info in infos:
        if info.filename not in limits:
            raise CheckpointError(f"Unexpected file {info.filename[:80]!r} in the checkpoint; it holds only "
                                  f"{', '.join(limits)}.")
        if names.count(info.filename) > 1:
            raise CheckpointError(f"The checkpoint holds {info.filename} twice.")
        if info.flag_bits & 0x1:
            raise CheckpointError("The checkpoint is encrypted; GenLab reads only plain zips made by 'Download run'.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError("The checkpoint uses a compression GenLab does not read; "
                                  "re-create it with 'Download run'.")
        if info.file_size > limits[info.filename]:
            raise CheckpointError(f"{info.filename} in the checkpoint is too large ({info.file_size:,} bytes; "
                                  f"the limit is {limits[info.filename]:,}).")
    for required in (CONFIG, WEIGHTS):
        if required not in names:
            raise CheckpointError(f"The checkpoint has no {required}.")
    out = {}
    for info in infos:
        try:
            with archive.open(info) as member:
                raw = member.read(limits[info.filename] + 1)  # never more than the cap, whatever the header says
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
            raise CheckpointError(f"{info.filename} in the checkpoint is damaged (its checksum or data do not "
                                  "match); download the run again.") from None
        if len(raw) > limits[info.filename]:
            raise CheckpointError(f"{info.filename} in the checkpoint is too large.")
        out[info.filename] = raw
    return out


def _json(raw: bytes, name: str):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise CheckpointError(f"The checkpoint's {name} is malformed: it is not valid JSON.") from None


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise CheckpointError(f"The checkpoint's {name} is not text.") from None


def _checked(name: str, check):
    """`check()`, its RunError made a CheckpointError that names the member `name` it is about."""
    try:
        return check()
    except CheckpointError:
        raise
    except RunError as exc:
        raise CheckpointError(f"The checkpoint's {name} is malformed or not valid: {exc}") from None


def _header(raw: bytes) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The safetensors header as {name: (dtype, shape)}, checked before any tensor is made:
    known dtypes, whole shapes, offsets that tile the data exactly, and a total under the budget."""
    damaged = f"{WEIGHTS} has a damaged header."
    if len(raw) < 8:
        raise CheckpointError(f"{WEIGHTS} is truncated.")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8 or length > MAX_HEADER_BYTES:
        raise CheckpointError(damaged)
    header = _json(raw[8 : 8 + length], WEIGHTS + " header")
    if not isinstance(header, dict):
        raise CheckpointError(damaged)
    header.pop("__metadata__", None)
    out, spans, total = {}, [], 0
    for name, entry in header.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("shape"), list) \
                or not isinstance(entry.get("data_offsets"), list) or len(entry["data_offsets"]) != 2 \
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                           for v in entry["shape"] + entry["data_offsets"]):
            raise CheckpointError(damaged)
        if entry.get("dtype") not in DTYPES:
            raise CheckpointError(f"Weight {name[:80]} has an unsupported type {str(entry.get('dtype'))[:20]!r}.")
        count = 1
        for side in entry["shape"]:
            count *= side
        total += count
        if total > max_parameters():
            raise CheckpointError(f"The weights hold more than the {max_parameters():,} numbers allowed here.")
        begin, end = entry["data_offsets"]
        if end - begin != count * DTYPES[entry["dtype"]][1]:
            raise CheckpointError(damaged)
        spans.append((begin, end))
        out[name] = (entry["dtype"], tuple(entry["shape"]))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise CheckpointError(damaged)
        position = end
    if position != len(raw) - 8 - length:
        raise CheckpointError(f"{WEIGHTS} is truncated or has extra bytes.")
    return out


def _read(data: bytes) -> tuple[GenerativeModel, dict, bytes]:
    """(model, {config, summary, metrics} rebuilt from their allow-lists, the checked weights' bytes)."""
    members = _members(data)
    config = _checked(CONFIG, lambda: check_config(_json(members[CONFIG], CONFIG), uploaded=True))
    summary = _checked(SUMMARY, lambda: check_summary(_json(members[SUMMARY], SUMMARY), config)
                       if SUMMARY in members else {})
    metrics = _checked(METRICS, lambda: check_metrics(_text(members.get(METRICS, b""), METRICS).splitlines()))
    header = _header(members[WEIGHTS])
    try:
        with parameter_budget(max_parameters()):
            model = create_model(config["family"], DataSpec.from_json(config["spec"]), **config["hparams"])
    except RunError as exc:
        raise CheckpointError(str(exc)) from None
    except ValueError as exc:
        raise CheckpointError(f"The checkpoint's settings are not valid: {exc}") from None
    own = dict(model.named_parameters()) | dict(model.named_buffers())
    params = dict(model.named_parameters())
    if set(header) != set(own):
        raise CheckpointError(f"The weights do not match a {model.title}: expected {len(own)} tensors named as "
                              f"the family names them, found {len(header)}.")
    built = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}
    for name, (dtype, shape) in header.items():
        want = params[name] if name in params else built[name]
        if DTYPES[dtype][0] != want.dtype:
            raise CheckpointError(f"Weight {name} is of type {dtype}; a {model.title} keeps it as {want.dtype}.")
        if shape != tuple(want.shape) and not _allowed_rows(model, name, shape, want):
            field = model.variable_buffers.get(name)
            needs = (f"1 to {getattr(model.config, field):,} rows of {tuple(want.shape[1:])}" if field
                     else str(tuple(want.shape)))
            raise CheckpointError(f"Weight {name} has shape {shape}; a {model.title} with these settings needs "
                                  f"{needs}.")
    try:
        model.load_weights(load_safetensors(members[WEIGHTS]))
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"The weights could not be loaded ({type(exc).__name__}).") from None
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"Weight {name} holds numbers that are not finite (NaN or infinite).")
        if name in built and not built[name].is_floating_point() and not torch.equal(tensor.cpu(), built[name]):
            # indices, orders and masks follow from the settings: other values could index out of range
            raise CheckpointError(f"Weight {name} differs from what a {model.title} with these settings builds.")
    model.eval()
    return model, {"config": config, "summary": summary, "metrics": metrics}, members[WEIGHTS]


def _allowed_rows(model: GenerativeModel, name: str, shape: tuple[int, ...], built: torch.Tensor) -> bool:
    """Whether a data-sized buffer (`variable_buffers`) may have this shape: the built one's but for a first
    dimension of 1 up to the bound its config field sets."""
    field = model.variable_buffers.get(name)
    if field is None or len(shape) != built.dim() or shape[1:] != tuple(built.shape[1:]):
        return False
    return 1 <= shape[0] <= getattr(model.config, field)


def read_checkpoint(data: bytes) -> tuple[GenerativeModel, dict]:
    """Validate a checkpoint's bytes and rebuild its model; returns (model, {config, summary, metrics})."""
    model, info, _ = _read(data)
    return model, info


def unpack_run(data: bytes, runs_root, name: str | None = None) -> Path:
    """Validate a checkpoint and write it as a run folder under runs_root; returns the folder.

    What is written is the rebuilt config, summary and metrics (never the uploaded JSON) and the
    checked weights, into a temporary folder renamed into place, so a failed write leaves no run.
    """
    _, info, weights = _read(data)
    stem = name or f"{info['config']['family']}-uploaded"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:80] or "uploaded"
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"{TEMPORARY}{uuid.uuid4().hex}-{stem}"
    staging.mkdir()
    try:
        write_atomic(staging / CONFIG, json.dumps(info["config"], indent=2).encode())
        write_atomic(staging / WEIGHTS, weights)
        write_atomic(staging / METRICS, "".join(json.dumps(r) + "\n" for r in info["metrics"]).encode())
        write_atomic(staging / SUMMARY, json.dumps(info["summary"], indent=2).encode())
        folder, i = root / stem, 1
        while True:
            try:
                os.rename(staging, folder)  # fails rather than replaces when the name is taken
                return folder
            except OSError:
                if not folder.exists():
                    raise
                i += 1
                folder = root / f"{stem}-{i}"
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
