"""The notes' first ideas as computations: generative vs. discriminative classifiers, parametric
vs. non-parametric density estimation as the data grow, the curse of dimensionality, and
downstream inference with a linear probe.

Every function takes plain tensors or a `Dataset` and returns numbers, rows or plotly figures;
nothing here imports Streamlit. The Concepts page is widgets around these calls.

Example:
    >>> ds = labelled_set("toy:moons")
    >>> model = make_classifier("kde", ds.spec).fit(ds.train, ds.labels_train, num_classes=2)
    >>> accuracy(model, ds.test, ds.labels_test)

References:
    Ng & Jordan, "On discriminative vs. generative classifiers: a comparison of logistic
    regression and naive Bayes" (NIPS 2001) — the learning-curve crossing.
    Silverman, "Density Estimation" (1986) — the KDE and its curse of dimensionality.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots

from genlab.data import load_dataset
from genlab.data.base import DataSpec, Dataset, from_tensors
from genlab.evaluate import batched_log_prob
from genlab.figures import COLORS, MARGIN, density_heatmap
from genlab.models import create_model, families, fits
from genlab.models.base import GenerativeModel
from genlab.queries import encode, has_comparable_log_prob, ood_sets
from genlab.snapshots import grid_axes
from genlab.train import train

__all__ = [
    "DISCRIMINATIVE", "GENERATIVE", "EVAL_ITEMS", "FAMILY_SECONDS", "one_blas_thread", "flat_features",
    # 1. generative vs. discriminative
    "Blob", "BLOBS", "CLASS_SETS", "labelled_set", "gaussian_blobs", "bayes_log_posterior",
    "Classifier", "SklearnClassifier", "LogisticRegressionClassifier", "MLPClassifier", "BayesClassifier",
    "NaiveBayes", "FamilyBayes", "CLASSIFIERS", "CURVE_CLASSIFIERS", "CURVE_SIZES", "LEVEL", "make_classifier",
    "classifier_title", "density_families", "accuracy",
    "decision_grid", "class_log_likelihood_grid", "novelty_threshold", "fits_no_class", "novelty_sets",
    "novelty_table", "point_table", "classifier_kind",
    "stratified_subset", "curve_sizes", "learning_curve", "curve_means", "curve_verdict",
    # 2. parametric vs. non-parametric
    "fit_family", "DEEP_CHOICES", "deep_family", "growth_sizes", "growth_models", "growth_curve",
    "growth_verdict",
    # 3. the curse of dimensionality
    "NOTES_IMAGE", "NOTES_PRINTED_EXPONENT", "DATASET_SIZES", "log10_possible_inputs", "power_of_ten",
    "format_power_of_ten", "downsample", "RESOLUTIONS", "resolution_gap", "gap_summary",
    # 4a. downstream inference
    "PROBE_LABELS", "linear_probe", "probe_comparison", "probe_summary",
    # figures
    "boundary_figure", "novelty_figure", "curve_figure", "growth_figure", "possible_inputs_figure",
    "gap_figure", "probe_figure",
]

DISCRIMINATIVE, GENERATIVE = "discriminative", "generative"
EVAL_ITEMS = 1000  # held-out items scored per point of a curve
POINTS_PER_TOY = 2000  # train and test points kept from a 2-D toy (its 20,000 would slow every classifier)


# =====================================================================================
# 1. Generative vs. discriminative classifiers
# =====================================================================================
@dataclass(frozen=True)
class Blob:
    """One labelled Gaussian blob: its centre and a lower-triangular scale (Σ = L Lᵀ)."""

    centre: tuple[float, float]
    scale_tril: tuple[tuple[float, float], tuple[float, float]]


# Three blobs with different shapes, so the Bayes-optimal boundaries are quadratic: the per-class
# Gaussian is the true model, naive Bayes ignores the tilts, logistic regression draws straight lines.
BLOBS = (
    Blob((-1.6, 1.0), ((0.9, 0.0), (0.6, 0.5))),
    Blob((1.6, 1.0), ((0.9, 0.0), (-0.6, 0.5))),
    Blob((0.0, -1.4), ((1.3, 0.0), (0.0, 0.35))),
)
BLOB_BOUNDS = (-4.0, 4.0, -4.0, 4.0)


def gaussian_blobs(n_train: int = POINTS_PER_TOY, n_test: int = POINTS_PER_TOY, seed: int = 0,
                   blobs: Sequence[Blob] = BLOBS) -> Dataset:
    """Labelled 2-D Gaussian blobs, equally likely; train and test drawn independently.

    Example:
        >>> ds = gaussian_blobs(300, 300, seed=1)   # ds.labels_train in {0, 1, 2}
    """
    def draw(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(len(blobs), (n,), generator=generator)
        centres = torch.tensor([b.centre for b in blobs])[labels]  # (n, 2)
        scales = torch.tensor([b.scale_tril for b in blobs])[labels]  # (n, 2, 2)
        noise = torch.randn(n, 2, 1, generator=generator)
        return centres + (scales @ noise)[..., 0], labels

    train_x, train_y = draw(n_train, torch.Generator().manual_seed(2 * seed))
    test_x, test_y = draw(n_test, torch.Generator().manual_seed(2 * seed + 1))
    ds = from_tensors(train_x, test_x, view="continuous", labels_train=train_y, labels_test=test_y, name="blobs")
    return dataclasses.replace(ds, bounds=BLOB_BOUNDS,
                               description=f"{len(blobs)} labelled Gaussian blobs of different shapes.")


def _toy(name: str, seed: int) -> Dataset:
    ds = load_dataset(name, seed=seed)
    keep = slice(0, POINTS_PER_TOY)
    return dataclasses.replace(ds, train=ds.train[keep], test=ds.test[keep],
                               labels_train=ds.labels_train[keep], labels_test=ds.labels_test[keep])


CLASS_SETS: dict[str, Callable[[str, int], Dataset]] = {
    "toy:moons": lambda view, seed: _toy("toy:moons", seed),
    "blobs": lambda view, seed: gaussian_blobs(seed=seed),
    "digits": lambda view, seed: load_dataset("digits", view=view, seed=seed),
}


def labelled_set(name: str, view: str = "binary", seed: int = 0) -> Dataset:
    """A labelled data set for the classifiers: "toy:moons" (2,000 + 2,000 points), "blobs", "digits".

    `view` applies to digits only ("binary" or "gray8").
    """
    if name not in CLASS_SETS:
        raise ValueError(f"Unknown labelled set {name!r}; choose one of {', '.join(CLASS_SETS)}.")
    return CLASS_SETS[name](view, seed)


def bayes_log_posterior(log_likelihood, log_prior) -> np.ndarray:
    """Bayes' rule in logs: log p(y|x) = log p(x|y) + log p(y) − log Σ_y' p(x|y') p(y').

    Arguments:
        log_likelihood: (N, K) class-conditional log-densities log p(x|y), nats.
        log_prior: (K,) log p(y).

    Returns:
        (N, K) log-posteriors; each row's exponentials sum to 1. A row where every class gives
        log p(x|y) = −∞ falls back to the prior.
    """
    joint = np.asarray(log_likelihood, dtype=float) + np.asarray(log_prior, dtype=float)  # (N, K)
    top = joint.max(1, keepdims=True)
    hopeless = ~np.isfinite(top[:, 0])
    joint[hopeless] = np.asarray(log_prior, dtype=float)
    top[hopeless, 0] = joint[hopeless].max(1)
    return joint - (top + np.log(np.exp(joint - top).sum(1, keepdims=True)))


def one_blas_thread():
    """A context in which numpy's BLAS (what scikit-learn's solvers run on) uses one thread.

    Like torch's pool (DESIGN.md), BLAS threads oversubscribe a small shared box: on two busy
    cores an MLP fit took 20.7 s with OpenBLAS's 2 threads and 0.5 s with 1.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def flat_features(x: torch.Tensor, spec: DataSpec) -> np.ndarray:
    """Items as rows of numbers in [0, 1] for images (pixel / (levels − 1)), as they are for points."""
    x = x.reshape(len(x), -1).double()
    if spec.view != "continuous":
        x = x / (spec.levels - 1)
    return x.numpy()


class Classifier:
    """Fit on labelled items, then answer p(y|x). The same verbs on both sides.

    Class attributes:
        title: how the page names it.
        kind: "discriminative" (models p(y|x) only) or "generative" (models p(x|y) p(y)).
    """

    title: ClassVar[str] = ""
    kind: ClassVar[str] = DISCRIMINATIVE

    def __init__(self, spec: DataSpec, seed: int = 0):
        self.spec = spec
        self.seed = seed
        self.num_classes = 0

    def fit(self, x: torch.Tensor, y: torch.Tensor, num_classes: int) -> "Classifier":
        y = torch.as_tensor(y, dtype=torch.long)
        counts = torch.bincount(y, minlength=num_classes)
        if len(counts) > num_classes or (counts == 0).any():
            raise ValueError(f"Every one of the {num_classes} classes needs at least one labelled example; "
                             f"got counts {counts.tolist()}.")
        self.num_classes = num_classes
        self._fit(x, y)
        return self

    def _fit(self, x: torch.Tensor, y: torch.Tensor) -> None:
        raise NotImplementedError

    def predict_log_proba(self, x: torch.Tensor) -> np.ndarray:
        """log p(y|x), shape (N, K)."""
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> np.ndarray:
        return self.predict_log_proba(x).argmax(1)


class SklearnClassifier(Classifier):
    """A discriminative scikit-learn estimator on flat features (pixels scaled to [0, 1])."""

    def make_estimator(self):
        raise NotImplementedError

    def _fit(self, x, y):
        with one_blas_thread():
            self.estimator = self.make_estimator().fit(flat_features(x, self.spec), y.numpy())

    def predict_log_proba(self, x):
        with one_blas_thread(), np.errstate(divide="ignore"):
            return np.log(self.estimator.predict_proba(flat_features(x, self.spec)))


class LogisticRegressionClassifier(SklearnClassifier):
    """p(y|x) = softmax(Wx + b): the discriminative counterpart of naive Bayes (linear boundaries)."""

    title = "Logistic regression"

    def make_estimator(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, max_iter=1000)


class MLPClassifier(SklearnClassifier):
    """A small neural network, p(y|x) = softmax(f_θ(x)), with two hidden layers of 32 ReLU units."""

    title = "Small MLP (2 × 32 units)"

    def make_estimator(self):
        from sklearn.neural_network import MLPClassifier as SklearnMLP

        return SklearnMLP(hidden_layer_sizes=(32, 32), solver="lbfgs", alpha=1e-3, max_iter=500,
                          random_state=self.seed)

    def _fit(self, x, y):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():  # a capped number of L-BFGS steps is the point of "small"
            warnings.simplefilter("ignore", ConvergenceWarning)
            super()._fit(x, y)


class BayesClassifier(Classifier):
    """A generative classifier: class-conditional densities p(x|y) and a prior p(y), joined by
    Bayes' rule. Subclasses fit one density per class and can sample from it."""

    kind = GENERATIVE

    def _fit(self, x, y):
        counts = torch.bincount(y, minlength=self.num_classes).double()
        self.log_prior = (counts / counts.sum()).log().numpy()
        self._fit_classes([x[y == k] for k in range(self.num_classes)])

    def _fit_classes(self, per_class: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def class_log_likelihood(self, x: torch.Tensor) -> np.ndarray:
        """log p(x|y) in nats for every class, shape (N, K)."""
        raise NotImplementedError

    def sample(self, label: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n items drawn from p(x|y = label), in the data view."""
        raise NotImplementedError

    def predict_log_proba(self, x):
        return bayes_log_posterior(self.class_log_likelihood(x), self.log_prior)


class NaiveBayes(BayesClassifier):
    """Gaussian naive Bayes: p(x|y) = Π_d N(x_d; μ_yd, σ²_yd), every feature independent given y.

    On images each pixel (scaled to [0, 1]) gets its own Gaussian, a density over those scaled
    values rather than a probability of the discrete pixels; a pixel constant within a class
    would have σ = 0, so `VAR_SMOOTHING` times the largest feature variance is added to every σ²
    (scikit-learn's GaussianNB does the same with 1e-9, far too little for 0/1 pixels: 78.6 % on
    binary digits against 89.4 % with 0.05, a value set once for every data set, not tuned per set).
    """

    title = "Gaussian naive Bayes"
    VAR_SMOOTHING = 0.05

    def _fit_classes(self, per_class):
        rows = [torch.as_tensor(flat_features(x, self.spec)) for x in per_class]
        self.mean = torch.stack([r.mean(0) for r in rows])  # (K, D)
        spread = torch.cat(rows).var(0, unbiased=False).max().clamp_min(1e-12)
        self.var = torch.stack([r.var(0, unbiased=False) for r in rows]) + self.VAR_SMOOTHING * spread  # (K, D)

    def class_log_likelihood(self, x):
        z = torch.as_tensor(flat_features(x, self.spec))[:, None, :]  # (N, 1, D)
        terms = -0.5 * ((z - self.mean) ** 2 / self.var + self.var.log() + math.log(2 * math.pi))  # (N, K, D)
        return terms.sum(2).numpy()

    def sample(self, label, n, generator=None):
        values = self.mean[label] + self.var[label].sqrt() * torch.randn(n, self.spec.dim, generator=generator,
                                                                         dtype=torch.float64)
        if self.spec.view != "continuous":
            values = (values.clamp(0, 1) * (self.spec.levels - 1)).round()
        return values.float().reshape(n, *self.spec.shape)


FAMILY_SECONDS = 2.0  # training budget per class for a trainable family


def fit_family(family: str, x: torch.Tensor, spec: DataSpec, seconds: float = FAMILY_SECONDS, seed: int = 0,
               **hparams) -> tuple[GenerativeModel, float]:
    """Fit GenLab family `family` to items x (in the view of `spec`) with `genlab.train`.

    Returns the model (best held-out weights, eval mode) and the wall-clock seconds the fit took.
    The trainer holds out a tenth of x to pick the weights (or a KDE's bandwidth), so x needs at
    least 2 items.
    """
    if len(x) < 2:
        raise ValueError(f"Fitting {family} needs at least 2 items; got {len(x)}.")
    levels = spec.levels if spec.view == "gray8" else None
    # the trainer never reads a test split; x stands in for one because a Dataset needs it
    ds = from_tensors(x, x[:1], view=spec.view, levels=levels, name=f"{family}-fit")
    model = create_model(family, ds, **hparams)
    start = time.perf_counter()
    train(model, ds, seconds=seconds, seed=seed)
    return model.eval(), time.perf_counter() - start


class FamilyBayes(BayesClassifier):
    """Any GenLab family with a normalised density, fitted once per class with `genlab.train`."""

    def __init__(self, spec: DataSpec, seed: int = 0, family: str = "gaussian", seconds: float = FAMILY_SECONDS,
                 **hparams):
        super().__init__(spec, seed)
        reason = fits(family, spec)
        if reason:
            raise ValueError(reason)
        self.family, self.seconds, self.hparams = family, seconds, hparams
        self.title = f"Per-class {families()[family].title}"

    def _fit_classes(self, per_class):
        self.models = [fit_family(self.family, x, self.spec, self.seconds, self.seed + k, **self.hparams)[0]
                       for k, x in enumerate(per_class)]
        if not has_comparable_log_prob(self.models[0]):
            raise ValueError(f"{self.models[0].title} gives no normalised log p(x|y), so Bayes' rule cannot "
                             "compare classes with it; pick a family with a density.")

    def class_log_likelihood(self, x):
        return torch.stack([batched_log_prob(m, x) for m in self.models], 1).double().numpy()

    def sample(self, label, n, generator=None):
        with torch.no_grad():
            return self.models[label].sample(n, generator=generator).cpu()


CLASSIFIERS: dict[str, type[Classifier]] = {
    "logistic": LogisticRegressionClassifier,
    "mlp": MLPClassifier,
    "naive_bayes": NaiveBayes,
}
CURVE_CLASSIFIERS = ("logistic", "mlp", "naive_bayes", "gaussian", "kde")  # the learning curve's default line-up


def make_classifier(name: str, spec: DataSpec, seed: int = 0, **options) -> Classifier:
    """A classifier by name: "logistic", "mlp", "naive_bayes", or any GenLab family name (fitted per class).

    `options` go to FamilyBayes (seconds, hyper-parameters) for a family.
    """
    if name in CLASSIFIERS:
        return CLASSIFIERS[name](spec, seed)
    if name not in families():
        raise ValueError(f"Unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)} or a family name.")
    return FamilyBayes(spec, seed, family=name, **options)


def classifier_title(name: str) -> str:
    """How the page names classifier `name` (without building it)."""
    return CLASSIFIERS[name].title if name in CLASSIFIERS else f"Per-class {families()[name].title}"


def classifier_kind(name: str) -> str:
    return CLASSIFIERS[name].kind if name in CLASSIFIERS else GENERATIVE


def density_families(spec: DataSpec) -> dict[str, str]:
    """Families that fit `spec` and give a normalised log p(x) (exact, a bound or an estimate): name -> title.

    A small model of each is built to ask it (some families' kind of log p depends on the data view).
    """
    out = {}
    for name, cls in families().items():
        if fits(name, spec) is None and has_comparable_log_prob(create_model(name, spec)):
            out[name] = cls.title
    return out


def accuracy(classifier: Classifier, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((classifier.predict(x) == np.asarray(y)).mean())


def _grid_points(bounds, n: int) -> torch.Tensor:
    xs, ys = grid_axes(bounds, n)
    xx, yy = np.meshgrid(xs, ys)
    return torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)


def decision_grid(classifier: Classifier, bounds, n: int = 100) -> dict[str, np.ndarray]:
    """Predicted class and its probability on an n×n grid over bounds, each shaped (n, n) indexed [y, x]."""
    log_post = classifier.predict_log_proba(_grid_points(bounds, n))
    return {"label": log_post.argmax(1).reshape(n, n), "confidence": np.exp(log_post.max(1)).reshape(n, n)}


def class_log_likelihood_grid(classifier: BayesClassifier, bounds, n: int = 100) -> np.ndarray:
    """log p(x|y) for every class on an n×n grid, shape (K, n, n) indexed [class, y, x]."""
    return classifier.class_log_likelihood(_grid_points(bounds, n)).T.reshape(-1, n, n)


def novelty_threshold(classifier: BayesClassifier, x_train: torch.Tensor, percentile: float = 1.0) -> float:
    """The `percentile`-th percentile of max_y log p(x|y) over the training items: below it, an input
    fits no class as well as all but `percentile` % of the data the model was fitted on."""
    return float(np.percentile(classifier.class_log_likelihood(x_train).max(1), percentile))


def fits_no_class(classifier: BayesClassifier, x: torch.Tensor, threshold: float) -> np.ndarray:
    """True where max_y log p(x|y) < threshold: no class explains x (a discriminative model cannot say this)."""
    return classifier.class_log_likelihood(x).max(1) < threshold


def novelty_sets(ds: Dataset, n: int = 200, seed: int = 0) -> dict[str, torch.Tensor]:
    """Inputs to test "fits no class" on: held-out items, and inputs unlike any class.

    Images: held-out images, uniform pixel noise and inverted held-out images. Points: held-out
    points and points spread uniformly over the plot box (most land far from every class).
    """
    if ds.view == "continuous":
        xmin, xmax, ymin, ymax = ds.bounds or (-4.0, 4.0, -4.0, 4.0)
        u = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed))
        box = torch.stack([xmin + (xmax - xmin) * u[:, 0], ymin + (ymax - ymin) * u[:, 1]], 1)
        return {"held-out points": ds.test[:n], "uniform over the box": box}
    sets = ood_sets(ds, n, seed)
    sets["inverted test images"] = (ds.levels - 1) - ds.test[:n]
    return sets


def novelty_table(generative: BayesClassifier, discriminative: Classifier, sets: Mapping[str, torch.Tensor],
                  threshold: float) -> list[dict]:
    """Per input set: the share the generative classifier flags as fitting no class, and how sure each
    side is of its predicted class on average (the discriminative side is sure even of noise)."""
    def sureness(model: Classifier, x: torch.Tensor) -> float:
        return float(np.exp(model.predict_log_proba(x).max(1)).mean())

    return [{"inputs": name,
             "flagged (fits no class)": float(fits_no_class(generative, x, threshold).mean()),
             f"mean max p(y|x), {generative.title}": sureness(generative, x),
             f"mean max p(y|x), {discriminative.title}": sureness(discriminative, x)}
            for name, x in sets.items()]


def point_table(classifiers: Mapping[str, Classifier], x: torch.Tensor, thresholds: Mapping[str, float]) -> list[dict]:
    """What each classifier says about one input x (1, ...): its class, how sure, and — generative only —
    max_y log p(x|y) and whether that is below the classifier's novelty threshold."""
    rows = []
    for name, model in classifiers.items():
        log_post = model.predict_log_proba(x)[0]
        row = {"classifier": model.title, "kind": model.kind, "predicted class": int(log_post.argmax()),
               "p(class | x)": float(np.exp(log_post.max())), "max_y log p(x|y) (nats)": None, "fits no class": None}
        if isinstance(model, BayesClassifier):
            best = float(model.class_log_likelihood(x).max())
            row["max_y log p(x|y) (nats)"] = best
            row["fits no class"] = best < thresholds[name]
        rows.append(row)
    return rows


def stratified_subset(labels: torch.Tensor, per_class: int | None, generator: torch.Generator) -> torch.Tensor:
    """Indices of `per_class` random items of every class (all items when None), sorted."""
    labels = torch.as_tensor(labels)
    if per_class is None:
        return torch.arange(len(labels))
    chosen = []
    for k in labels.unique():
        members = (labels == k).nonzero()[:, 0]
        if len(members) < per_class:
            raise ValueError(f"Class {int(k)} has {len(members)} items, fewer than the {per_class} asked for.")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


CURVE_SIZES = (5, 10, 20, 50, 100, 200)  # labelled examples per class


def curve_sizes(labels: torch.Tensor, sizes: Sequence[int] = CURVE_SIZES) -> list[int | None]:
    """The sizes every class can provide, then None for all the labelled data."""
    smallest = int(torch.bincount(torch.as_tensor(labels)).min())
    return [s for s in sizes if s < smallest] + [None]


def learning_curve(ds: Dataset, classifiers: Mapping[str, Callable[[int], Classifier]],
                   sizes: Sequence[int | None] | None = None, repeats: int = 3, seed: int = 0,
                   max_test: int = EVAL_ITEMS) -> list[dict]:
    """Test accuracy against the number of labelled examples per class.

    Each classifier is fitted on random class-balanced subsets of `ds.train` only, and scored on
    (the first `max_test` items of) `ds.test`, a disjoint split. The whole training split (size
    None) is fitted once per repeat with the same data.

    Arguments:
        classifiers: name -> a function of a seed that builds an unfitted classifier.
        sizes: labelled examples per class; default `curve_sizes(ds.labels_train)`.

    Returns:
        Rows {"classifier", "kind", "per_class", "n_train", "repeat", "accuracy"}; "per_class" is the
        mean number per class, so the last size reads as the whole split.
    """
    if ds.labels_train is None or ds.labels_test is None:
        raise ValueError(f"{ds.name} has no labels; a learning curve needs a labelled data set.")
    sizes = curve_sizes(ds.labels_train) if sizes is None else list(sizes)
    num_classes = int(ds.labels_train.max()) + 1
    x_test, y_test = ds.test[:max_test], ds.labels_test[:max_test]
    rows = []
    for repeat in range(repeats):
        generator = torch.Generator().manual_seed(seed * 1000 + repeat)
        for size in sizes:
            index = stratified_subset(ds.labels_train, size, generator)
            x, y = ds.train[index], ds.labels_train[index]
            for name, build in classifiers.items():
                model = build(seed + repeat).fit(x, y, num_classes)
                rows.append({"classifier": name, "kind": model.kind, "per_class": len(index) / num_classes,
                             "n_train": len(index), "repeat": repeat, "accuracy": accuracy(model, x_test, y_test)})
    return rows


def curve_means(rows: Sequence[dict], value: str = "accuracy", x: str = "per_class",
                series: str = "classifier") -> dict[str, dict[float, tuple[float, float]]]:
    """series -> {x: (mean, standard deviation over repeats)}, x sorted."""
    groups: dict[str, dict[float, list[float]]] = {}
    for row in rows:
        groups.setdefault(row[series], {}).setdefault(row[x], []).append(row[value])
    return {name: {k: (float(np.mean(v)), float(np.std(v))) for k, v in sorted(points.items())}
            for name, points in groups.items()}


LEVEL = 0.01  # accuracies closer than one percentage point count as level (about the noise of 1,000 test items)


def curve_verdict(rows: Sequence[dict], level: float = LEVEL) -> dict:
    """Which side leads at the smallest and at the largest training set, read off the curve itself.

    Compares the best generative with the best discriminative mean accuracy at each size; a
    difference under `level` is a draw.

    Returns:
        {"leaders": [(per_class, "generative" | "discriminative" | "level", best generative,
        best discriminative), ...], "cross": True when the generative side leads at the smallest
        size and the discriminative side at the largest, "sentence": the finding in words}.
    """
    means = curve_means(rows)
    kinds = {row["classifier"]: row["kind"] for row in rows}
    leaders = []
    for size in sorted({row["per_class"] for row in rows}):
        best = {kind: max((m[size][0] for name, m in means.items() if kinds[name] == kind and size in m),
                          default=float("nan")) for kind in (GENERATIVE, DISCRIMINATIVE)}
        gap = best[GENERATIVE] - best[DISCRIMINATIVE]
        side = "level" if not abs(gap) >= level else GENERATIVE if gap > 0 else DISCRIMINATIVE
        leaders.append((size, side, best[GENERATIVE], best[DISCRIMINATIVE]))

    def at(entry) -> str:
        size, side, g, d = entry
        scores = f"best generative {g:.1%}, best discriminative {d:.1%}"
        lead = "the two sides are level" if side == "level" else f"the {side} side leads"
        return f"with {size:,.0f} labelled examples per class {lead} ({scores})"

    first, last = leaders[0], leaders[-1]
    cross = first[1] == GENERATIVE and last[1] == DISCRIMINATIVE
    if cross:
        sentence = f"The curves cross as the textbook says: {at(first)}; {at(last)}."
    else:
        sentence = f"On this data the curves do not cross as the textbook says: {at(first)}; {at(last)}."
    return {"leaders": leaders, "cross": cross, "sentence": sentence}


# =====================================================================================
# 2. Parametric vs. non-parametric as the data grow
# =====================================================================================
DEEP_CHOICES = {"continuous": ("realnvp", "nsf"), "binary": ("made", "nade", "pixelcnn"), "gray8": ("made", "pixelcnn")}
DEEP_HPARAMS = {"realnvp": {"num_layers": 6}, "made": {"hidden_units": 256, "num_masks": 1}}


def deep_family(spec: DataSpec) -> str | None:
    """The deep family the panels fit to data of this spec: a flow on points, an autoregressive
    model (exact likelihood) on images; the first registered one that fits, else None."""
    registered = families()
    return next((f for f in DEEP_CHOICES[spec.view] if f in registered and fits(f, spec) is None), None)


def growth_sizes(n_total: int, start: int = 10) -> list[int]:
    """10, 30, 100, 300, 1,000, ... (from `start`) below n_total, then n_total itself."""
    sizes, k = [], 0
    while (size := start * 10 ** (k // 2) * (3 if k % 2 else 1)) < n_total:
        sizes.append(size)
        k += 1
    return sizes + [n_total]


def growth_models(spec: DataSpec, deep: bool = True, seconds: float = FAMILY_SECONDS) -> dict[str, dict]:
    """The line-up of the growth panel: label -> {"family", "kind", "hparams", "seconds"}."""
    lineup = {
        "Gaussian": {"family": "gaussian", "kind": "parametric", "hparams": {}, "seconds": 1.0},
        "KDE": {"family": "kde", "kind": "non-parametric", "hparams": {"num_bandwidths": 16}, "seconds": 1.0},
    }
    family = deep_family(spec) if deep else None
    if family is not None:
        lineup[families()[family].title] = {"family": family, "kind": "deep (parametric)",
                                            "hparams": DEEP_HPARAMS.get(family, {}), "seconds": seconds}
    return lineup


def growth_curve(ds: Dataset, models: Mapping[str, dict], sizes: Sequence[int] | None = None, seed: int = 0,
                 max_test: int = EVAL_ITEMS * 2) -> list[dict]:
    """Fit every model on the first n items of one shuffle of `ds.train` (nested subsets), for each n.

    Returns rows {"model", "kind", "n", "test_nll_nats", "bits_per_dim" (images), "fit_seconds",
    "num_parameters"}; a KDE keeps every one of its n training items (max_points = n), so its
    parameter count grows with the data.
    """
    sizes = growth_sizes(len(ds.train)) if sizes is None else list(sizes)
    order = torch.randperm(len(ds.train), generator=torch.Generator().manual_seed(seed))
    x_test = ds.test[:max_test]
    rows = []
    for n in sizes:
        subset = ds.train[order[:n]]
        for label, entry in models.items():
            hparams = dict(entry["hparams"])
            if entry["family"] == "kde":
                hparams["max_points"] = max(n, 10)
            model, seconds = fit_family(entry["family"], subset, ds.spec, entry["seconds"], seed, **hparams)
            nll = -float(batched_log_prob(model, x_test).double().mean())
            row = {"model": label, "kind": entry["kind"], "n": n, "test_nll_nats": nll, "fit_seconds": seconds,
                   "num_parameters": model.num_parameters()}
            if ds.view != "continuous":
                row["bits_per_dim"] = nll / (ds.dim * math.log(2))
            rows.append(row)
    return rows


def growth_verdict(rows: Sequence[dict], dim: int, parametric: str = "Gaussian",
                   non_parametric: str = "KDE") -> str:
    """Which of the two baselines has the lower held-out NLL at the smallest and the largest n, in words.

    `dim` is the data's dimension D: with fewer points than D a full Gaussian's covariance is singular.
    """
    nll = {(r["model"], r["n"]): r["test_nll_nats"] for r in rows}
    sizes = sorted({r["n"] for r in rows})
    small, large = sizes[0], sizes[-1]

    def leader(n: int) -> str:
        return parametric if nll[(parametric, n)] < nll[(non_parametric, n)] else non_parametric

    def pair(n: int) -> str:
        return f"{parametric} {nll[(parametric, n)]:,.2f} vs. {non_parametric} {nll[(non_parametric, n)]:,.2f} nats"

    singular = (f" With n = {small:,} points in D = {dim:,} dimensions the {parametric}'s covariance is singular, "
                "held up only by a small ridge." if small <= dim else "")
    if leader(small) == parametric and leader(large) == non_parametric:
        crossing = next(n for n in sizes if leader(n) == non_parametric)
        return (f"The {parametric} wins with {small:,} points ({pair(small)}) and the {non_parametric} "
                f"overtakes it by n = {crossing:,} ({pair(large)} at n = {large:,}): a fixed family stops "
                "improving once its parameters are pinned down; the data-sized model keeps going.")
    if leader(small) == leader(large):
        return (f"On this data the {leader(small)} has the lower held-out NLL at both ends: {pair(small)} at "
                f"n = {small:,}, {pair(large)} at n = {large:,}.{singular}")
    return (f"Reversed here: the {non_parametric} leads at n = {small:,} ({pair(small)}) and the {parametric} "
            f"at n = {large:,} ({pair(large)}).{singular} With all the data, one shared covariance generalises "
            f"better than kernels sitting on single training items in D = {dim:,} dimensions.")


# =====================================================================================
# 3. The curse of dimensionality
# =====================================================================================
NOTES_IMAGE = {"height": 700, "width": 1400, "channels": 3, "levels": 256}  # the notes' RGB image
NOTES_PRINTED_EXPONENT = 800_000  # what the notes print: 10^800000
DATASET_SIZES = {"scikit-learn digits": 1_797, "MNIST": 70_000, "the notes' data set": 15_000_000}


def log10_possible_inputs(height: int, width: int, channels: int, levels: int) -> float:
    """log10 of levels^(height·width·channels), the number of distinct inputs, without forming it."""
    for name, value in (("height", height), ("width", width), ("channels", channels), ("levels", levels)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive whole number; got {value!r}.")
    return height * width * channels * math.log10(levels)


def power_of_ten(log10_value: float) -> tuple[float, int]:
    """(mantissa in [1, 10), exponent) with mantissa × 10^exponent = 10^log10_value."""
    exponent = math.floor(log10_value)
    return 10 ** (log10_value - exponent), exponent


def format_power_of_ten(log10_value: float, latex: bool = False) -> str:
    """'3.15 × 10^7,080,225' (or LaTeX) for a number given by its log10."""
    mantissa, exponent = power_of_ten(log10_value)
    if latex:
        return f"{mantissa:.2f} \\times 10^{{{exponent:,}}}".replace(",", "{,}")
    return f"{mantissa:.2f} × 10^{exponent:,}"


def _downsample_pixels(x: torch.Tensor, size: int, view: str, levels: int) -> torch.Tensor:
    """Area-average images (N, C, H, W) to size×size, then back into the view's values."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x.clone()
    averaged = F.adaptive_avg_pool2d(x.float(), size)  # mean of the pixels each new pixel covers
    if view == "binary":
        return (averaged >= 0.5).float()
    return averaged.round().clamp(0, levels - 1)


def downsample(ds: Dataset, size: int) -> Dataset:
    """The image set at size×size pixels, in the same view and levels, with the same labels and split.

    Each new pixel is the mean of the pixels it covers, thresholded at 1/2 (binary) or rounded to a
    level (gray8), so the result is a valid data set of that view.
    """
    if ds.view == "continuous":
        raise ValueError(f"{ds.name} is a set of points; only image sets can be downsampled.")
    if size < 1 or size > min(ds.shape[-2:]):
        raise ValueError(f"size must be between 1 and {min(ds.shape[-2:])} pixels; got {size}.")
    train, test = (_downsample_pixels(x, size, ds.view, ds.levels) for x in (ds.train, ds.test))
    small = from_tensors(train, test, view=ds.view, labels_train=ds.labels_train, labels_test=ds.labels_test,
                         levels=ds.levels if ds.view == "gray8" else None, name=f"{ds.name}@{size}x{size}")
    return dataclasses.replace(small, description=f"{ds.name} averaged down to {size}×{size} pixels.")


RESOLUTIONS = (("digits", 4), ("digits", 8), ("mnist5k", 16), ("mnist5k", 28))  # (source, side) of the gap panel


def resolution_gap(source: str, size: int, view: str = "binary", seconds: float = FAMILY_SECONDS,
                   seed: int = 0) -> list[dict]:
    """Held-out bits/dim of a KDE and of the deep autoregressive family on `source` at size×size.

    Returns rows {"source", "size", "dim", "model", "family", "bits_per_dim", "fit_seconds"}.
    """
    ds = downsample(load_dataset(source, view=view, seed=seed), size)
    lineup = {"KDE": ("kde", {"num_bandwidths": 16}, 1.0)}
    family = deep_family(ds.spec)
    if family is not None:
        lineup[families()[family].title] = (family, DEEP_HPARAMS.get(family, {}), seconds)
    rows = []
    for label, (name, hparams, budget) in lineup.items():
        model, took = fit_family(name, ds.train, ds.spec, budget, seed, **hparams)
        nll = -float(batched_log_prob(model, ds.test[:EVAL_ITEMS]).double().mean())
        rows.append({"source": source, "size": size, "dim": ds.dim, "model": label, "family": name,
                     "bits_per_dim": nll / (ds.dim * math.log(2)), "fit_seconds": took})
    return rows


def gap_summary(rows: Sequence[dict]) -> dict:
    """The KDE-minus-deep gap per resolution, per dim and per image, and whether it widens with D.

    Returns {"gaps": [{"label", "dim", "bits_per_dim", "bits_per_image"}, ...] sorted by D,
    "sentence": the finding in words}; no sentence (None) with fewer than two resolutions.
    """
    by_size: dict[tuple, dict] = {}
    for r in rows:
        by_size.setdefault((r["dim"], r["source"], r["size"]), {})[r["family"]] = r["bits_per_dim"]
    gaps = []
    for (dim, source, size), values in sorted(by_size.items()):
        deep = [v for f, v in values.items() if f != "kde"]
        if "kde" in values and deep:
            per_dim = values["kde"] - deep[0]
            gaps.append({"label": f"{size}×{size} {source}", "dim": dim, "bits_per_dim": per_dim,
                         "bits_per_image": per_dim * dim})
    if len(gaps) < 2:
        return {"gaps": gaps, "sentence": None}
    first, last = gaps[0], gaps[-1]
    per_image = all(b["bits_per_image"] > a["bits_per_image"] for a, b in zip(gaps, gaps[1:]))
    per_dim = all(b["bits_per_dim"] > a["bits_per_dim"] for a, b in zip(gaps, gaps[1:]))
    trend = ("widens at every step, per image and per dimension" if per_image and per_dim else
             "widens at every step per image (though not at every step per dimension)" if per_image else
             "does not widen steadily here")
    sentence = (f"The KDE's shortfall against the deep model {trend}: {first['bits_per_image']:,.1f} bits per image "
                f"({first['bits_per_dim']:.3f} per dim) at {first['label']}, {last['bits_per_image']:,.1f} bits per "
                f"image ({last['bits_per_dim']:.3f} per dim) at {last['label']}.")
    return {"gaps": gaps, "sentence": sentence}


# =====================================================================================
# 4a. Downstream inference: a linear probe
# =====================================================================================
PROBE_LABELS = (10, 100, None)  # labelled examples per class; None: all of them


def linear_probe(features_train: np.ndarray, y_train, features_test: np.ndarray, y_test,
                 per_class: int | None = None, repeats: int = 3, seed: int = 0) -> float:
    """Mean test accuracy of logistic regression on standardised features, fitted on `per_class`
    random labelled items of every class (all of them, once, when None)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    scores = []
    for repeat in range(1 if per_class is None else repeats):
        index = stratified_subset(torch.as_tensor(y_train), per_class,
                                  torch.Generator().manual_seed(seed * 1000 + repeat)).numpy()
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))
        with one_blas_thread():
            probe.fit(features_train[index], y_train[index])
            scores.append(probe.score(features_test, y_test))
    return float(np.mean(scores))


def probe_comparison(model: GenerativeModel, ds: Dataset, per_class: Sequence[int | None] = PROBE_LABELS,
                     repeats: int = 3, seed: int = 0, max_test: int = EVAL_ITEMS) -> list[dict]:
    """Linear-probe accuracy on raw pixels and on the model's features `encode(x)`, per label budget.

    Returns rows {"features", "per_class", "accuracy", "dim"}; "per_class" is None for all labels.
    Sizes larger than the smallest class are left out.
    """
    if not model.can("encode"):
        raise ValueError(f"{model.title} has no encode(x); pick a model with a latent or feature space.")
    if ds.labels_train is None:
        raise ValueError(f"{ds.name} has no labels to probe with.")
    smallest = int(torch.bincount(ds.labels_train).min())
    x_test, y_test = ds.test[:max_test], ds.labels_test[:max_test]
    feature_sets = {
        "raw pixels": (flat_features(ds.train, ds.spec), flat_features(x_test, ds.spec)),
        f"{model.title} features": (encode(model, ds.train), encode(model, x_test)),
    }
    rows = []
    for name, (train_features, test_features) in feature_sets.items():
        for size in per_class:
            if size is not None and size > smallest:
                continue
            score = linear_probe(train_features, ds.labels_train, test_features, y_test, size, repeats, seed)
            rows.append({"features": name, "per_class": size, "accuracy": score, "dim": train_features.shape[1]})
    return rows


def probe_summary(rows: Sequence[dict]) -> str:
    """Where the model's features beat raw pixels, and where they do not, in words."""
    raw = {r["per_class"]: r["accuracy"] for r in rows if r["features"] == "raw pixels"}
    learned = {r["per_class"]: r["accuracy"] for r in rows if r["features"] != "raw pixels"}
    parts = []
    for size, score in learned.items():
        budget = "all labels" if size is None else f"{size} labels per class"
        verb = "beat" if score > raw[size] else "trail"
        parts.append(f"with {budget} the features {verb} raw pixels ({score:.1%} vs. {raw[size]:.1%})")
    return "; ".join(parts).capitalize() + "."


# =====================================================================================
# Figures (plotly, no Streamlit)
# =====================================================================================
def _class_colorscale(k: int) -> list:
    """A stepped colour scale: value i in [−0.5 + i, 0.5 + i] gets COLORS[i]."""
    scale = []
    for i in range(k):
        colour = COLORS[i % len(COLORS)]
        scale += [[i / k, colour], [(i + 1) / k, colour]]
    return scale


def _as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _square(fig: go.Figure, bounds) -> None:
    fig.update_xaxes(range=[bounds[0], bounds[1]], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[bounds[2], bounds[3]], showgrid=False, zeroline=False, scaleanchor="x",
                     scaleratio=1, constrain="domain")


def boundary_figure(grid: dict[str, np.ndarray], bounds, points, labels, title: str = "",
                    height: int = 340, max_points: int = 600) -> go.Figure:
    """Predicted class on a grid (shaded, paler where the classifier is unsure) with labelled points on top."""
    label_grid = grid["label"]
    k = int(max(label_grid.max(), _as_numpy(labels).max())) + 1
    xs, ys = grid_axes(bounds, label_grid.shape[0])
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=label_grid, zmin=-0.5, zmax=k - 0.5, colorscale=_class_colorscale(k), showscale=False,
        opacity=0.35, customdata=grid["confidence"],
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>class %{z}, p=%{customdata:.2f}<extra></extra>"))
    fig.add_trace(go.Contour(x=xs, y=ys, z=grid["confidence"], showscale=False, hoverinfo="skip",
                             contours=dict(start=0.5, end=1.0, size=0.1, coloring="none"),
                             line=dict(color="rgba(40,40,40,0.25)", width=1)))
    points, labels = _as_numpy(points)[:max_points], _as_numpy(labels)[:max_points]
    for c in range(k):
        chosen = points[labels == c]
        fig.add_trace(go.Scatter(x=chosen[:, 0], y=chosen[:, 1], mode="markers", name=f"class {c}",
                                 marker=dict(size=4, color=COLORS[c % len(COLORS)],
                                             line=dict(width=0.5, color="#1F2933"))))
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False)
    _square(fig, bounds)
    return fig


def novelty_figure(log_likelihood: np.ndarray, bounds, threshold: float, points=None, query=None,
                   title: str = "", height: int = 380) -> go.Figure:
    """max_y log p(x|y) on a grid (K, n, n) with the novelty threshold drawn as a dashed contour."""
    best = log_likelihood.max(0)
    fig = density_heatmap(best, bounds, points=points, title=title, height=height)
    xs, ys = grid_axes(bounds, best.shape[0])
    fig.add_trace(go.Contour(x=xs, y=ys, z=best, showscale=False, hoverinfo="skip",
                             contours=dict(start=threshold, end=threshold, size=1, coloring="none"),
                             line=dict(color="#E45756", width=2, dash="dash")))
    if query is not None:
        fig.add_trace(go.Scatter(x=[query[0]], y=[query[1]], mode="markers", name="your input",
                                 marker=dict(size=13, symbol="x", color="#E45756", line=dict(width=1, color="white"))))
    return fig


def curve_figure(rows: Sequence[dict], titles: Mapping[str, str] | None = None, title: str = "",
                 y: str = "accuracy", y_title: str = "test accuracy", x_title: str = "labelled examples per class",
                 height: int = 400) -> go.Figure:
    """Mean ± standard deviation over repeats per classifier; discriminative dashed, generative solid."""
    means = curve_means(rows, value=y)
    kinds = {row["classifier"]: row["kind"] for row in rows}
    fig = go.Figure()
    for i, (name, points) in enumerate(means.items()):
        xs = list(points)
        fig.add_trace(go.Scatter(
            x=xs, y=[m for m, _ in points.values()], name=(titles or {}).get(name, name),
            error_y=dict(type="data", array=[s for _, s in points.values()], visible=True, thickness=1),
            mode="lines+markers", line=dict(color=COLORS[i % len(COLORS)], width=2,
                                            dash="dash" if kinds[name] == DISCRIMINATIVE else "solid"),
            hovertemplate="%{x:,.0f} per class: %{y:.3f}<extra>" + (titles or {}).get(name, name) + "</extra>"))
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title=x_title, yaxis_title=y_title,
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    sizes = sorted({row["per_class"] for row in rows})
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{s:,.0f}" for s in sizes])
    return fig


def growth_figure(rows: Sequence[dict], height: int = 380) -> go.Figure:
    """Three panels against n (log axis): held-out NLL (or bits/dim), fit seconds, stored parameters."""
    value = "bits_per_dim" if "bits_per_dim" in rows[0] else "test_nll_nats"
    panels = ((value, "held-out bits/dim" if value == "bits_per_dim" else "held-out NLL (nats)"),
              ("fit_seconds", "fit time (s)"), ("num_parameters", "numbers stored (parameters)"))
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in panels], horizontal_spacing=0.07)
    models = list(dict.fromkeys(r["model"] for r in rows))
    for col, (key, _) in enumerate(panels, start=1):
        for i, model in enumerate(models):
            chosen = [r for r in rows if r["model"] == model]
            fig.add_trace(go.Scatter(x=[r["n"] for r in chosen], y=[r[key] for r in chosen], name=model,
                                     legendgroup=model, showlegend=col == 1, mode="lines+markers",
                                     line=dict(color=COLORS[i % len(COLORS)], width=2)), row=1, col=col)
        fig.update_xaxes(type="log", title_text="training items n", row=1, col=col)
    if all(r[value] > 0 for r in rows):  # a singular fit can be off by orders of magnitude
        fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=3)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig


def possible_inputs_figure(log10_inputs: float, sizes: Mapping[str, int] = DATASET_SIZES,
                           height: int = 360) -> go.Figure:
    """How many decimal digits it takes to write each count: the data sets vs. the possible inputs.

    The bars are on a log axis: 7 digits (15 million) vs. millions of digits (every possible image).
    """
    names = list(sizes) + ["possible inputs"]
    digits = [math.floor(math.log10(n)) + 1 for n in sizes.values()] + [math.floor(log10_inputs) + 1]
    texts = [f"{n:,} items" for n in sizes.values()] + [f"≈ {format_power_of_ten(log10_inputs)}"]
    fig = go.Figure(go.Bar(x=names, y=digits, text=texts, textposition="outside",
                           marker_color=[COLORS[0]] * len(sizes) + [COLORS[3]],
                           hovertemplate="%{x}: a %{y:,}-digit number<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Decimal digits needed to write each count (log axis)", yaxis_title="digits")
    fig.update_yaxes(type="log", range=[0, math.log10(max(digits)) + 0.6])
    return fig


def gap_figure(rows: Sequence[dict], height: int = 380) -> go.Figure:
    """Held-out bits/dim per model against the resolution (D pixels): the gap between them."""
    fig = go.Figure()
    models = list(dict.fromkeys(r["model"] for r in rows))
    for i, model in enumerate(models):
        chosen = sorted((r for r in rows if r["model"] == model), key=lambda r: r["dim"])
        fig.add_trace(go.Bar(x=[f"{r['size']}×{r['size']} {r['source']}<br>D = {r['dim']}" for r in chosen],
                             y=[r["bits_per_dim"] for r in chosen], name=model, marker_color=COLORS[i % len(COLORS)],
                             text=[f"{r['bits_per_dim']:.3f}" for r in chosen], textposition="outside"))
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Held-out bits per dim (lower is better)", yaxis_title="bits/dim",
                      legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig


def probe_figure(rows: Sequence[dict], height: int = 360) -> go.Figure:
    """Probe accuracy per label budget, one bar per feature set."""
    fig = go.Figure()
    for i, features in enumerate(dict.fromkeys(r["features"] for r in rows)):
        chosen = [r for r in rows if r["features"] == features]
        fig.add_trace(go.Bar(x=["all" if r["per_class"] is None else f"{r['per_class']} per class" for r in chosen],
                             y=[r["accuracy"] for r in chosen], name=features, marker_color=COLORS[i % len(COLORS)],
                             text=[f"{r['accuracy']:.1%}" for r in chosen], textposition="outside"))
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=50, b=10),
                      title="Linear-probe test accuracy", yaxis_title="accuracy", yaxis_range=[0, 1.1],
                      xaxis_title="labels used", legend=dict(orientation="h", yanchor="top", y=-0.25, x=0))
    return fig
