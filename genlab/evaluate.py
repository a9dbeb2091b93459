"""Yardsticks shared by every family: held-out NLL, bits/dim and, on toys, KL(p_data‖p_θ)."""
from __future__ import annotations

import math
import time

import torch

from genlab.data.base import Dataset
from genlab.features import image_metrics
from genlab.models.base import GenerativeModel
from genlab.yardsticks import grid_kl, median_distance, mmd2, mode_coverage, sample_log_density

__all__ = ["evaluate", "heldout_metrics", "batched_log_prob", "budgeted_items", "budgeted", "toy_kl", "sample_metrics",
           "KL_METHODS", "kl_method", "live_kl_method", "EVAL_SHARE"]

EVAL_BATCH = 2048
SAMPLES_FOR_KL = 20000  # samples behind the density estimate of an implicit model
LEAST_SAMPLES_FOR_KL = 1000  # a timed evaluation's fewest (a slow sampler, a short budget)
LIVE_SAMPLES_FOR_KL = 4000  # the same while it trains, where the estimate is made at every report
MMD_ITEMS = 1000  # samples and held-out items compared by MMD
LIVE_MMD_ITEMS = 300  # held-out items behind the live MMD of a family without a likelihood
LARGE_DIMS = 256  # above this many dimensions pixel-by-pixel samplers are slow
MMD_ITEMS_LARGE = 200  # MMD_ITEMS above LARGE_DIMS
EVAL_SHARE = 0.2  # with a run's budget: the held-out scoring after training takes at most this share of it
PROBE_ITEMS = 32  # items scored first, to measure what one costs


def batched_log_prob(model: GenerativeModel, x: torch.Tensor, batch: int = EVAL_BATCH) -> torch.Tensor:
    """log p_θ(x) in nats for many items, in batches, in eval mode."""
    with model.evaluating():
        parts = [model.log_prob(x[i : i + batch].to(model.device)).cpu() for i in range(0, len(x), batch)]
    return torch.cat(parts) if parts else torch.empty(0)


def budgeted(n: int, make, seconds: float | None, least: int = PROBE_ITEMS) -> torch.Tensor:
    """`make(a, b)` (a Tensor of b - a items) for items 0..n, all of them without a budget; with one, a
    probe of `least` items first to measure the cost of one, then as many more as the rest of `seconds`
    allows at that cost (at least the probe)."""
    if seconds is None or n <= least:
        return make(0, n)
    began = time.perf_counter()
    probe = make(0, least)
    per_item = (time.perf_counter() - began) / least
    more = int(max(0.0, seconds - per_item * least) / max(per_item, 1e-9))
    n = min(n, least + more)
    return probe if n == least else torch.cat([probe, make(least, n)])


def budgeted_items(x: torch.Tensor, score, seconds: float | None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(items scored, their scores): all of x without a budget; with one, the first items of a seeded
    random order, as many as `budgeted` says fit in `seconds`. `score` maps items to a Tensor[N]."""
    if seconds is not None and len(x) > PROBE_ITEMS:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))]
    scores = budgeted(len(x), lambda a, b: score(x[a:b]), seconds)
    return x[: len(scores)], scores


def _scores_nll(model: GenerativeModel) -> bool:
    """Whether held-out NLL is reported: a normalised density, a bound on one, or an estimate of one."""
    return model.can("density") and model.log_prob_kind in ("exact", "lower_bound", "estimate")


def _finite_mean(values: torch.Tensor) -> float:
    """The mean of a loss-like quantity (lower is better), +inf when it is not finite."""
    value = float(values.double().mean())
    return value if math.isfinite(value) else math.inf


def _heldout(model: GenerativeModel, x: torch.Tensor, ds: Dataset, live_mmd: bool,
             log_p: torch.Tensor | None = None, seconds: float | None = None) -> dict:
    """The common yardstick on held-out points x, each number computed once: NLL in nats (and
    bits/dim on images) where p_θ or a bound on it exists; KL(p_data‖p_θ) on toys by the best
    method the family allows, with that method's name; with `live_mmd`, MMD² of a few samples
    on images for families without a likelihood (`evaluate` measures MMD² for all anyway); `log_p`:
    log p_θ(x) when it is already scored; `seconds`: a budget for the samples behind an implicit
    model's KL."""
    out: dict = {}
    if _scores_nll(model):
        log_p = batched_log_prob(model, x) if log_p is None else log_p
        nll = _finite_mean(-log_p)  # a point with p_θ = 0 makes it +inf, never −inf
        out["nll_nats"] = nll
        if ds.view != "continuous":
            out["bits_per_dim"] = nll / (ds.dim * math.log(2))
        if ds.is_toy:
            out["kl_nats"], out["kl_method"] = _kl_from_log_prob(ds, x, log_p), kl_method(model.log_prob_kind)
    elif ds.is_toy:
        out["kl_nats"], out["kl_method"] = toy_kl(model, ds, x, LIVE_SAMPLES_FOR_KL if live_mmd else SAMPLES_FOR_KL,
                                                  seconds)
    elif live_mmd and model.can("sample"):
        out["mmd"] = sample_metrics(model, ds, x[:LIVE_MMD_ITEMS], features=False)["mmd"]
    return out


def heldout_metrics(model: GenerativeModel, x: torch.Tensor, ds: Dataset, prefix: str) -> dict[str, float]:
    """What the trainer charts on validation data for every family, keys prefixed
    (`valid_nll_nats`, `valid_bits_per_dim`, `valid_kl_nats`, `valid_mmd`)."""
    return {f"{prefix}_{k}": v for k, v in _heldout(model, x, ds, live_mmd=True).items()
            if k != "kl_method" and v is not None}


def _kl_from_log_prob(ds: Dataset, x: torch.Tensor, log_p: torch.Tensor) -> float:
    """Monte-Carlo KL(p_data‖p_θ) = mean over x ~ p_data of log p_data(x) − log p_θ(x)."""
    return _finite_mean(ds.log_prob_true(x).double() - log_p.double())


KL_METHODS = {
    "exact": "Monte-Carlo over test points with the exact p_θ",
    "lower_bound": "Monte-Carlo over test points with a lower bound on log p_θ (KL is over-estimated)",
    "estimate": "Monte-Carlo over test points with an estimate of log p_θ",
    "unnormalized": "energy normalised on a 200×200 grid over the plot box",
    None: "a Gaussian mixture fitted to {samples:,} samples (its size chosen on held-out samples; "
          "bias measured in docs/YARDSTICKS.md)",
}


def kl_method(log_prob_kind: str | None, samples: int = SAMPLES_FOR_KL) -> str:
    """How KL(p_data‖p_θ) is measured on toys for a family whose log p is of this kind, in words;
    `samples` is how many samples the estimate of an implicit model is made from."""
    return KL_METHODS[log_prob_kind].format(samples=samples)


def live_kl_method(log_prob_kind: str | None) -> str:
    """The same for the KL charted while a family trains (an implicit model's is made from fewer samples)."""
    return kl_method(log_prob_kind, LIVE_SAMPLES_FOR_KL)


def _samples(model: GenerativeModel, n: int, seed: int = 0) -> torch.Tensor:
    return model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu()


def toy_kl(model: GenerativeModel, ds: Dataset, x: torch.Tensor,
           samples: int = SAMPLES_FOR_KL, seconds: float | None = None) -> tuple[float | None, str]:
    """KL(p_data‖p_θ) over points x for a family without a normalised p_θ (an energy is
    normalised on a grid, an implicit model's density estimated from `samples` of its samples:
    with `seconds`, as many as fit in them, at least LEAST_SAMPLES_FOR_KL, and the method says
    how many), and the method's name. Families with p_θ or a bound on it are scored directly by
    `_heldout`."""
    kind = model.log_prob_kind
    if kind == "unnormalized" and model.can("density"):
        return grid_kl(lambda p: batched_log_prob(model, p), ds, x), kl_method(kind)
    if model.can("sample"):
        drawn = budgeted(samples, lambda a, b: _samples(model, b - a, seed=a), seconds,
                         least=min(samples, LEAST_SAMPLES_FOR_KL))
        log_p_hat, _ = sample_log_density(drawn)
        return _kl_from_log_prob(ds, x, log_p_hat(x)), kl_method(None, len(drawn))
    return None, "the family gives neither a density nor samples"


def sample_metrics(model: GenerativeModel, ds: Dataset, x: torch.Tensor, features: bool = True,
                   seconds: float | None = None) -> dict:
    """MMD² between samples and held-out data x (every family that samples), mode coverage, and with
    `features`, on labelled images, the Fréchet distance in a classifier's features and the classes
    covered (`genlab.features`; left out while training, where a first use would train the classifier).
    With `seconds`, only as many samples are drawn as fit in it (`budgeted`: a pixel-by-pixel sampler
    on MNIST draws a few per second); `samples_compared` says how many, against up to MMD_ITEMS of x."""
    if not model.can("sample"):
        return {}
    if seconds is not None and model.network_pass_per_dimension and ds.dim > LARGE_DIMS:
        return {"samples_skipped": f"{model.title} draws an image in {ds.dim} passes of its network, one per "
                                   "pixel (tens of seconds for a few images on a CPU): more than a timed "
                                   "evaluation allows, so its sample yardsticks are left out here; the "
                                   "Samples page draws samples, and `bench` measures them without a budget."}
    n = min(len(x), MMD_ITEMS if ds.dim <= LARGE_DIMS else MMD_ITEMS_LARGE)
    samples = budgeted(n, lambda a, b: _samples(model, b - a, seed=a), seconds)
    reference = x[:n]
    out = image_metrics(ds, samples, reference) if features else {}
    out["samples_compared"] = len(samples)
    if ds.view != "continuous":
        samples, reference = samples / (ds.levels - 1), reference / (ds.levels - 1)
    out["mmd"] = mmd2(samples, reference, median_distance(reference))
    if ds.modes is not None:
        centres, sigma = ds.modes
        out.update(mode_coverage(samples, centres, sigma))
    return out


def evaluate(model: GenerativeModel, ds: Dataset, max_items: int | None = None, seconds: float | None = None) -> dict:
    """Test-split numbers for a trained model: every yardstick the family allows.

    Returns a dict with `log_prob_kind`, `test_nll_nats` and `bits_per_dim` (families with
    a normalised density or a bound; bits/dim on image views), `kl_nats` and `kl_method`
    (toys: exact Monte-Carlo, grid-normalised energy, or a density estimate from
    samples), `mmd` (every family that samples), `modes_covered` / `far_share`
    (mixtures with known modes), `n_test` and the evaluation wall time in `seconds`.

    `seconds` is a time budget for scoring log p_θ on test items (a run's passes
    EVAL_SHARE of its training budget): a seeded random subset is scored, as large as the
    cost of a first few items says fits (`budgeted_items`), and the family's extra numbers
    are taken on the same subset. `n_test` is then the number scored, of `n_test_total`,
    and `test_nll_stderr_nats` the standard error of the mean over them.
    """
    start = time.perf_counter()
    x = every = ds.test if max_items is None else ds.test[:max_items]
    out: dict = {"log_prob_kind": model.log_prob_kind, "n_test_total": len(x)}
    if _scores_nll(model):
        share = None if seconds is None else seconds / 2  # the other half for the sample yardsticks
        x, log_p = budgeted_items(x, lambda items: batched_log_prob(model, items), share)
        out["test_nll_stderr_nats"] = float(log_p.double().std() / math.sqrt(len(x))) if len(x) > 1 else None
    else:
        log_p = None
    kl_seconds = None if seconds is None or log_p is not None else seconds / 2  # an implicit model's samples
    metrics = _heldout(model, x, ds, live_mmd=False, log_p=log_p, seconds=kl_seconds)
    out.update({"n_test": len(x), "test_nll_nats": metrics.get("nll_nats")})
    if "bits_per_dim" in metrics:
        out["bits_per_dim"] = metrics["bits_per_dim"]
    if ds.is_toy:
        out["kl_nats"], out["kl_method"] = metrics["kl_nats"], metrics["kl_method"]
        out["data_entropy_nats"] = _finite_mean(-ds.log_prob_true(x))
    left = None if seconds is None else max(0.0, seconds - (time.perf_counter() - start))
    out.update(sample_metrics(model, ds, every, seconds=left))  # compared with the whole test split
    model.eval()
    with torch.no_grad():
        out.update({f"test_{k}": v for k, v in model.extra_metrics(x.to(model.device)).items()})
    out["seconds"] = time.perf_counter() - start
    return out
