"""Saved runs side by side: every yardstick their summaries report, as rows for a table, a chart or a CSV.

Example:
    >>> rows = runs_table(genlab.list_runs("runs"))
    >>> open("runs.csv", "w").write(to_csv(rows))
"""
from __future__ import annotations

import csv
import io
import math

from genlab.data import IN_MEMORY, dataset_title
from genlab.data.registry import source_of
from genlab.data.toys import DEFAULT_TOY_POINTS, TOYS
from genlab.presets import settings_note

__all__ = ["YARDSTICKS", "yardstick_keys", "yardstick_label", "better", "runs_table", "to_csv", "headline",
           "ranked"]

# The yardsticks every page knows, in the order they are shown: summary key -> (label, which way is better).
YARDSTICKS = {
    "kl_nats": ("KL (nats)", "lower"),
    "test_nll_nats": ("test NLL (nats)", "lower"),
    "bits_per_dim": ("bits/dim", "lower"),
    "frechet_distance": ("Fréchet distance (features)", "lower"),
    "classes_covered": ("classes covered", "higher"),
    "mmd": ("MMD²", "lower"),
    "modes_covered": ("modes covered", "higher"),
    "far_share": ("share of samples far from every mode", "lower"),
}
# The number a race on one data view is ranked by: KL to the true density on toy points, held-out NLL on images.
HEADLINE = {"continuous": "kl_nats"}
HEADLINE_DEFAULT = "test_nll_nats"
# Numbers in a summary that describe the run or the data, not how good the model is.
NOT_YARDSTICKS = {"seed", "n_test", "seconds", "train_seconds", "num_parameters", "torch_threads", "data_entropy_nats"}
COUNT_SUFFIXES = ("_total", "_samples")  # sizes and settings (modes_total, test_iw_samples), not scores
# Words that say a number is a log-likelihood (higher is better) rather than a cost.
LOG_LIKELIHOOD_WORDS = ("elbo", "iw", "log_prob", "loglik")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def yardstick_keys(summaries) -> list[str]:
    """Summary keys holding a number in at least one summary, known yardsticks first, then the rest sorted."""
    found = {key for summary in summaries for key, value in summary.items()
             if _is_number(value) and key not in NOT_YARDSTICKS and not key.endswith(COUNT_SUFFIXES)}
    return [key for key in YARDSTICKS if key in found] + sorted(found - set(YARDSTICKS))


def yardstick_label(key: str) -> str:
    """'test_elbo_nats' -> 'test elbo (nats)'; known keys get their own label."""
    if key in YARDSTICKS:
        return YARDSTICKS[key][0]
    words = key.split("_")
    unit = f" ({words.pop()})" if len(words) > 1 and words[-1] in ("nats", "bits") else ""
    return " ".join(words) + unit


def better(key: str) -> str | None:
    """"lower", "higher" or None (unknown) for a yardstick key."""
    if key in YARDSTICKS:
        return YARDSTICKS[key][1]
    if key.endswith("_nats") and any(word in key for word in LOG_LIKELIHOOD_WORDS):
        return "higher"
    return None


def _public_name(dataset: str) -> str:
    """A data set's name as a table may show it: a set of your own images by its title, never its server path."""
    return dataset if dataset == IN_MEMORY or source_of(dataset).prefix is None else dataset_title(dataset)


def training_points(config: dict) -> int | None:
    """How many training points a run on a generated toy had (its recorded number, else the default); None
    for every other data set."""
    if config["dataset"] not in TOYS:
        return None
    return (config.get("data_source") or {}).get("n_train", DEFAULT_TOY_POINTS)


def runs_table(runs) -> list[dict]:
    """One row per run (as `list_runs` returns them): what it is (its data, a toy's training points, its settings
    as `presets.settings_note` words them), then every yardstick any run reports."""
    keys = yardstick_keys(run["summary"] for run in runs)
    rows = []
    for run in runs:
        config, summary = run["config"], run["summary"]
        row = {
            "run": run["name"],
            "dataset": _public_name(config["dataset"]),
            "view": config["view"],
            "training points": training_points(config),
            "family": config.get("title", config["family"]),
            "family name": config["family"],
            "settings": settings_note(config["family"], config["view"], config["hparams"]),
            "log p kind": summary.get("log_prob_kind") or "—",
        }
        for key in keys:
            value = summary.get(key)
            row[yardstick_label(key)] = float(value) if _is_number(value) and math.isfinite(value) else None
        row.update({
            "parameters": summary.get("num_parameters"),
            "train seconds": summary.get("train_seconds"),
            "seed": config.get("seed"),
            "created": config.get("created", "").replace("T", " "),
            "status": summary.get("train", {}).get("status", ""),
        })
        rows.append(row)
    return rows


def headline(view: str, summaries) -> str | None:
    """The yardstick runs on one data view race on: KL for toys, test NLL for images, else the first known
    yardstick any of them reports (the Fréchet distance in classifier features on labelled images, MMD²
    elsewhere: both score every family, GANs included); None if they report none."""
    found = yardstick_keys(summaries)
    first = HEADLINE.get(view, HEADLINE_DEFAULT)
    return first if first in found else next((key for key in YARDSTICKS if key in found), None)


def ranked(rows: list[dict], key: str) -> list[dict]:
    """`runs_table` rows best first on one yardstick, each with its "rank"; rows without that number come
    last with rank None. The rank says nothing of how a number was got: show the "log p kind" beside it."""
    label, sign = yardstick_label(key), -1.0 if better(key) == "higher" else 1.0
    scored = sorted((row for row in rows if row.get(label) is not None), key=lambda row: sign * row[label])
    unscored = [row for row in rows if row.get(label) is None]
    return ([{**row, "rank": rank} for rank, row in enumerate(scored, start=1)]
            + [{**row, "rank": None} for row in unscored])


def to_csv(rows: list[dict]) -> str:
    """Rows as CSV text with a header of every column (missing values left empty)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()
