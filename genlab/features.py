"""The image yardstick every family that samples can be scored on: distances in the features of a
small classifier trained once on the data set's own training split.

- `frechet_distance`: the Fréchet distance between Gaussians fitted to two sets of features
  (the distance behind FID, Heusel et al., 2017, "GANs trained by a two time-scale update rule
  converge to a local Nash equilibrium", eq. 6), here in the penultimate layer of a classifier of
  the data set's own classes rather than of Inception: ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½.
- `class_coverage`: how many of the data set's classes the samples hit (the classifier's argmax),
  and the entropy of that histogram.
- `classifier_for`: the classifier of a data set: shipped in `genlab/feature_classifiers/` for the
  bundled sets, else trained on first use (seconds, deterministic) and cached under
  `<runs>/cache/features/`, keyed by a digest of the training split's content.

The classifier is a two-layer strided CNN (about 14,000 weights): scoring a few hundred images
takes tens of milliseconds, so the yardstick costs next to nothing beside drawing the samples.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from genlab.data.base import Dataset
from genlab.runs import default_runs_root, write_atomic

__all__ = ["FeatureClassifier", "frechet_distance", "class_coverage", "classifier_for", "train_classifier",
           "data_digest", "image_metrics", "scaled", "ship", "SHIPPED", "COVERED_SHARE"]

RECIPE = "strided-cnn-v1"  # changes whenever the architecture or the training below does: old caches are ignored
CHANNELS = (16, 32)  # two 3×3 convolutions with stride 2
POOLED = 3  # the last feature map is averaged into POOLED × POOLED cells
FEATURES = 32  # width of the penultimate layer, where the Fréchet distance is measured
STEPS, EPOCHS, BATCH = 1500, 100, 128  # minibatches of BATCH: STEPS, or EPOCHS passes over a small set if fewer
LEARNING_RATE, WEIGHT_DECAY = 3e-3, 1e-4  # Adam's
COVERED_SHARE = 0.25  # a class is covered when it gets at least this fraction of a uniform share of samples
SHIPPED = Path(__file__).parent / "feature_classifiers"
MEMORY_ENTRIES = 8  # classifiers kept in memory, least recently used dropped first
log = logging.getLogger(__name__)


class FeatureClassifier(nn.Module):
    """A small CNN over images scaled to [0, 1]: `features` (N, FEATURES) and `forward` logits (N, classes)."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, CHANNELS[0], 3, stride=2, padding=1), nn.ReLU(),  # (N, 16, H/2, W/2)
            nn.Conv2d(CHANNELS[0], CHANNELS[1], 3, stride=2, padding=1), nn.ReLU(),  # (N, 32, H/4, W/4)
            nn.AdaptiveAvgPool2d(POOLED), nn.Flatten(),  # (N, 32·3·3)
            nn.Linear(CHANNELS[1] * POOLED * POOLED, FEATURES), nn.ReLU(),  # (N, FEATURES)
        )
        self.head = nn.Linear(FEATURES, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def scaled(ds: Dataset, x: torch.Tensor) -> torch.Tensor:
    """Images in the data set's view (0..levels−1) as the classifier reads them: floats in [0, 1]."""
    return (x.float() / (ds.levels - 1)).clamp(0, 1).reshape(len(x), *ds.shape)


def _classes(ds: Dataset) -> int:
    return len(ds.class_names) if ds.class_names else int(ds.labels_train.max()) + 1


def data_digest(ds: Dataset) -> str:
    """What a classifier is keyed by: the training recipe, and the training split's images, labels and view."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{RECIPE}|{ds.view}|{ds.levels}|{tuple(ds.shape)}|{_classes(ds)}|".encode())
    digest.update(ds.train.float().contiguous().numpy())  # read in place: full MNIST's 188 MB take 0.2 s
    digest.update(ds.labels_train.long().contiguous().numpy())
    return digest.hexdigest()


def train_classifier(x: torch.Tensor, labels: torch.Tensor, classes: int, seed: int = 0) -> FeatureClassifier:
    """A classifier of images x (N, C, H, W) in [0, 1], trained by Adam on minibatches of BATCH drawn
    with replacement: STEPS of them, or EPOCHS passes' worth on a set too small for that many.

    Deterministic for a given seed on a given machine: the initial weights and the batches come
    from seeded generators (the global random state is left as it was).
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = FeatureClassifier(x.shape[1], classes)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    for _ in range(min(STEPS, math.ceil(EPOCHS * len(x) / BATCH))):
        batch = torch.randint(len(x), (BATCH,), generator=generator)
        loss = nn.functional.cross_entropy(net(x[batch]), labels[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return net.eval().requires_grad_(False)


def _sqrt_psd(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(eigenvalues ≥ 0, square root) of a symmetric positive semi-definite float64 matrix, by eigen-
    decomposition; the small negative eigenvalues that rounding leaves are set to 0."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    values = values.clamp(min=0)
    return values, (vectors * values.sqrt()) @ vectors.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to the rows of a (N, F) and b (M, F):
    ‖μ_a − μ_b‖² + tr Σ_a + tr Σ_b − 2 tr (Σ_a^½ Σ_b Σ_a^½)^½, in float64.

    The rule for small and degenerate sets: each side needs at least 2 rows (else ValueError); the
    covariances are the unbiased ones (N − 1) and are never regularised. With fewer rows than
    features, or a feature that never varies, a covariance is singular; the formula holds for any
    positive semi-definite pair as it stands, because tr (Σ_a Σ_b)^½ is computed as the sum of the
    square roots of the eigenvalues of the symmetric Σ_a^½ Σ_b Σ_a^½. The result is clipped at 0
    (rounding can leave −1e-12); it is +inf when a feature is not finite (a diverged model's
    samples). Estimated from finite sets it is biased upwards: two samples of one distribution
    score above 0, more so the fewer rows there are (docs/YARDSTICKS.md measures it).

    Example:
        >>> frechet_distance(torch.zeros(5, 2), torch.ones(5, 2))   # ‖(1, 1)‖² = 2.0
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"Features must be shaped (N, F) alike; got {tuple(a.shape)} and {tuple(b.shape)}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("The Fréchet distance needs at least two items on each side.")
    a, b = a.double(), b.double()
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return math.inf
    cov_a, cov_b = a.T.cov().reshape(a.shape[1], -1), b.T.cov().reshape(b.shape[1], -1)  # (F, F)
    _, root_a = _sqrt_psd(cov_a)
    cross, _ = _sqrt_psd(root_a @ cov_b @ root_a)
    value = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross.sqrt().sum()
    return max(float(value), 0.0)


def class_coverage(logits: torch.Tensor, classes: int) -> dict:
    """Which classes samples fall in by the classifier's argmax over `logits` (N, classes).

    `classes_covered`: how many classes get at least COVERED_SHARE of a uniform share of the
    samples (a quarter of 1/classes: 2.5 % of them with 10 classes), so a few stray samples do not
    count as a class; `classes_total`: the number of classes; `class_entropy_nats`: the entropy of
    the samples' class histogram (log 10 = 2.30 nats when ten classes are equally common, 0 when all
    samples fall in one).
    """
    counts = torch.bincount(logits.argmax(1), minlength=classes).double()  # (classes,)
    share = counts / counts.sum()
    hit = share[share > 0]
    return {
        "classes_covered": int((share >= COVERED_SHARE / classes).sum()),
        "classes_total": classes,
        "class_entropy_nats": float((hit * hit.reciprocal().log()).sum()),
    }


_memory: OrderedDict[str, FeatureClassifier] = OrderedDict()
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _cache_path(digest: str) -> Path:
    return default_runs_root() / "cache" / "features" / f"{digest}.safetensors"


def _read(path: Path, ds: Dataset) -> FeatureClassifier | None:
    """A saved classifier for ds, or None (logged) when the file is damaged or does not fit ds."""
    net = FeatureClassifier(ds.shape[0], _classes(ds))
    try:
        net.load_state_dict(load_file(path))
    except (SafetensorError, RuntimeError, OSError) as exc:
        log.warning("Ignored the feature classifier in %s (it will be trained again): %s", path, exc)
        return None
    return net.eval().requires_grad_(False)


def _write(net: FeatureClassifier, path: Path, ds: Dataset, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in net.state_dict().items()}
    write_atomic(path, save(tensors, metadata={"recipe": RECIPE, "digest": digest, "dataset": ds.name,
                                               "view": ds.view}))


def _fit(ds: Dataset) -> FeatureClassifier:
    return train_classifier(scaled(ds, ds.train), ds.labels_train.long(), _classes(ds))


def _find(ds: Dataset, digest: str) -> FeatureClassifier:
    """The shipped classifier for ds, else the cached one, else one trained now and cached."""
    for path in [*sorted(SHIPPED.glob(f"*-{digest}.safetensors")), _cache_path(digest)]:
        net = _read(path, ds) if path.is_file() else None
        if net is not None:
            return net
    net = _fit(ds)
    try:
        _write(net, _cache_path(digest), ds, digest)
    except OSError as exc:  # a read-only runs folder costs a retrain per process, nothing else
        log.warning("Could not cache the feature classifier: %s", exc)
    return net


def classifier_for(ds: Dataset) -> FeatureClassifier | None:
    """The fixed classifier of an image set's classes; None for sets without labels of two classes or more.

    Shipped weights (the bundled sets), else `<runs>/cache/features/<digest>.safetensors`, else
    trained now (a few seconds) and cached there. Thread-safe: each set is trained at most once
    per process, while other sets are served.
    """
    if not ds.spec.is_image or ds.labels_train is None or _classes(ds) < 2:
        return None
    digest = data_digest(ds)
    with _locks_guard:
        lock = _locks.setdefault(digest, threading.Lock())
    with lock:
        with _locks_guard:
            net = _memory.get(digest)
        if net is None:
            net = _find(ds, digest)
        with _locks_guard:
            _memory[digest] = net
            _memory.move_to_end(digest)
            while len(_memory) > MEMORY_ENTRIES:
                _memory.popitem(last=False)
    return net


def ship(ds: Dataset, label: str) -> Path:
    """Train the classifier of ds and write it into genlab/feature_classifiers/ as `<label>-<digest>`,
    replacing an older one of that label (`scripts/ship_feature_classifiers.py` runs it for the bundled sets)."""
    digest = data_digest(ds)
    for old in SHIPPED.glob(f"{label}-*.safetensors"):
        old.unlink()
    path = SHIPPED / f"{label}-{digest}.safetensors"
    _write(_fit(ds), path, ds, digest)
    return path


def image_metrics(ds: Dataset, samples: torch.Tensor, reference: torch.Tensor) -> dict:
    """The image yardstick between a model's samples and held-out images, both in ds's view:
    `frechet_distance` in the classifier's features, `frechet_samples` (how many samples it compared:
    its bias grows as they get fewer, so compare runs at the same count), and `class_coverage` of
    the samples. {} where ds has no classifier (not images, or no labels)."""
    net = classifier_for(ds)
    if net is None:
        return {}
    with torch.no_grad():
        sample_features, reference_features = net.features(scaled(ds, samples)), net.features(scaled(ds, reference))
        logits = net.head(sample_features)
    return {"frechet_distance": frechet_distance(sample_features, reference_features),
            "frechet_samples": len(samples), **class_coverage(logits, _classes(ds))}
