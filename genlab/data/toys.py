"""The 2-D toy sets: generated samples and their true log-density, log p_data(x), in nats."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable, NamedTuple, Protocol, Sequence

import numpy as np
import torch

from genlab.data.base import Dataset
from genlab.data.registry import Request, Source, register

__all__ = [
    "TOY_NAMES", "TOYS", "TOY_POINTS", "DEFAULT_TOY_POINTS", "TOY_TEST_POINTS", "load_toy", "toy_source",
    "ToySpec", "ToyDensity", "IsotropicMixture", "Checkerboard", "Curve", "NoisyCurves", "EightGaussians", "Moons",
    "Rings", "Spirals", "Pinwheel",
]

Bounds = tuple[float, float, float, float]  # xmin, xmax, ymin, ymax

PANELS_PER_SIGMA = 1.0  # quadrature panels per σ of arc length; 4x as many change log p by < 1e-4 nats (tested)
GAUSS_POINTS = 8  # Gauss–Legendre nodes per panel
CHUNK_ELEMENTS = 2**16  # points × components per matrix product in IsotropicMixture.log_prob (fits in cache)


class ToyDensity(Protocol):
    """What every toy density answers; points are float64."""

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """n points (n, 2) and the int64 index (n,) of the component, square or curve each came from."""

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) in nats for points (N, 2); returns (N,)."""


def _polar(radius, angle: torch.Tensor) -> torch.Tensor:
    """Points at `radius` (a number, or a tensor shaped like `angle`) and `angle`: (M,) -> (M, 2)."""
    return torch.stack([radius * angle.cos(), radius * angle.sin()], dim=-1)


def _logsumexp_rows(z: torch.Tensor) -> torch.Tensor:
    """log Σ_j exp(z_ij) for each row of z (C, K), overwriting z.

    Terms below e^-80 of a row's largest are raised to e^-80 of it: that moves the sum by less
    than K·e^-80 of itself, and keeps exp() off its slow underflow path (7x faster here).
    """
    top = z.amax(1, keepdim=True)  # (C, 1)
    return z.sub_(top).clamp_(min=-80.0).exp_().sum(1).log() + top[:, 0]


class IsotropicMixture:
    """p(x) = Σ_k w_k N(x; μ_k, σ² I) in the plane, with exact log p.

    log p is computed in chunks of about CHUNK_ELEMENTS point-component pairs, one matrix
    product each, from log w_k N(x; μ_k, σ² I) = x·μ_k / σ² + b_k - |x|² / 2σ² - log 2πσ²,
    where b_k = log w_k - |μ_k|² / 2σ².

    Arguments:
        centres: (K, 2) component means.
        log_weights: (K,) log w_k; they need not sum to one exactly (a quadrature rule's rarely do).
        sigma: the common standard deviation σ.
    """

    def __init__(self, centres: torch.Tensor, log_weights: torch.Tensor, sigma: float):
        self.centres = centres.double()  # (K, 2)
        self.log_weights = log_weights.double()  # (K,)
        self.sigma = sigma
        self._bias = self.log_weights - self.centres.square().sum(1) / (2 * sigma**2)  # (K,)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        weights = (self.log_weights - self.log_weights.max()).exp()  # (K,)
        labels = torch.multinomial(weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)  # (n, 2)
        return self.centres[labels] + self.sigma * noise, labels

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        var = self.sigma**2
        scaled_centres = (self.centres.T / var).contiguous()  # (2, K)
        rows = max(1, CHUNK_ELEMENTS // len(self.centres))
        buffer = torch.empty(rows, len(self.centres), dtype=torch.float64)  # reused: fresh ones cost page faults
        log_sums = [
            _logsumexp_rows(torch.addmm(self._bias, chunk, scaled_centres, out=buffer[: len(chunk)]))
            for chunk in x.split(rows)
        ]
        out = torch.cat(log_sums) - x.square().sum(1) / (2 * var) - math.log(2 * math.pi * var)  # (N,)
        out[x.isinf().any(1) & ~x.isnan().any(1)] = -math.inf  # p vanishes at infinity
        return out


class Checkerboard:
    """Uniform on the black squares of a checkerboard covering [-half_width, half_width]².

    The square in the bottom-left corner is black. log p is -log(black area) on the closed black
    squares and -inf elsewhere (white squares and off the board): the density is exactly zero
    there. Edges count as black, so a sample rounded onto an edge (float32) keeps a finite log p.
    """

    def __init__(self, half_width: float = 4.0, per_side: int = 4):
        self.half_width, self.per_side = half_width, per_side
        self.side = 2 * half_width / per_side
        i, j = torch.meshgrid(torch.arange(per_side), torch.arange(per_side), indexing="ij")
        black = (i + j) % 2 == 0
        self.corners = torch.stack([i[black], j[black]], 1).double() * self.side - half_width  # (S, 2) bottom-left
        self.log_density = -math.log(len(self.corners) * self.side**2)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(len(self.corners), (n,), generator=generator)  # (n,) which square
        offsets = self.side * torch.rand(n, 2, generator=generator, dtype=torch.float64)  # (n, 2)
        return self.corners[labels] + offsets, labels

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        a = (x + self.half_width) / self.side  # (N, 2) board coordinates: squares of side 1
        black = torch.zeros(len(x), dtype=torch.bool)  # (N,)
        # A point on an edge lies in the squares on both sides: try floor(a) and ceil(a) - 1.
        for i in (a[:, 0].floor(), a[:, 0].ceil() - 1):
            for j in (a[:, 1].floor(), a[:, 1].ceil() - 1):
                on_board = (i >= 0) & (i < self.per_side) & (j >= 0) & (j < self.per_side)
                black |= on_board & ((i + j) % 2 == 0)
        out = x.new_full((len(x),), -math.inf).masked_fill(black, self.log_density)  # (N,)
        out[x.isnan().any(1)] = math.nan
        return out


@dataclass(frozen=True)
class Curve:
    """A curve t ↦ point(t) in the plane, t in [lo, hi], drawn uniformly or from a truncated normal.

    Arguments:
        point: maps parameters t (M,) to points (M, 2).
        lo, hi: the interval of t.
        weight: the curve's share of the mass, relative to the other curves.
        t_mean, t_std: if given, t ~ N(t_mean, t_std²) truncated to [lo, hi]; otherwise t is uniform.
    """

    point: Callable[[torch.Tensor], torch.Tensor]
    lo: float
    hi: float
    weight: float = 1.0
    t_mean: float | None = None
    t_std: float | None = None

    def _normal(self) -> tuple[torch.distributions.Normal, float, float]:
        normal = torch.distributions.Normal(torch.tensor(self.t_mean, dtype=torch.float64), self.t_std)
        cdf_lo, cdf_hi = (float(normal.cdf(torch.tensor(t, dtype=torch.float64))) for t in (self.lo, self.hi))
        return normal, cdf_lo, cdf_hi

    def quantile(self, u: torch.Tensor) -> torch.Tensor:
        """The t below which a fraction u (M,) of the mass lies: uniform u gives t from the curve's law."""
        if self.t_mean is None:
            return self.lo + u * (self.hi - self.lo)
        normal, cdf_lo, cdf_hi = self._normal()
        return normal.icdf(cdf_lo + u * (cdf_hi - cdf_lo)).clamp(self.lo, self.hi)

    def arc_bound(self, steps: int = 4096) -> float:
        """Arc length the curve would cover over [lo, hi] at its top speed: equal panels of t
        sized from it span no more arc than intended anywhere."""
        t = torch.linspace(self.lo, self.hi, steps + 1, dtype=torch.float64)
        return float(self.point(t).diff(dim=0).norm(dim=1).max()) * steps

    def log_density(self, t: torch.Tensor) -> torch.Tensor:
        """log q(t) for t (M,) inside [lo, hi]."""
        if self.t_mean is None:
            return torch.full_like(t, -math.log(self.hi - self.lo))
        normal, cdf_lo, cdf_hi = self._normal()
        return normal.log_prob(t) - math.log(cdf_hi - cdf_lo)


class NoisyCurves:
    """A point on a curve plus isotropic Gaussian noise: c ~ weights, t ~ q_c, x = curve_c(t) + σ ε.

    p(x) = Σ_c w_c ∫ q_c(t) N(x; curve_c(t), σ² I) dt has no closed form. log p is a
    high-accuracy numerical reference: quadrature over the curve parameter, with a composite
    Gauss–Legendre rule (GAUSS_POINTS nodes on each of a curve's equal panels of t). No panel
    spans more than σ / panels_per_sigma of arc, so the rule resolves every Gaussian bump and
    integrates the ends of open curves as well as their middles (the midpoint rule loses
    accuracy there). Where p > 1e-6 the result agrees with 4x as many panels to ~1e-12 nats,
    and to ~1e-5 nats even in the far corners of the plot box (log p near -500). The rule
    turns p into a Gaussian mixture with one component per node (an IsotropicMixture).
    Sampling is exact: it uses no nodes.

    Arguments:
        curves: the curves and their weights.
        sigma: the noise standard deviation σ.
        panels_per_sigma: quadrature panels per σ of arc length.
    """

    def __init__(self, curves: Sequence[Curve], sigma: float, panels_per_sigma: float = PANELS_PER_SIGMA):
        self.curves, self.sigma, self.panels_per_sigma = tuple(curves), sigma, panels_per_sigma
        weights = torch.tensor([c.weight for c in self.curves], dtype=torch.float64)
        self.curve_probs = weights / weights.sum()  # (C,)
        unit_nodes, unit_weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(GAUSS_POINTS))
        centres, log_weights = [], []
        for curve, prob in zip(self.curves, self.curve_probs):
            panels = max(1, math.ceil(curve.arc_bound() * panels_per_sigma / sigma))
            h = (curve.hi - curve.lo) / panels  # panel width in t
            starts = curve.lo + h * torch.arange(panels, dtype=torch.float64)  # (P,)
            t = (starts[:, None] + h * (unit_nodes + 1) / 2).reshape(-1)  # (P·G,) nodes, in order along t
            log_dt = (h / 2 * unit_weights).log().repeat(panels)  # (P·G,) quadrature weights
            centres.append(curve.point(t))
            log_weights.append(prob.log() + curve.log_density(t) + log_dt)
        self.mixture = IsotropicMixture(torch.cat(centres), torch.cat(log_weights), sigma)  # one component per node

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.multinomial(self.curve_probs, n, replacement=True, generator=generator)  # (n,)
        u = torch.rand(n, generator=generator, dtype=torch.float64)  # (n,)
        on_curve = torch.empty(n, 2, dtype=torch.float64)
        for c, curve in enumerate(self.curves):
            mine = labels == c
            on_curve[mine] = curve.point(curve.quantile(u[mine]))
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return on_curve + self.sigma * noise, labels

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixture.log_prob(x)


# The toys. Each dataclass holds one toy's constants and builds its density.


@dataclass(frozen=True)
class EightGaussians:
    """FFJORD's 8 Gaussians: centres at angles kπ/4 on a circle of `radius`, all divided by `shrink`."""

    radius: float = 4.0
    std: float = 0.5
    shrink: float = 1.414

    def density(self) -> IsotropicMixture:
        centres = _polar(self.radius, torch.arange(8, dtype=torch.float64) * math.pi / 4) / self.shrink  # (8, 2)
        return IsotropicMixture(centres, torch.full((8,), -math.log(8), dtype=torch.float64), self.std / self.shrink)


_MOONS_MIDDLE = torch.tensor([0.5, 0.25], dtype=torch.float64)  # the centre of make_moons' two curves


@dataclass(frozen=True)
class Moons:
    """scikit-learn's make_moons half circles, centred on the origin and scaled by `scale`."""

    scale: float = 2.0
    sigma: float = 0.2

    def density(self) -> NoisyCurves:
        return NoisyCurves([Curve(self._upper, 0.0, math.pi), Curve(self._lower, 0.0, math.pi)], self.sigma)

    def _upper(self, t: torch.Tensor) -> torch.Tensor:  # make_moons: (cos t, sin t)
        return self.scale * (_polar(1.0, t) - _MOONS_MIDDLE)

    def _lower(self, t: torch.Tensor) -> torch.Tensor:  # make_moons: (1 - cos t, 0.5 - sin t)
        return self.scale * (torch.tensor([1.0, 0.5], dtype=torch.float64) - _polar(1.0, t) - _MOONS_MIDDLE)


@dataclass(frozen=True)
class Rings:
    """Concentric circles, each weighted by its radius so the density along every ring is the same."""

    radii: tuple[float, ...] = (0.8, 1.6, 2.4, 3.2)
    sigma: float = 0.08

    def density(self) -> NoisyCurves:
        curves = [Curve(partial(_polar, r), 0.0, 2 * math.pi, weight=r) for r in self.radii]
        return NoisyCurves(curves, self.sigma)


@dataclass(frozen=True)
class Spirals:
    """Two interleaved Archimedean spirals, the second turned by π: t ↦ t·(cos(ωt + φ), sin(ωt + φ)).

    t is uniform on [r_min, r_max], so t is also the distance from the centre.
    """

    r_min: float = 0.3
    r_max: float = 3.5
    omega: float = math.pi  # radians turned per unit of radius
    sigma: float = 0.1

    def density(self) -> NoisyCurves:
        curves = [Curve(partial(self._arm, phase), self.r_min, self.r_max) for phase in (0.0, math.pi)]
        return NoisyCurves(curves, self.sigma)

    def _arm(self, phase: float, t: torch.Tensor) -> torch.Tensor:
        return _polar(t, self.omega * t + phase)


@dataclass(frozen=True)
class Pinwheel:
    """Curved arms: arm k is r ↦ R(2πk/arms + rate·r)·(scale·r, 0), r ~ N(r_mean, r_std²) on [r_lo, r_hi]."""

    arms: int = 5
    r_mean: float = 1.0
    r_std: float = 0.3
    r_lo: float = 0.25
    r_hi: float = 1.75
    scale: float = 2.0
    rate: float = 1.0
    sigma: float = 0.15

    def density(self) -> NoisyCurves:
        curves = [
            Curve(partial(self._arm, k), self.r_lo, self.r_hi, t_mean=self.r_mean, t_std=self.r_std)
            for k in range(self.arms)
        ]
        return NoisyCurves(curves, self.sigma)

    def _arm(self, k: int, r: torch.Tensor) -> torch.Tensor:
        return _polar(self.scale * r, 2 * math.pi * k / self.arms + self.rate * r)


class ToySpec(NamedTuple):
    """A toy as the app knows it: how to build its density, its plot box and one sentence."""

    make: Callable[[], ToyDensity]
    bounds: Bounds  # a square that holds all but a negligible part of the mass
    description: str


TOYS: dict[str, ToySpec] = {
    "toy:8gaussians": ToySpec(
        EightGaussians().density, (-4.0, 4.0, -4.0, 4.0),
        "Eight round Gaussian blobs (standard deviation 0.35) evenly spaced on a circle of radius 2.8.",
    ),
    "toy:checkerboard": ToySpec(
        Checkerboard, (-4.0, 4.0, -4.0, 4.0),
        "Uniform on every other square of a 4×4 checkerboard over [-4, 4]² (eight squares, the bottom-left one "
        "included), and zero on the eight between them.",
    ),
    "toy:moons": ToySpec(
        Moons().density, (-4.0, 4.0, -4.0, 4.0),
        "Two interleaving half circles (scikit-learn's make_moons, scaled by 2) blurred by noise of std 0.2.",
    ),
    "toy:rings": ToySpec(
        Rings().density, (-4.0, 4.0, -4.0, 4.0),
        "Four concentric rings of radius 0.8 to 3.2, equally dense along their length, blurred by noise of std 0.08.",
    ),
    "toy:spirals": ToySpec(
        Spirals().density, (-4.0, 4.0, -4.0, 4.0),
        "Two interleaved spirals winding out from radius 0.3 to 3.5, blurred by noise of std 0.1.",
    ),
    "toy:pinwheel": ToySpec(
        Pinwheel().density, (-4.0, 4.0, -4.0, 4.0),
        "Five curved arms swirling out of the centre, blurred by noise of std 0.15.",
    ),
}
TOY_NAMES = tuple(TOYS)  # in the order the app lists them
# Training-set sizes the app offers. The default keeps a run's epochs many and the baselines quick; flexible
# families overfit it (NSF "Hard edges" on checkerboard, 60 s: KL 0.004-0.007 nats on its training points,
# 0.013-0.016 on fresh ones), and a million points, 8 MB, take that gap away (0.006-0.009 on both).
TOY_POINTS = (1_000, 5_000, 20_000, 100_000, 1_000_000)
DEFAULT_TOY_POINTS = 20_000
TOY_TEST_POINTS = 5_000


def _log_prob_of_points(density: ToyDensity, x: torch.Tensor) -> torch.Tensor:
    """log p_data(x) in nats for points (N, 2), in x's float dtype (float32 for other inputs)."""
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"Toy densities take 2-D points shaped (N, 2); got shape {tuple(x.shape)}.")
    dtype = x.dtype if x.is_floating_point() else torch.float32
    return density.log_prob(x.double()).to(dtype)


def toy_source(n_train: int, n_test: int, seed: int) -> dict | None:
    """What `load_toy(name, **source)` needs beyond the name: the arguments other than the defaults, None
    at the defaults (a Dataset's `source`, a run's `data_source`)."""
    return {key: int(value) for key, value, default in
            (("n_train", n_train, DEFAULT_TOY_POINTS), ("n_test", n_test, TOY_TEST_POINTS), ("seed", seed, 0))
            if value != default} or None


def load_toy(name: str, n_train: int = DEFAULT_TOY_POINTS, n_test: int = TOY_TEST_POINTS, seed: int = 0) -> Dataset:
    """Generate a 2-D toy set, with its true log-density attached.

    Arguments:
        name: one of TOY_NAMES.
        n_train, n_test: points in each split.
        seed: fixes both splits; train and test come from independent random streams.

    Returns:
        A continuous-view Dataset: float32 points (N, 2), int64 labels (the mixture
        component, square or curve each point came from), `log_prob_true` in nats and
        plotting `bounds`. Its `source` records the arguments other than the defaults
        ({"n_train": 1000000}), so a run on it is rebuilt from them; None at the defaults.

    Example:
        >>> ds = load_toy("toy:moons", n_train=1000, n_test=200)
        >>> ds.log_prob_true(ds.test).shape
        torch.Size([200])
    """
    if name not in TOYS:
        raise ValueError(f"Unknown toy {name!r}; choose one of: {', '.join(TOY_NAMES)}.")
    if n_train < 1 or n_test < 1:
        raise ValueError(f"A toy needs at least one train and one test point; got {n_train} and {n_test}.")
    if max(n_train, n_test) > TOY_POINTS[-1]:
        raise ValueError(f"A toy takes at most {TOY_POINTS[-1]:,} points per split; got {n_train:,} and {n_test:,}.")
    spec = TOYS[name]
    density = spec.make()
    train_seed, test_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    train, labels_train = density.sample(n_train, torch.Generator().manual_seed(train_seed))
    test, labels_test = density.sample(n_test, torch.Generator().manual_seed(test_seed))
    modes = (density.centres.float(), density.sigma) if isinstance(density, IsotropicMixture) else None
    return Dataset(
        name, train.float(), test.float(), "continuous", labels_train=labels_train, labels_test=labels_test,
        log_prob_true_fn=partial(_log_prob_of_points, density), description=spec.description, bounds=spec.bounds,
        modes=modes, source=toy_source(n_train, n_test, seed),
    )


def _load_request(request: Request) -> Dataset:
    return load_toy(request.name, n_train=request.points or DEFAULT_TOY_POINTS, seed=request.seed)


def _register_all() -> None:
    """Declare each toy to the registry: generated, so offline, in the continuous view."""
    for name in TOY_NAMES:
        short = name.removeprefix("toy:")
        register(Source(name, f"{short} (2-D toy)", "toy", ("continuous",), offline=True, load=_load_request,
                        short=short, rebuild=partial(load_toy, name), points=TOY_POINTS,
                        default_points=DEFAULT_TOY_POINTS))


_register_all()
