"""Lesson 1's classifiers: discriminative ones that learn p(y|x) directly (logistic regression, a small
MLP) and generative ones that learn p(x|y) p(y) and classify by Bayes' rule (Gaussian naive Bayes, any
GenLab family with a density fitted per class). The same verbs on both sides: fit, predict_log_proba.

Reference:
    Ng & Jordan, "On discriminative vs. generative classifiers: a comparison of logistic
    regression and naive Bayes" (NIPS 2001).
"""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from genlab.concepts.common import (
    DISCRIMINATIVE,
    FAMILY_SECONDS,
    GENERATIVE,
    fit_family,
    flat_features,
    one_blas_thread,
)
from genlab.data.base import DataSpec
from genlab.evaluate import batched_log_prob
from genlab.models import create_model, families, fits
from genlab.queries import has_comparable_log_prob

__all__ = ["bayes_log_posterior", "Classifier", "SklearnClassifier", "LogisticRegressionClassifier", "MLPClassifier",
           "BayesClassifier", "NaiveBayes", "FamilyBayes", "CLASSIFIERS", "make_classifier", "classifier_title",
           "classifier_kind", "density_families", "accuracy"]


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
