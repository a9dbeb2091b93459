"""The three questions asked of a trained model, as plain functions over the contract.

Density (how likely is x?), sampling (show me new x) and representation (what are the
features of x?) — what the Density, Samples and Latent pages call. Nothing here names a
family: every function asks the model what it can do (`can(...)`, `log_prob_kind`, and
`decode` for families with a decoder).

Example:
    >>> model, ds, _ = genlab.load_run("runs/made-digits")
    >>> reference = log_likelihoods(model, ds.test)
    >>> percentile(log_likelihoods(model, ds.test[:1]), reference)
"""
from __future__ import annotations

import importlib.util
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from genlab.data.base import DataSpec, Dataset
from genlab.data.imagefiles import ImageFile, UploadError, to_view
from genlab.evaluate import batched_log_prob
from genlab.models import families_that
from genlab.models.base import GenerativeModel
from genlab.snapshots import to_unit_images

__all__ = [
    "KIND_NAMES", "describe_kind", "has_comparable_log_prob",
    "log_likelihoods", "bits_per_dim", "independent_pixels_nll", "percentile",
    "histogram", "focus_range", "check_point",
    "PERTURBATIONS", "perturb", "resize_note", "canvas_image",
    "blank_image", "uniform_noise", "resize_into", "ood_sets",
    "encode", "finite_rows", "PROJECTIONS", "projections", "umap_available", "project", "Projection",
    "principal_directions", "ordered_along",
    "decodes", "decode_images", "interpolate", "traverse", "latent_grid", "latent_families",
    "grid_png",
]

# ---- what a log p is ----------------------------------------------------------------
KIND_NAMES = {
    "exact": "exact",
    "lower_bound": "lower bound",
    "estimate": "estimate",
    "unnormalized": "unnormalised",
    None: "not available",
}
_KIND_SENTENCES = {
    "exact": "log p_θ(x) is computed exactly, so it compares across models on the same data.",
    "lower_bound": "The number is a stochastic lower bound on log p_θ(x) (an ELBO, an importance-weighted bound "
                   "or a dequantised density, each computed from random draws): it lies below the true "
                   "log-likelihood on average over the draws, but one draw for one input can land above it. "
                   "Averaged over many inputs, the NLL is an upper bound.",
    "estimate": "The number is a Monte-Carlo estimate of log p_θ(x); it varies a little with the random draw.",
    "unnormalized": "The model gives log p_θ(x) only up to an unknown constant log Z (an energy): it ranks inputs "
                    "under this model, but it is not comparable across models and has no bits/dim.",
}


def describe_kind(model: GenerativeModel) -> tuple[str, str]:
    """(short name, one sentence) saying what the model's log p is, or why there is none."""
    kind = model.log_prob_kind if model.can("density") else None
    if kind is None:
        return KIND_NAMES[None], (f"{model.title} defines p_θ only through its sampler, so there is no "
                                  "log p_θ(x) to compute; judge it by its samples instead.")
    return KIND_NAMES.get(kind, str(kind)), _KIND_SENTENCES.get(kind, "")


def has_comparable_log_prob(model: GenerativeModel) -> bool:
    """True when log p is normalised (exact, a bound or an estimate), so nats and bits/dim mean something."""
    return model.can("density") and model.log_prob_kind in ("exact", "lower_bound", "estimate")


# ---- density ------------------------------------------------------------------------
def log_likelihoods(model: GenerativeModel, x: torch.Tensor) -> np.ndarray:
    """log p_θ(x) in nats for every item of x, shape (N,), float64 (−inf where p_θ is 0)."""
    if not model.can("density"):
        raise ValueError(describe_kind(model)[1])
    return batched_log_prob(model, x).double().numpy()


def bits_per_dim(log_prob, dim: int) -> np.ndarray:
    """−log p / (D ln 2): the cost of coding one dimension, in bits."""
    return -np.asarray(log_prob, dtype=float) / (dim * math.log(2))


def independent_pixels_nll(ds: Dataset) -> float:
    """Mean test NLL (nats per image) of independent pixels fitted to the training split by smoothed counting.

    The bar a structured model of images must beat: a model no better than this has learnt only how often each
    pixel is on, and its samples are speckle. Same fit as the "bernoulli" family with one pseudo-count per value.
    """
    levels = _levels(ds.spec)
    train, test = (split.reshape(len(split), -1).long() for split in (ds.train, ds.test))
    counts = F.one_hot(train, levels).sum(0).double() + 1.0  # (D, K)
    log_p = (counts / counts.sum(1, keepdim=True)).log()
    return float(-log_p.gather(1, test.T).sum(0).mean())


def percentile(values, reference) -> np.ndarray:
    """Percent of `reference` values below each value, 0..100 (ties count half).

    NaN reference values are ignored; a NaN value gives NaN; −inf sits below every finite value.
    """
    values = np.atleast_1d(np.asarray(values, dtype=float))
    reference = np.asarray(reference, dtype=float).ravel()
    reference = np.sort(reference[~np.isnan(reference)])
    if reference.size == 0:
        raise ValueError("The reference set is empty: there is nothing to rank against.")
    below = np.searchsorted(reference, values, side="left")
    at_or_below = np.searchsorted(reference, values, side="right")
    out = 100.0 * (below + at_or_below) / (2 * reference.size)
    out[np.isnan(values)] = np.nan
    return out


LARGEST = 1e300  # |values| a histogram bins as they are; beyond, they sit at its edge


def histogram(values, bins: int = 40) -> tuple[np.ndarray, np.ndarray, int]:
    """(edges (bins+1,), counts (bins,), how many values were not finite) over the finite values.

    The bins span the finite values' own range (one unit wide around a single repeated value).
    """
    values = np.asarray(values, dtype=float).ravel()
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0]), np.zeros(1, dtype=int), int(values.size)
    finite = finite.clip(-LARGEST, LARGEST)  # a broken model's 3e38: its span must stay a finite number
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-9 * max(1.0, abs(low), abs(high)):  # one value, to the precision of floats
        pad = 0.5 * max(1.0, abs(low), abs(high))
        low, high = low - pad, high + pad
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return edges, counts, int(values.size - finite.size)


def focus_range(reference, others) -> tuple[float, float] | None:
    """An initial view for overlaid histograms: from one reference span left of the reference values
    to the highest value of any set — so a far-away set (noise) does not squeeze the rest into a
    sliver. None when no value lies left of that, or there is nothing finite to show."""
    reference = np.asarray(reference, dtype=float)
    reference = reference[np.isfinite(reference)]
    every = np.concatenate([np.asarray(v, dtype=float).ravel() for v in [reference, *others]])
    every = every[np.isfinite(every)]
    if reference.size == 0:
        return None
    span = max(float(np.ptp(reference)), 1.0)
    low, high = float(reference.min()) - span, float(every.max()) + 0.05 * span
    return (low, high) if every.min() < low else None


POINT_LIMIT = 1e6  # a 2-D point beyond this is refused rather than scored


def check_point(point) -> torch.Tensor:
    """A user's 2-D point as a (1, 2) tensor; a plain ValueError for NaN, inf or absurd sizes."""
    try:
        values = [float(v) for v in point]
    except (TypeError, ValueError):
        raise ValueError(f"A point needs two numbers x and y; got {point!r}.") from None
    if len(values) != 2:
        raise ValueError(f"A point needs exactly two numbers x and y; got {len(values)}.")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("x and y must be finite numbers (no NaN or infinity).")
    if any(abs(v) > POINT_LIMIT for v in values):
        raise ValueError(f"x and y must lie within ±{POINT_LIMIT:g}; that point is absurdly far from any data.")
    return torch.tensor([values], dtype=torch.float32)


# ---- inputs: perturbations and drawings -----------------------------------------------
def _levels(spec: DataSpec) -> int:
    if spec.view == "continuous" or not spec.levels or len(spec.shape) != 3:
        raise ValueError(f"Perturbations work on images; this data is {spec.view} with shape {spec.shape}.")
    return spec.levels


def _quantise(values: torch.Tensor, spec: DataSpec) -> torch.Tensor:
    """Fractional levels back into the view: threshold binary pixels, round grey levels."""
    top = spec.levels - 1
    values = values.clamp(0, top)
    return (values >= 0.5).float() if spec.view == "binary" else values.round()


def _noise(x, amount, spec, generator):
    if not 0 <= amount <= 1:
        raise ValueError(f"The share of noisy pixels must be between 0 and 1; got {amount}.")
    replace = torch.rand(x.shape, generator=generator) < amount
    random_levels = torch.randint(_levels(spec), x.shape, generator=generator).float()
    return torch.where(replace, random_levels, x)


def _invert(x, amount, spec, generator):
    return (_levels(spec) - 1) - x


def _shift(x, amount, spec, generator):
    k = int(round(amount))
    width = x.shape[-1]
    if abs(k) >= width:
        return torch.zeros_like(x)
    out = torch.zeros_like(x)
    if k >= 0:
        out[..., k:] = x[..., : width - k]
    else:
        out[..., :k] = x[..., -k:]
    return out


def _rotate(x, amount, spec, generator):
    angle = math.radians(amount)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]], dtype=torch.float32)
    grid = F.affine_grid(theta, [1, *x.shape], align_corners=False)
    turned = F.grid_sample(x.unsqueeze(0).float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return _quantise(turned[0], spec)


# name -> (function, what `amount` means, low, high, default); variants by lookup, not an if/elif ladder
PERTURBATIONS = {
    "none": (lambda x, amount, spec, generator: x, "", 0.0, 0.0, 0.0),
    "noise": (_noise, "share of pixels replaced by random values", 0.0, 1.0, 0.2),
    "invert": (_invert, "", 0.0, 0.0, 0.0),
    "shift": (_shift, "pixels to the right (negative: left)", -28.0, 28.0, 2.0),
    "rotate": (_rotate, "degrees anticlockwise", -180.0, 180.0, 30.0),
}


def perturb(x: torch.Tensor, kind: str, amount: float, spec: DataSpec, seed: int = 0) -> torch.Tensor:
    """One image (C, H, W) in the data view, perturbed and still in the view.

    Arguments:
        kind: "none" | "noise" | "invert" | "shift" | "rotate".
        amount: the share of noisy pixels, the shift in pixels or the angle in degrees.
        seed: fixes which pixels the noise replaces.
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"Unknown perturbation {kind!r}; choose one of {', '.join(PERTURBATIONS)}.")
    amount = float(amount)
    if not math.isfinite(amount):
        raise ValueError(f"The amount of {kind} must be a finite number; got {amount}.")
    _levels(spec)
    function = PERTURBATIONS[kind][0]
    return function(x.float().clone(), amount, spec, torch.Generator().manual_seed(seed))


SIZE_RATIO_NOTED = 16  # an input this many times larger (or any smaller) than the model's size gets a note


def resize_note(name: str, size: tuple[int, int], shape: tuple[int, ...]) -> str | None:
    """A sentence when an image of (height, width) `size` is far from the model's H×W, else None."""
    (height, width), (model_h, model_w) = size, shape[-2:]
    if height < model_h and width < model_w:
        return (f"{name} is {width}×{height}, smaller than the model's {model_w}×{model_h}: it was enlarged "
                "and looks blurrier than the training images.")
    if max(height / model_h, width / model_w) > SIZE_RATIO_NOTED:
        return (f"{name} is {width}×{height}; the model sees it shrunk to {model_w}×{model_h}, so thin strokes "
                "may vanish. Crop it close around the digit for a fairer score.")
    return None


def canvas_image(rgba, name: str = "drawing") -> ImageFile:
    """A drawing canvas's RGBA pixels (H, W, 4) as an 8-bit grayscale image, put on black.

    Raises UploadError for pixels that are not an (H, W, 3 or 4) array of finite numbers in
    0..255, and for an empty canvas.
    """
    pixels = np.asarray(rgba)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or pixels.shape[0] < 2 or pixels.shape[1] < 2:
        raise UploadError(f"The {name} should be an RGBA image; got an array shaped {pixels.shape}.")
    if not np.issubdtype(pixels.dtype, np.number):
        raise UploadError(f"The {name} holds {pixels.dtype} values, not pixel numbers.")
    pixels = pixels.astype(float)
    if not np.isfinite(pixels).all():
        raise UploadError(f"The {name} holds NaN or infinite values; clear the canvas and draw again.")
    if pixels.min() < 0 or pixels.max() > 255:
        raise UploadError(f"The {name}'s values should lie in 0..255; got {pixels.min():g}..{pixels.max():g}.")
    gray = pixels[..., :3] @ np.array([0.299, 0.587, 0.114])
    if pixels.shape[2] == 4:
        gray = gray * pixels[..., 3] / 255.0
    if gray.max() < 1:
        raise UploadError(f"The {name} is empty: draw something first.")
    return ImageFile(name, np.rint(gray).astype(np.uint8))


# ---- out-of-distribution comparison sets --------------------------------------------
def blank_image(spec: DataSpec) -> torch.Tensor:
    """One all-background image (1, *shape): nothing drawn at all."""
    _levels(spec)
    return torch.zeros(1, *spec.shape)


def uniform_noise(n: int, spec: DataSpec, seed: int = 0) -> torch.Tensor:
    """n images whose pixels are independent uniform draws over the view's levels."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(_levels(spec), (n, *spec.shape), generator=generator).float()


def resize_into(x: torch.Tensor, levels: int, spec: DataSpec) -> torch.Tensor:
    """Images of another data set (N, 1, h, w) with `levels` values into this spec's size and view,
    by the same preprocessing an upload gets (aspect kept, padded, quantised; no inversion)."""
    _levels(spec)
    pixels = (x.float() / max(levels - 1, 1) * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    return torch.stack([to_view(ImageFile(f"item {i}", p[0]), spec.shape, spec.view, spec.levels, invert="no")
                        for i, p in enumerate(pixels)])


def ood_sets(ds: Dataset, n: int, seed: int = 0, other: Dataset | None = None) -> dict[str, torch.Tensor]:
    """Comparison sets in this data set's view: held-out items, uniform noise, another data set resized."""
    sets = {"held-out test images": ds.test[:n], "uniform noise": uniform_noise(n, ds.spec, seed)}
    if other is not None:
        label = f"{other.name}, resized to {ds.shape[1]}×{ds.shape[2]}"
        sets[label] = resize_into(other.test[:n], other.levels, ds.spec)
    return sets


# ---- representation -------------------------------------------------------------------
def encode(model: GenerativeModel, x: torch.Tensor, batch: int = 512) -> np.ndarray:
    """The model's features of x (`model.encode`), shape (N, k), float64, in eval mode."""
    if not model.can("encode"):
        raise ValueError(f"{model.title} has no latent space to encode into.")
    with model.evaluating():
        parts = [model.encode(x[i : i + batch].to(model.device)).reshape(len(x[i : i + batch]), -1).cpu()
                 for i in range(0, len(x), batch)]
    return torch.cat(parts).double().numpy()


def finite_rows(codes: np.ndarray) -> np.ndarray:
    """Mask of the rows whose every coordinate is finite (an encoder can overflow far from the data)."""
    return np.isfinite(codes).all(axis=1)


@dataclass
class Projection:
    """2-D coordinates of codes, and a sentence about how they were made."""

    points: np.ndarray  # (N, 2)
    note: str
    axes: tuple[str, str] = ("", "")  # the axes' titles: "PC 1", "t-SNE 1", "z₁", ...


def _centred(codes: np.ndarray) -> np.ndarray:
    return codes - codes.mean(axis=0, keepdims=True)


def _fixed_signs(directions: np.ndarray) -> np.ndarray:
    """Each direction flipped so its largest entry is positive: an SVD's signs are arbitrary, reruns should agree."""
    largest = directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)]
    return directions * np.where(largest < 0, -1.0, 1.0)[:, None]


def _pca(codes: np.ndarray, seed: int) -> Projection:
    if codes.shape[1] == 1:
        flat = np.hstack([_centred(codes), np.zeros((len(codes), 1))])
        return Projection(flat, "The latent is 1-D; shown on the x-axis.", ("z", ""))
    _, singular, vt = np.linalg.svd(_centred(codes), full_matrices=False)
    directions = _fixed_signs(vt[:2])
    share = singular[:2] ** 2 / max(float((singular**2).sum()), 1e-300)
    return Projection(_centred(codes) @ directions.T,
                      f"The two principal directions keep {_percent(share.sum())} of the codes' variance "
                      f"(PC 1 {_percent(share[0])}, PC 2 {_percent(share[1])}).", ("PC 1", "PC 2"))


def _percent(fraction: float) -> str:
    """A share as a percentage that never rounds to a misleading 0% or 100% ("<0.1%", ">99.9%")."""
    percent = 100 * float(fraction)
    if 1 <= percent <= 99:
        return f"{percent:.0f}%"
    if percent < 0.1 or percent > 99.9:
        return "<0.1%" if percent < 0.1 else ">99.9%"
    return f"{percent:.1f}%"


def _tsne(codes: np.ndarray, seed: int) -> Projection:
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(codes) - 1) / 3)))
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)
    return Projection(points, f"t-SNE (perplexity {perplexity:.0f}) keeps neighbours together; distances between "
                              "clusters and cluster sizes mean little.", ("t-SNE 1", "t-SNE 2"))


def _umap(codes: np.ndarray, seed: int) -> Projection:
    import umap

    neighbours = int(min(15, len(codes) - 1))
    points = umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed, n_jobs=1).fit_transform(codes)
    return Projection(np.asarray(points, dtype=float), f"UMAP ({neighbours} neighbours) keeps local structure and "
                                                       "some of the global layout.", ("UMAP 1", "UMAP 2"))


PROJECTIONS = {"PCA": _pca, "t-SNE": _tsne, "UMAP": _umap}
MIN_ITEMS = {"PCA": 2, "t-SNE": 5, "UMAP": 5}


def umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


def projections() -> list[str]:
    """The projection methods this installation offers (UMAP only where umap-learn is installed)."""
    return [name for name in PROJECTIONS if name != "UMAP" or umap_available()]


def project(codes: np.ndarray, method: str = "PCA", seed: int = 0) -> Projection:
    """Codes (N, k) to 2-D points (N, 2) by PCA, t-SNE or UMAP; a 2-D latent is shown as it is."""
    codes = np.asarray(codes, dtype=float)
    if codes.ndim != 2 or not np.isfinite(codes).all():
        raise ValueError("Codes must be a finite (N, k) array; drop non-finite rows first (finite_rows).")
    if method not in PROJECTIONS:
        raise ValueError(f"Unknown projection {method!r}; choose one of {', '.join(PROJECTIONS)}.")
    if len(codes) < MIN_ITEMS[method]:
        raise ValueError(f"{method} needs at least {MIN_ITEMS[method]} items; got {len(codes)}.")
    if codes.shape[1] == 2:
        return Projection(codes.copy(), "The latent is 2-D: these are the codes themselves.", ("z₁", "z₂"))
    return PROJECTIONS[method](codes, seed)


def principal_directions(codes: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (D,), the top-k unit directions (k, D), the codes' standard deviation along each (k,))."""
    mean = codes.mean(axis=0)
    _, singular, vt = np.linalg.svd(codes - mean, full_matrices=False)
    k = min(k, len(vt))
    directions = _fixed_signs(vt[:k])
    return mean, directions, singular[:k] / math.sqrt(max(len(codes) - 1, 1))


def ordered_along(codes: np.ndarray, direction: np.ndarray, count: int = 9) -> np.ndarray:
    """Indices of `count` items at evenly spaced quantiles of their coordinate along a direction."""
    coordinate = codes @ np.asarray(direction, dtype=float)
    order = np.argsort(coordinate, kind="stable")
    positions = np.linspace(0, len(order) - 1, min(count, len(order))).round().astype(int)
    return order[positions]


def decodes(model: GenerativeModel) -> bool:
    """Whether the model maps codes back to images: it encodes and has a `decode(z)`."""
    return model.can("encode") and callable(getattr(model, "decode", None))


def decode_images(model: GenerativeModel, z) -> np.ndarray:
    """Decoded codes z (N, k) as images with values in [0, 1], (N, C, H, W)."""
    if not decodes(model):
        raise ValueError(f"{model.title} has no decoder from its latent space back to images.")
    with model.evaluating():
        x = model.decode(torch.as_tensor(np.asarray(z), dtype=torch.float32).to(model.device)).cpu()
    return to_unit_images(x, model.spec.view, model.spec.levels)


def interpolate(model: GenerativeModel, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 9) -> np.ndarray:
    """Images decoded along the straight line between the codes of two inputs (C, H, W): (steps, C, H, W)."""
    if steps < 2:
        raise ValueError(f"An interpolation needs at least 2 steps; got {steps}.")
    codes = encode(model, torch.stack([x_a, x_b]))
    weights = np.linspace(0.0, 1.0, steps)[:, None]
    return decode_images(model, (1 - weights) * codes[0] + weights * codes[1])


def traverse(model: GenerativeModel, z0, direction, scale: float, steps: int = 9, span: float = 3.0) -> np.ndarray:
    """Images decoded at z0 + t·scale·direction for t evenly in [−span, span]: (steps, C, H, W)."""
    t = np.linspace(-span, span, steps)[:, None]
    return decode_images(model, np.asarray(z0)[None, :] + t * scale * np.asarray(direction)[None, :])


def latent_grid(model: GenerativeModel, codes: np.ndarray, n: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 2-D latent plane decoded on an n×n grid spanning the 5%–95% range of the codes.

    Returns (images (n·n, C, H, W) row by row, top row at the largest z₂, the z₁ values, the z₂ values).
    """
    if codes.shape[1] != 2:
        raise ValueError(f"A decoded grid needs a 2-D latent; this one has {codes.shape[1]} dimensions.")
    low, high = np.quantile(codes, 0.05, axis=0), np.quantile(codes, 0.95, axis=0)
    z1, z2 = np.linspace(low[0], high[0], n), np.linspace(high[1], low[1], n)
    zz1, zz2 = np.meshgrid(z1, z2)
    return decode_images(model, np.stack([zz1.ravel(), zz2.ravel()], 1)), z1, z2


def latent_families(spec: DataSpec) -> list[tuple[str, str, bool]]:
    """Families with a latent space that fit this data: (name, title, whether it decodes), decoders first."""
    from genlab.models import fits

    found = [(name, cls.title, callable(getattr(cls, "decode", None)))
             for name, cls in families_that("encode").items() if fits(name, spec) is None]
    return sorted(found, key=lambda f: not f[2])


# ---- export --------------------------------------------------------------------------
def grid_png(images, columns: int = 8, tile_pixels: int = 64) -> bytes:
    """Images (N, C, H, W) with values in [0, 1] tiled into one PNG, 1-pixel white gaps, pixels kept sharp."""
    images = np.asarray(images, dtype=float)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"Expected images shaped (N, C, H, W); got {images.shape}.")
    n, c, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    zoom = max(1, tile_pixels // max(h, w))
    canvas = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        tile = images[i].transpose(1, 2, 0)
        rgb = np.repeat(tile, 3, axis=2) if c == 1 else tile[..., :3]
        canvas[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = np.rint(rgb.clip(0, 1) * 255)
    picture = Image.fromarray(canvas).resize((canvas.shape[1] * zoom, canvas.shape[0] * zoom), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
