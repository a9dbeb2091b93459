"""One yardstick for every family, even those without a normalised p_θ(x).

- `mmd2`: an unbiased kernel MMD² between samples and held-out data (Gretton et al.,
  2012, "A kernel two-sample test", eq. 3), with a fixed kernel: the mean of four
  Gaussian RBF kernels with bandwidths 0.25, 0.5, 1 and 2 times the median distance
  between held-out points (the median heuristic, computed once per data set).
- `grid_log_prob`: log p_θ on a 2-D grid, normalised by the grid's own sum, so an
  unnormalised energy (an EBM) becomes a density whose
  KL(p_data‖p_θ) can be measured the same way as an exact model's.
- `sample_log_density`: log p_θ estimated from samples alone (a Gaussian mixture fitted by
  EM, its size chosen on held-out samples), for the KL of a family that only samples.
- `mode_coverage`: on mixtures with known centres, how many modes the samples hit and
  what share of samples lies far (> 3σ) from every mode.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["mmd2", "median_distance", "grid_log_prob", "normalise_on_grid", "grid_kl", "sample_log_density",
           "mode_coverage", "MMD_BANDWIDTH_FACTORS"]

MMD_BANDWIDTH_FACTORS = (0.25, 0.5, 1.0, 2.0)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1).double()


def median_distance(x: torch.Tensor, max_items: int = 1000) -> float:
    """Median Euclidean distance between distinct rows of x (the kernel's length scale)."""
    x = _flat(x[:max_items])
    d = torch.cdist(x, x)
    upper = d[torch.triu(torch.ones_like(d, dtype=torch.bool), diagonal=1)]
    value = float(upper.median()) if len(upper) else 1.0
    return value if value > 0 else 1.0


def mmd2(x: torch.Tensor, y: torch.Tensor, scale: float) -> float:
    """Unbiased MMD² between samples x (n, ...) and y (m, ...), kernel length scale `scale`.

    Zero in expectation when x and y come from one distribution (it can be slightly
    negative by chance); grows as they differ.
    """
    x, y = _flat(x), _flat(y)
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError("MMD needs at least two samples on each side.")
    dxx, dyy, dxy = torch.cdist(x, x) ** 2, torch.cdist(y, y) ** 2, torch.cdist(x, y) ** 2

    def k(d2):
        return sum(torch.exp(-d2 / (2 * (f * scale) ** 2)) for f in MMD_BANDWIDTH_FACTORS) / len(MMD_BANDWIDTH_FACTORS)

    kxx, kyy, kxy = k(dxx), k(dyy), k(dxy)
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(term_x + term_y - 2 * kxy.mean())


def _grid(bounds, n: int) -> tuple[torch.Tensor, float, np.ndarray, np.ndarray]:
    xmin, xmax, ymin, ymax = bounds
    xs, ys = np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n)
    xx, yy = np.meshgrid(xs, ys)
    points = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return points, cell, xs, ys


def grid_log_prob(log_density_fn, bounds, n: int = 200) -> tuple[np.ndarray, float]:
    """Normalise an unnormalised 2-D log density on an n×n grid over bounds.

    Returns (log p on the grid, shape (n, n) indexed [y, x]; log Z) with
    Z = Σ_cells exp(log p̃) · cell area. Mass outside the bounds is ignored.
    """
    points, _, _, _ = _grid(bounds, n)
    with torch.no_grad():
        values = log_density_fn(points).double()
    return normalise_on_grid(values.numpy().reshape(n, n), bounds)


def normalise_on_grid(log_values: np.ndarray, bounds) -> tuple[np.ndarray, float]:
    """Unnormalised log values on an n×n grid over bounds -> (log p there, log Z), with
    Z = Σ_cells exp(log p̃) · cell area (mass outside the bounds is ignored)."""
    n = log_values.shape[0]
    xmin, xmax, ymin, ymax = bounds
    cell = (xmax - xmin) / (n - 1) * (ymax - ymin) / (n - 1)
    log_z = float(torch.logsumexp(torch.as_tensor(log_values, dtype=torch.float64).reshape(-1), 0)) + math.log(cell)
    return log_values - log_z, log_z


def grid_kl(log_density_fn, ds, x: torch.Tensor, n: int = 200) -> float:
    """KL(p_data‖p_θ) in nats with p_θ ∝ exp(log_density_fn) normalised on a grid over ds.bounds."""
    _, log_z = grid_log_prob(log_density_fn, ds.bounds, n)
    with torch.no_grad():
        log_p = log_density_fn(x).double() - log_z
    return float((ds.log_prob_true(x).double() - log_p).mean())


MIXTURE_COMPONENTS = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64)  # sizes tried for a mixture fitted to samples
MIXTURE_TOLERANCE = 0.005  # nats per held-out sample: the smallest mixture this close to the best wins
EM_STEPS, EM_TOLERANCE = 100, 1e-3  # EM stops after this many steps, or when a step gains less (nats per point)
EM_STARTS = 2  # EM runs from this many k-means++ starts; the best fit to its own samples is kept
COVARIANCE_FLOOR = 1e-6  # added to every covariance's diagonal, so a component never collapses onto a point


class _Mixture:
    """A Gaussian mixture with full covariances, fitted by EM (Dempster et al., 1977) from a
    k-means++ start; all components at once, so 64 of them fit 15,000 points in about a second."""

    def __init__(self, x: torch.Tensor, k: int, generator: torch.Generator):
        n, d = x.shape
        self.eye = torch.eye(d, dtype=x.dtype)
        means = x[torch.randint(n, (1,), generator=generator)]  # k-means++ seeding (Arthur & Vassilvitskii, 2007)
        nearest_d2 = torch.cdist(x, means).square()[:, 0]  # (N,)
        for _ in range(k - 1):
            pick = torch.multinomial(nearest_d2 + 1e-12, 1, generator=generator)
            means = torch.cat([means, x[pick]])
            nearest_d2 = torch.minimum(nearest_d2, (x - x[pick]).square().sum(1))
        for _ in range(10):  # k-means from there: a start that spreads the components over the samples
            nearest = torch.cdist(x, means).argmin(1)  # (N,)
            counts = torch.bincount(nearest, minlength=k).to(x.dtype)  # (K,)
            sums = torch.zeros_like(means).index_add_(0, nearest, x)
            means = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], means)
        resp = torch.nn.functional.one_hot(torch.cdist(x, means).argmin(1), k).to(x.dtype)  # (N, K)
        self._m_step(x, resp)
        previous = -math.inf
        for _ in range(EM_STEPS):
            joint = self._joint(x)  # (N, K)
            total = torch.logsumexp(joint, 1)  # (N,)
            self._m_step(x, (joint - total[:, None]).exp())
            mean = float(total.mean())
            if mean - previous < EM_TOLERANCE:
                break
            previous = mean
        self.fit_score = previous  # mean log-likelihood of its own samples

    @classmethod
    def best_of(cls, x: torch.Tensor, k: int, generator: torch.Generator) -> _Mixture:
        """The best of EM_STARTS fits (EM finds a local optimum: two components may share a mode)."""
        return max((cls(x, k, generator) for _ in range(EM_STARTS if k > 1 else 1)), key=lambda m: m.fit_score)

    def _m_step(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        mass = resp.sum(0) + 1e-10  # (K,)
        self.log_weights = (mass / mass.sum()).log()  # (K,)
        self.means = resp.T @ x / mass[:, None]  # (K, D)
        centred = x[None] - self.means[:, None]  # (K, N, D)
        cov = torch.einsum("kn,kni,knj->kij", resp.T, centred, centred) / mass[:, None, None]  # (K, D, D)
        self.chol = torch.linalg.cholesky(cov + COVARIANCE_FLOOR * self.eye)  # (K, D, D)

    def _joint(self, x: torch.Tensor) -> torch.Tensor:
        """log w_k N(x; μ_k, Σ_k) for every point and component: (N, K)."""
        centred = (x[None] - self.means[:, None]).transpose(1, 2)  # (K, D, N)
        z = torch.linalg.solve_triangular(self.chol, centred, upper=False)  # (K, D, N)
        half_log_det = self.chol.diagonal(dim1=1, dim2=2).log().sum(1)  # (K,)
        d = x.shape[1]
        log_normal = -0.5 * z.square().sum(1) - half_log_det[:, None] - 0.5 * d * math.log(2 * math.pi)  # (K, N)
        return (log_normal + self.log_weights[:, None]).T

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.logsumexp(self._joint(part), 1) for part in x.split(4096)])


def sample_log_density(samples: torch.Tensor, held_out: float = 0.25, seed: int = 0):
    """A density estimate of p_θ from its samples alone: a Gaussian mixture fitted by EM.

    The samples are split; mixtures of each size in MIXTURE_COMPONENTS (full covariances)
    are fitted by EM on one part and scored on the other (`held_out` of them); the
    smallest whose held-out log-likelihood is within MIXTURE_TOLERANCE nats of the best is
    the estimate (not refitted on all samples: a refit could land in a worse local optimum).
    Sizes are tried in increasing order and the search stops
    once two larger mixtures in a row score worse on held-out samples than the best so far.

    A mixture extrapolates p_θ beyond its samples with Gaussian tails. A floored histogram
    caps each test point's contribution near 27.6 nats, so a dropped mode is under-reported
    about 3×; a kernel density estimate has tails as thin as its bandwidth and over-reports
    it 2-9×. The mixture's bias, measured against exact KLs, is in docs/YARDSTICKS.md.

    Returns (log p̂ as a callable on points (N, D) -> float64 (N,), the number of components).
    """
    points = samples.reshape(len(samples), -1).double()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(points), generator=generator)
    cut = int(len(points) * (1 - held_out))
    fit, check = points[order[:cut]], points[order[cut:]]
    fitted: dict[int, tuple[_Mixture, float]] = {}  # size -> (mixture, its held-out score)
    for k in MIXTURE_COMPONENTS:
        if k * 10 > len(fit):
            break
        mixture = _Mixture.best_of(fit, k, generator)
        fitted[k] = mixture, float(mixture.log_prob(check).mean())
        scores = [score for _, score in fitted.values()]
        if len(scores) > 2 and max(scores[-2:]) < max(scores):
            break
    best = max(score for _, score in fitted.values())
    k = min(k for k, (_, score) in fitted.items() if score >= best - MIXTURE_TOLERANCE)
    chosen = fitted[k][0]
    return (lambda x: chosen.log_prob(x.reshape(len(x), -1).double())), k


def mode_coverage(samples: torch.Tensor, centres: torch.Tensor, sigma: float, min_share: float = 0.01) -> dict:
    """Modes hit by samples, and the share of samples far from every mode.

    A mode counts as covered when at least `min_share` of the samples lie within 3σ of
    its centre; a sample is "far" when it is more than 3σ from every centre.
    """
    d = torch.cdist(samples.reshape(len(samples), -1).double(), centres.double())  # (N, K)
    near = d < 3 * sigma
    share = near.double().mean(0)  # (K,)
    return {
        "modes_covered": int((share >= min_share).sum()),
        "modes_total": len(centres),
        "far_share": float((~near.any(1)).double().mean()),
    }
