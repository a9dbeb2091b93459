"""A saved run as a short PyTorch script that runs without GenLab and reproduces its held-out number.

`export_run(folder)` returns the bytes of a zip holding one folder, `<name>/`, with

- `<name>.py`: the family's model written as plain torch modules whose parameter and buffer
  names match the run's weights, the hyper-parameters as a literal dict, a training loop
  (Adam, the same learning rate, batch size and objective) and GenLab's held-out yardstick;
- `weights.pt`: the run's weights, a dict of tensors (`torch.load(..., weights_only=True)`);
- `data.pt`: the run's train and test splits (pixels as uint8 on image views) and, on toy
  sets, the exact log p_data of every test point, so the script can report KL(p_data‖p_θ).

`python <name>.py` loads the weights and prints the test NLL in nats (bits per dimension on
images, KL on toys) as JSON: the numbers `genlab.evaluate` gives for the run, to float
rounding (dequantization noise and a VAE's importance samples come from the same seeded
generators). `python <name>.py --train` fits the same model from scratch first. The script
imports only torch and the standard library.

The script is assembled from the parts in `export_templates/`: a header written here (the
run's settings as literals), the parts the family builds on, the family's own part, and the
run part (data, evaluation, training, command line) that every family shares.
"""
from __future__ import annotations

import io
import json
import re
import textwrap
import zipfile
from pathlib import Path

import torch

from genlab.data.base import Dataset
from genlab.runs import CONFIG, WEIGHTS, load_run

__all__ = ["export_run", "unsupported_reason", "script_name", "SCRIPTS"]

TEMPLATES = Path(__file__).with_name("export_templates")

# family -> (its class in the script, the template parts before the run part, in order)
SCRIPTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gaussian": ("Gaussian", ("base", "density", "gaussian")),
    "gmm": ("GaussianMixture", ("base", "density", "gmm")),
    "kde": ("KDE", ("base", "density", "kde")),
    "realnvp": ("RealNVP", ("base", "nets", "density", "flows", "realnvp")),
    "nsf": ("NSF", ("base", "nets", "density", "flows", "nsf")),
    "bernoulli": ("Bernoulli", ("base", "pixels", "bernoulli")),
    "bernoulli-mixture": ("BernoulliMixture", ("base", "bernoulli_mixture")),
    "fvsbn": ("FVSBN", ("base", "pixels", "autoregressive", "fvsbn")),
    "nade": ("NADE", ("base", "pixels", "autoregressive", "nade")),
    "made": ("MADE", ("base", "pixels", "autoregressive", "made")),
    "pixelcnn": ("PixelCNN", ("base", "pixels", "autoregressive", "pixelcnn")),
    "vae": ("VAE", ("base", "nets", "vae")),
}
REPORTED_KEYS = ("log_prob_kind", "n_test", "test_nll_nats", "bits_per_dim", "kl_nats")
DEFAULT_STEPS = 1000  # training steps of a script whose run did not record its own
LITERAL_WIDTH = 90  # a settings dict longer than this is written one entry per line
LOG_PROB_KINDS = {"exact": "exact", "lower_bound": "a lower bound, so the NLL reported is an upper bound"}

HEADER = '''"""{title}, exported from the GenLab run "{name}".

Needs only PyTorch. Beside this file: weights.pt (the run's weights) and data.pt (its train
and test splits{toy_note}), both plain dicts of tensors.

    python {script}                       # load the run's weights, print the held-out numbers as JSON
    python {script} --train               # train from scratch with the same settings, then evaluate
    python {script} --train --steps 200   # ... for a number of steps (or --seconds)

{objective}
GENLAB_REPORTED below holds what GenLab measured for this run on the same test split.
"""
import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

FAMILY = {family!r}
HPARAMS = {hparams}
SPEC = {spec}
RUN = {run}
GENLAB_REPORTED = {reported}
'''


def unsupported_reason(config: dict) -> str | None:
    """None if the run with this config (its config.json) can be exported, else a sentence saying why not."""
    if config["family"] not in SCRIPTS:
        return (f"{config.get('title', config['family'])} runs cannot be exported as a script yet; the families "
                f"that can are: {', '.join(SCRIPTS)}.")
    return None


def _plain(text: str) -> str:
    """Text safe inside the script's docstring (no quotes or backslashes from a user's folder name)."""
    return re.sub(r'["\\]', "'", str(text))


def _literal(value: dict) -> str:
    """A dict as Python source: on one line when it fits, else one entry per line."""
    line = repr(value)
    if len(line) <= LITERAL_WIDTH:
        return line
    return "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in value.items()) + "}"


def script_name(run_name: str) -> str:
    """A run folder's name as a module name: `made-digits` -> `made_digits`."""
    name = re.sub(r"\W+", "_", run_name, flags=re.ASCII).strip("_") or "genlab_run"
    return f"run_{name}" if name[0].isdigit() else name


def script_source(config: dict, summary: dict, run_name: str, objective: str, log_prob_kind: str,
                  is_toy: bool) -> str:
    """The script's text for a run (its folder's name, config and summary) and its family's objective."""
    name = script_name(run_name)
    cls, parts = SCRIPTS[config["family"]]
    steps = (summary.get("train") or {}).get("steps") or DEFAULT_STEPS
    header = HEADER.format(
        title=_plain(config.get("title", config["family"])), name=_plain(run_name), script=f"{name}.py",
        toy_note=", and log p_data of every test point" if is_toy else "",
        objective=textwrap.fill(f"Objective: {_plain(objective)}. log p is {LOG_PROB_KINDS[log_prob_kind]}.", 92),
        family=config["family"], hparams=_literal(config["hparams"]), spec=_literal(config["spec"]),
        run=_literal({"name": run_name, "dataset": config["dataset"], "seed": config.get("seed", 0), "steps": steps}),
        reported=_literal({k: summary[k] for k in REPORTED_KEYS if summary.get(k) is not None}),
    )
    body = [(TEMPLATES / f"{part}.py-tpl").read_text() for part in parts]
    model_line = f"MODEL = {cls}  # the family this script exports\n"
    run = (TEMPLATES / "run.py-tpl").read_text()
    return "\n\n".join([header, *body, model_line, run])


def data_tensors(ds: Dataset) -> dict[str, torch.Tensor]:
    """The splits as the script reads them: pixel values as uint8 (exact for up to 256 levels), points as
    float32, and on toys log p_data of each test point in float64."""
    def stored(x: torch.Tensor) -> torch.Tensor:
        return x if ds.view == "continuous" else x.to(torch.uint8)

    out = {"train": stored(ds.train), "test": stored(ds.test)}
    if ds.is_toy:
        out["test_log_prob_true"] = ds.log_prob_true(ds.test).double()
    return out


def _saved(tensors: dict[str, torch.Tensor]) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, buf)
    return buf.getvalue()


def export_run(folder, ds: Dataset | None = None) -> bytes:
    """Zip a run as a self-contained PyTorch script with its weights and data; returns the zip's bytes.

    Arguments:
        folder: a run folder (config.json, model.safetensors, summary.json).
        ds: the run's dataset; needed only for runs trained on in-memory tensors (`from_tensors`),
            otherwise loaded by name as `load_run` does.

    Raises:
        FileNotFoundError: the folder is not a run.
        ValueError: the family has no script template (the message lists those that do), or the
            run's data cannot be found.

    Example:
        >>> Path("made-digits.zip").write_bytes(export_run("runs/made-digits"))
    """
    folder = Path(folder)
    if not (folder / CONFIG).exists() or not (folder / WEIGHTS).exists():
        raise FileNotFoundError(f"{folder.name} is not a GenLab run: it needs {CONFIG} and {WEIGHTS}.")
    config = json.loads((folder / CONFIG).read_text())
    reason = unsupported_reason(config)
    if reason:
        raise ValueError(reason)
    model, loaded, info = load_run(folder, load_data=ds is None)
    ds = ds if ds is not None else loaded
    if ds is None:
        raise ValueError(f"{folder.name} was trained on in-memory tensors; pass them: export_run(folder, ds).")
    if ds.spec != model.spec:
        raise ValueError(f"The data given are {ds.spec.shape} in the {ds.spec.view} view; the run was trained on "
                         f"{model.spec.shape} in the {model.spec.view} view.")
    name = script_name(folder.name)
    config = {**config, "hparams": model.hparams()}  # every setting, those added after the run at their default
    source = script_source(config, info["summary"], folder.name, model.objective, model.log_prob_kind, ds.is_toy)
    files = {
        f"{name}.py": source.encode(),
        "weights.pt": _saved(model.state_dict()),
        "data.pt": _saved(data_tensors(ds)),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, raw in files.items():
            archive.writestr(f"{name}/{member}", raw)
    return buf.getvalue()
