"""The contract every GenLab family answers, and the config every family extends."""
from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.models._noise import uniform
from genlab.text import shown

GRAD_CLIP_NORM = 100.0

__all__ = ["GenerativeModel", "DensityModel", "ModelConfig", "hparam", "Capability", "check_temperature",
           "check_count", "thin_frames", "LEARNING_RATE_SCHEDULES", "learning_rate_schedule", "schedule_factor"]

LEARNING_RATE_SCHEDULES = ("constant", "cosine")
FINAL_LEARNING_RATE_SHARE = 0.02  # the cosine schedule ends at this share of the learning rate, not at 0


def hparam(default, low=None, high=None, help: str = "", choices=None, log: bool = False, label: str = "",
           views: tuple[str, ...] = ()):
    """A config field with the bounds and help text the CLI and the Train page show.

    `label` names it on the page (its field name otherwise); `views` lists the data views it
    matters in (all of them when empty), so a page can leave it out elsewhere.
    """
    return field(default=default, metadata={"low": low, "high": high, "help": help, "choices": choices, "log": log,
                                            "label": label, "views": tuple(views)})


def learning_rate_schedule(default: str = "constant"):
    """The config field of a family whose step size may follow a schedule over the run's budget."""
    return hparam(default, help="How the step size changes over the budget: constant, or a cosine from the "
                  "learning rate down to 2% of it at the end (fine steps when there is no time left for big ones).",
                  choices=LEARNING_RATE_SCHEDULES, label="learning-rate schedule")


def schedule_factor(schedule: str, progress: float) -> float:
    """The share of the learning rate to use at `progress` ∈ [0, 1] of the budget (clipped to it)."""
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"Unknown learning-rate schedule {schedule!r}; choose {' or '.join(LEARNING_RATE_SCHEDULES)}.")
    p = min(max(progress, 0.0), 1.0)
    return FINAL_LEARNING_RATE_SHARE + (1 - FINAL_LEARNING_RATE_SHARE) * 0.5 * (1 + math.cos(math.pi * p))


@dataclass
class ModelConfig:
    """Hyper-parameters shared by every family: how the trainer optimises it."""

    learning_rate: float = hparam(1e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(256, 1, 8192, "Examples per gradient step.")

    @classmethod
    def fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def build(cls, **hparams) -> "ModelConfig":
        """Check names, types and bounds once, up front, with messages that say how to fix them."""
        known = {f.name: f for f in cls.fields()}
        unknown = sorted(set(hparams) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown hyper-parameter(s) {', '.join(unknown)}; this family takes: {', '.join(known)}."
            )
        values = {}
        for name, value in hparams.items():
            f = known[name]
            values[name] = _coerce(name, value, f)
        return cls(**values)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _coerce(name: str, value, f: dataclasses.Field):
    kind = type(f.default)
    meta = f.metadata
    if meta.get("choices"):
        if value not in meta["choices"]:
            raise ValueError(f"{name} must be one of {', '.join(map(str, meta['choices']))}; got {shown(value)}.")
        return value
    try:
        if kind is bool:
            if isinstance(value, str):
                value = value.lower() in ("1", "true", "yes", "on")
            return bool(value)
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {shown(value)}.") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number; got {shown(value)}.")
    if kind is int:
        if number != int(number):
            raise ValueError(f"{name} must be a whole number; got {shown(value)}.")
        number = int(number)
    low, high = meta.get("low"), meta.get("high")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be between {low} and {high}; got {shown(value)}.")
    return number


def check_temperature(temperature) -> float:
    """The temperature as a float, or a ValueError saying it must be a positive number."""
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"temperature must be a positive number (1 is the model itself); got {temperature!r}.")
    return value


def check_count(n, what: str = "n") -> int:
    """A count of samples as an int, or a ValueError saying it must be a whole number of at least 1."""
    whole = isinstance(n, numbers.Real) and not isinstance(n, bool) and math.isfinite(n) and n == int(n)
    if not whole or n < 1:
        raise ValueError(f"{what} must be a whole number of at least 1; got {n!r}.")
    return int(n)


def thin_frames(frames: list, max_frames: int) -> list:
    """At most max_frames of a generation's frames, evenly spaced, always the first and the last."""
    if len(frames) <= max_frames:
        return list(frames)
    keep = torch.linspace(0, len(frames) - 1, max_frames).round().long().unique().tolist()
    return [frames[i] for i in keep]


def _checked_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}.")
    return generator


class Capability:
    """Names of the optional questions a model can answer (the app asks, never guesses)."""

    ENCODE = "encode"
    DENSITY = "density"
    SAMPLE = "sample"
    STEPS = "steps"
    PIXELS = "pixels"
    COMPLETE = "complete"
    # capability -> the method a family overrides to answer it
    METHODS = {"encode": "encode", "density": "log_prob", "sample": "_sample", "steps": "_sample_steps",
               "pixels": "pixel_log_prob", "complete": "_complete"}

    @staticmethod
    def of(cls: type, capability: str) -> bool:
        """Whether family class `cls` answers `capability` (it overrides the base method)."""
        if capability not in Capability.METHODS:
            raise ValueError(f"Unknown capability {capability!r}; choose one of {', '.join(Capability.METHODS)}.")
        method = Capability.METHODS[capability]
        return getattr(cls, method) is not getattr(GenerativeModel, method)


class GenerativeModel(nn.Module):
    """Base of every family: a p_θ over one data spec.

    A family subclass sets the class attributes below, takes `(config, spec)` in its
    constructor and implements `log_prob`, `_sample` and `loss` (and `encode` where
    it has a latent space). Data-dependent set-up (a closed-form fit, a bandwidth
    search, an initialisation from data) goes in `initialize`.

    `sample`, `sample_steps` and `complete` are templates: they check n and the
    temperature once, switch to eval mode (restored after) without gradients, and call
    the family's `_sample`, `_sample_steps` or `_complete`. A family draws its noise
    with `genlab.models._noise` on `self.device`: a generator on another device (a CPU
    one for a CUDA model) is drawn from on its own device, then moved, so a seed gives
    the same draws everywhere. `eval_generator` gives held-out numbers their fixed draws.

    Class attributes:
        name: registry name ("realnvp").
        title: a human name ("RealNVP (affine coupling flow)").
        config_class: the family's ModelConfig subclass.
        views: data views the family fits.
        log_prob_kind: "exact" | "lower_bound" | "estimate" | "unnormalized" | None.
        objective: what `loss()["loss"]` estimates, in the field's words.
        trainable: False for closed-form families (fitted in `initialize`).
        changeable: config fields a learner may change while it trains.
        players: for a game of several networks, who can train: all of them first ("both"),
            then each alone; `train_step` then takes `player=` one of these. Empty otherwise.
        network_pass_per_dimension: True where sampling runs the whole network once per dimension
            (PixelCNN): seconds per image on MNIST, so a timed evaluation leaves its samples out.
        finishing: what `finish_training` does, in words a status line goes on with ("calibrating the
            ratio critic"); shown where `finishing_share` keeps part of the budget for it.
        variable_buffers: buffers whose first dimension comes from the data, each with the config field
            that bounds it ({"points": "max_points"}: a KDE keeps up to max_points training points); every
            other buffer has the shape the settings give it, and whole-number ones their values too.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    views: ClassVar[tuple[str, ...]] = ("continuous",)
    log_prob_kind: ClassVar[str | None] = "exact"
    objective: ClassVar[str] = "NLL (nats) = KL(p_data‖p_θ) + H(p_data)"
    trainable: ClassVar[bool] = True
    changeable: ClassVar[tuple[str, ...]] = ("learning_rate", "batch_size")
    players: ClassVar[tuple[str, ...]] = ()
    network_pass_per_dimension: ClassVar[bool] = False
    finishing: ClassVar[str] = "finishing its training"
    variable_buffers: ClassVar[dict[str, str]] = {}

    def __init__(self, config: ModelConfig, spec: DataSpec):
        super().__init__()
        self.config = config
        self.spec = spec

    @classmethod
    def log_prob_kind_on(cls, view: str) -> str | None:
        """What `log_prob` returns on data in `view` ("exact", "lower_bound", ...), known without a model."""
        return cls.log_prob_kind

    @classmethod
    def check_spec(cls, spec: DataSpec) -> str | None:
        """None if the family can model data of this shape, else a sentence saying why not
        (the view is checked separately against `views`)."""
        return None

    # ---- the contract -------------------------------------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_θ(x) in nats, shape (N,)."""
        raise NotImplementedError(f"{self.title} does not give log p_θ(x).")

    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples, shape (n, *spec.shape), in the data view, on the model's device.

        `temperature` scales the randomness (1 draws from p_θ itself); `generator` fixes the
        draws (None: torch's global stream). Checked here, then drawn in eval mode by `_sample`."""
        n, temperature = check_count(n), check_temperature(temperature)
        with self.evaluating():
            return self._sample(n, temperature, _checked_generator(generator))

    def _sample(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        """The family's own draw, called by `sample` with its arguments checked, in eval mode, without gradients."""
        raise NotImplementedError(f"{self.title} cannot sample.")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features of x, shape (N, k)."""
        raise NotImplementedError(f"{self.title} has no latent space.")

    def loss(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """{"loss": scalar to minimise, **named metrics}."""
        nll = -self.log_prob(batch).mean()
        return {"loss": nll, "nll_nats": nll.detach()}

    def initialize(self, train: torch.Tensor, valid: torch.Tensor, generator: torch.Generator) -> dict[str, float]:
        """Data-dependent set-up before training; returns metrics worth reporting."""
        return {}

    @property
    def finishing_share(self) -> float:
        """The share of a run's budget the family keeps for `finish_training` after its gradient steps (0: none)."""
        return 0.0

    def finish_training(self, train: torch.Tensor, spent: Callable[[], bool], generator: torch.Generator) -> dict:
        """A family's last work on its best weights once the steps have ended and the best weights are back, until
        `spent()` says the rest of the budget (its `finishing_share`) is used; returns numbers worth keeping in
        the run's summary."""
        return {}

    # ---- optional answers (the app asks `can(...)` before calling) -------------------
    def sample_steps(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
                     max_frames: int = 32) -> list[tuple[str, torch.Tensor]]:
        """Generation step by step: [(caption, (n, *shape) tensor in the data view), ...], at most
        `max_frames` frames ending at the final samples (pixel by pixel, denoising steps, flow layers...).
        Checked here, then drawn in eval mode by `_sample_steps`."""
        n, temperature = check_count(n), check_temperature(temperature)
        max_frames = check_count(max_frames, "max_frames")
        with self.evaluating():
            return self._sample_steps(n, temperature, _checked_generator(generator), max_frames)

    def _sample_steps(self, n: int, temperature: float, generator: torch.Generator | None,
                      max_frames: int) -> list[tuple[str, torch.Tensor]]:
        """The family's step-by-step draw, called by `sample_steps` like `_sample`."""
        raise NotImplementedError(f"{self.title} has no step-by-step generation.")

    def pixel_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel log-probability terms, shape (N, *shape), summing to log_prob(x) — for
        families that factorise over pixels (autoregressive models, independent pixels)."""
        raise NotImplementedError(f"{self.title} does not factorise over pixels.")

    def complete(self, x: torch.Tensor, observed: torch.Tensor, n: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n completions of one image x (*shape) whose pixels are kept where `observed` (*shape, bool) is True.

        Returns the images (n, *shape), observed pixels unchanged, and log importance weights (n,) that
        make them draws of p_θ(missing | observed) once resampled (`genlab.completion`); equal weights
        when the draws already are. Checked here, then drawn in eval mode by `_complete`."""
        if tuple(x.shape) != tuple(self.spec.shape) or tuple(observed.shape) != tuple(self.spec.shape):
            raise ValueError(f"complete takes one image and its mask, each shaped {tuple(self.spec.shape)}; "
                             f"got {tuple(x.shape)} and {tuple(observed.shape)}.")
        n, temperature = check_count(n), check_temperature(temperature)
        with self.evaluating():
            return self._complete(x, observed, n, temperature, _checked_generator(generator))

    def _complete(self, x: torch.Tensor, observed: torch.Tensor, n: int, temperature: float,
                  generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The family's completion, called by `complete` like `_sample` (x and observed already shape-checked)."""
        raise NotImplementedError(f"{self.title} cannot complete a partly observed input.")

    def fields(self, points: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the family computes at 2-D points besides log p, for live views on toys:
        {name: (N,) scalar field (a critic, an energy) or (N, 2) vector field (a score)}."""
        return {}

    def field_notes(self) -> dict[str, str]:
        """A sentence on a map of `fields` whose name alone does not say which network or quantity it shows (a
        GAN sampling by rejection has two discriminators): {name: sentence}, shown under the map's live view."""
        return {}

    def extra_metrics(self, x: torch.Tensor) -> dict[str, float]:
        """Family-specific held-out numbers (e.g. a VAE's ELBO beside its IW estimate), in nats."""
        return {}

    def validation_loss(self, valid: torch.Tensor) -> float:
        """The held-out number that picks the best weights while training (lower is better)."""
        return float(self.loss(valid)["loss"])

    # ---- how the trainer drives it (GAN-like families override these) -------------
    def make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.config.learning_rate)

    @property
    def learning_rate_schedule(self) -> str:
        """The step-size schedule: that of a config with a `learning_rate_schedule` field, else "constant"."""
        return getattr(self.config, "learning_rate_schedule", "constant")

    def train_step(self, batch: torch.Tensor, optimizer: torch.optim.Optimizer) -> dict[str, float]:
        """One gradient step on the family's objective; returns the metrics to chart."""
        optimizer.zero_grad(set_to_none=True)
        out = self.loss(batch)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(self.parameters(), max_norm=GRAD_CLIP_NORM)
        optimizer.step()
        return {key: float(value.detach()) for key, value in out.items()}

    # ---- what the app asks --------------------------------------------------------
    def can(self, capability: str) -> bool:
        """Whether this model answers `encode`, `density` (log_prob), `sample`, `steps` (sample_steps),
        `pixels` (pixel_log_prob) or `complete` (complete)."""
        return Capability.of(type(self), capability)

    def num_parameters(self) -> int:
        """Learned numbers, including fitted buffers (a KDE's parameters are its data)."""
        return sum(p.numel() for p in self.parameters()) + sum(b.numel() for b in self.buffers())

    @contextlib.contextmanager
    def evaluating(self):
        """Eval mode (no dropout; held-out numbers from fixed draws) without gradients; the previous mode comes back."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield self
        finally:
            self.train(was_training)

    def eval_generator(self, generator: torch.Generator | None) -> torch.Generator | None:
        """The generator behind a held-out number: the one given, or in eval mode a new one seeded 0 on the
        model's device, so evaluating twice gives the same number (training draws from the global stream)."""
        if generator is None and not self.training:
            return torch.Generator(device=self.device).manual_seed(0)
        return generator

    def flat(self, x: torch.Tensor) -> torch.Tensor:
        """Items (N, *shape) in the data view -> float32 (N, D) on the model's device."""
        return x.reshape(len(x), -1).to(self.device, torch.float32)

    @property
    def device(self) -> torch.device:
        for t in list(self.parameters()) + list(self.buffers()):
            return t.device
        return torch.device("cpu")

    def load_weights(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load saved tensors; buffers may change shape (a KDE's data, a fitted mean)."""
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        missing = sorted(set(own) - set(tensors))
        extra = sorted(set(tensors) - set(own))
        if missing or extra:
            raise ValueError(f"Weights do not match {self.title}: missing {missing}, unexpected {extra}.")
        params = dict(self.named_parameters())
        for key, value in tensors.items():
            if key in params:
                if params[key].shape != value.shape:
                    raise ValueError(f"Weight {key} has shape {tuple(value.shape)}, "
                                     f"expected {tuple(params[key].shape)}.")
                with torch.no_grad():
                    params[key].copy_(value)
            else:
                module_name, _, buffer_name = key.rpartition(".")
                module = self.get_submodule(module_name) if module_name else self
                setattr(module, buffer_name, value.to(self.device))

    def hparams(self) -> dict:
        return self.config.to_json()


class DensityModel(GenerativeModel):
    """A family that defines a density on R^D and reaches discrete views by dequantization.

    Subclasses implement `flat_log_prob(y)` and `flat_sample(n, temperature, generator)`
    on flattened continuous vectors y of shape (N, D). On `binary` and `gray8` data a
    pixel value k in 0..L-1 becomes y = (k + u) / L with u ~ U[0, 1) (uniform
    dequantization), and log P(x) >= E_u[log p(y)] - D log L, so the reported number
    is a one-sample estimate of a lower bound on the discrete log-likelihood, in nats
    over the discrete data and comparable with discrete models (Theis et al., 2016,
    "A note on the evaluation of generative models").
    """

    views = ("continuous", "binary", "gray8")

    @classmethod
    def log_prob_kind_on(cls, view: str) -> str:
        if not isinstance(cls.log_prob_kind, property):  # a subclass that fixed its kind (EBM, DDPM)
            return cls.log_prob_kind
        return "exact" if view == "continuous" else "lower_bound"

    @property
    def log_prob_kind(self) -> str:  # type: ignore[override]
        return self.log_prob_kind_on(self.spec.view)

    def flat_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def flat_sample(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def to_continuous(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, float]:
        """Flatten x and dequantize discrete views; returns (y, log-volume correction in nats)."""
        y = self.flat(x)
        if self.spec.view == "continuous":
            return y, 0.0
        u = uniform(y.shape, self.eval_generator(generator), y.device)
        levels = self.spec.levels
        return (y + u) / levels, -y.shape[1] * math.log(levels)

    def to_view(self, y: torch.Tensor) -> torch.Tensor:
        """Map flat continuous samples back to the data view and shape."""
        if self.spec.view != "continuous":
            levels = self.spec.levels
            y = torch.floor(y.clamp(0.0, 1.0 - 1e-6) * levels)
        return y.reshape(len(y), *self.spec.shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        y, correction = self.to_continuous(x)
        return self.flat_log_prob(y) + correction

    def _sample(self, n: int, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
        return self.to_view(self.flat_sample(n, temperature, generator))
