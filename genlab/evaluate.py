"""Yardsticks shared by every family: held-out NLL, bits/dim and, on toys, KL(p_data‖p_θ)."""
from __future__ import annotations

import math
import time

import torch

from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel

__all__ = ["evaluate", "heldout_metrics", "batched_log_prob"]

EVAL_BATCH = 2048


@torch.no_grad()
def batched_log_prob(model: GenerativeModel, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    """log p_θ(x) in nats for many items, in batches, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        parts = [model.log_prob(x[i : i + batch].to(model.device)).cpu() for i in range(0, len(x), batch)]
    finally:
        model.train(was_training)
    return torch.cat(parts) if parts else torch.empty(0)


def _finite_mean(values: torch.Tensor) -> float:
    value = float(values.double().mean())
    return value if math.isfinite(value) else math.inf


def heldout_metrics(model: GenerativeModel, x: torch.Tensor, ds: Dataset, prefix: str) -> dict[str, float]:
    """The common yardstick on held-out points x: NLL in nats, bits/dim for images, KL on toys."""
    if not model.can("density") or model.log_prob_kind not in ("exact", "lower_bound", "estimate"):
        return {}
    log_p = batched_log_prob(model, x)
    nll = -_finite_mean(log_p)
    out = {f"{prefix}_nll_nats": nll}
    if ds.view != "continuous":
        out[f"{prefix}_bits_per_dim"] = nll / (ds.dim * math.log(2))
    if ds.is_toy:
        out[f"{prefix}_kl_nats"] = _finite_mean(ds.log_prob_true(x).double() - log_p.double())
    return out


def evaluate(model: GenerativeModel, ds: Dataset, max_items: int | None = None) -> dict:
    """Test-split numbers for a trained model.

    Returns a dict with `test_nll_nats`, `bits_per_dim` (image views), `kl_nats` (toys,
    Monte-Carlo over the test split with the exact p_data), `log_prob_kind`, `n_test`
    and the evaluation wall time in `seconds`. Families without a normalised density
    report only what they can.
    """
    start = time.perf_counter()
    x = ds.test if max_items is None else ds.test[:max_items]
    metrics = heldout_metrics(model, x, ds, "test")
    out = {
        "log_prob_kind": model.log_prob_kind,
        "n_test": len(x),
        "test_nll_nats": metrics.get("test_nll_nats"),
    }
    if "test_bits_per_dim" in metrics:
        out["bits_per_dim"] = metrics["test_bits_per_dim"]
    if "test_kl_nats" in metrics:
        out["kl_nats"] = metrics["test_kl_nats"]
    if ds.is_toy:
        out["data_entropy_nats"] = -_finite_mean(ds.log_prob_true(x))
    out["seconds"] = time.perf_counter() - start
    return out
