"""Named starting points for each family × kind of data: settings, and a sentence on why.

Data, not code. A preset names only hyper-parameters of its family's config (a test
builds and trains every one). "Broken on purpose" presets show a known failure and say
what to look for on the Train page.

The kinds of data are "toy" (2-D points), "image-binary" and "image-gray8". A family
with no preset for a kind simply starts from its config's defaults.

The presets are chosen by the benchmark: `python -m genlab bench --presets --write` trains
each family's defaults, its working presets and a few nearby ALTERNATIVES side by side at
the same budget and seed on one data set per kind, and writes the yardstick of each to
presets_measured.json. `measured(preset)` reads it back; a test checks that every working
preset there did at least as well as the defaults, or says in its `trade_off` what it gives up.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

from genlab.data.base import Dataset

__all__ = ["Preset", "PRESETS", "ALTERNATIVES", "PROMOTION_MARGIN", "KINDS", "BENCH_DATASETS", "YARDSTICKS",
           "UNITS", "MEASURED_PATH", "Measurement", "dataset_kind", "view_kind", "presets_for", "full_hparams",
           "settings_note", "format_yardstick", "measured", "measured_note", "read_measured"]

KINDS = ("toy", "image-binary", "image-gray8")
BENCH_DATASETS = {"toy": ("toy:8gaussians", None), "image-binary": ("digits", "binary"),
                  "image-gray8": ("digits", "gray8")}  # the data set each kind is benchmarked on
YARDSTICKS = {"toy": "kl_nats", "image-binary": "test_nll_nats", "image-gray8": "bits_per_dim"}  # lower wins
MEASURED_PATH = Path(__file__).with_name("presets_measured.json")


@dataclass(frozen=True)
class Preset:
    """Hyper-parameters for one family on one kind of data, and why they are set so.

    `look_for` is set on presets that are broken on purpose: the symptom to watch.
    `trade_off` is set on working presets the benchmark measured behind the defaults: what
    they give up on the yardstick, and for what.
    """

    name: str
    family: str
    kind: str
    hparams: dict = field(default_factory=dict)
    why: str = ""
    look_for: str = ""
    trade_off: str = ""

    @property
    def broken(self) -> bool:
        return bool(self.look_for)

    @property
    def measured(self) -> "Measurement | None":
        """What the preset benchmark measured for these settings, or None if it has not."""
        return measured(self)


PRESETS: tuple[Preset, ...] = (
    # ---- 2-D toys -----------------------------------------------------------------
    Preset("Many components", "gmm", "toy", {"num_components": 32, "covariance": "full", "learning_rate": 0.01},
           "A mixture bends around curved data only by tiling it with many small ellipses; 32 full-covariance "
           "components cover the toys, and gradient steps on the mixture weights need a fairly large step.",
           trade_off="On 8gaussians, which needs only eight, it does no better than the 16 of the defaults (both "
                     "reach a KL near zero); the spare components are for the curved toys."),
    Preset("Too few components (broken on purpose)", "gmm", "toy", {"num_components": 2, "covariance": "full"},
           "Two Gaussians for eight (or more) clusters: the model can only spread each one over several modes.",
           look_for="Two wide blobs in the live density that cover the gaps between clusters; the KL curve "
                    "flattens well above zero however long it trains."),
    Preset("Six coupling layers", "realnvp", "toy",
           {"num_layers": 6, "hidden_units": 64, "hidden_layers": 2, "learning_rate": 0.002, "batch_size": 1024},
           "Each affine coupling layer can only shift and scale half of the coordinates, so bending a 2-D sheet "
           "needs several stacked; six take twice the steps of the defaults' twelve in the same seconds, and "
           "reached a lower KL on the benchmark."),
    Preset("One coupling layer (broken on purpose)", "realnvp", "toy", {"num_layers": 1, "hidden_units": 64},
           "An under-parameterised flow: one affine layer moves only one coordinate, as an affine function of "
           "the other, so the density stays a warped Gaussian.",
           look_for="A single smeared blob on 8gaussians instead of eight peaks; KL stops falling early."),
    Preset("Few spline layers", "nsf", "toy",
           {"num_layers": 4, "hidden_units": 64, "num_bins": 8, "tail_bound": 4.0, "learning_rate": 0.001,
            "learning_rate_schedule": "cosine"},
           "Fewer layers than RealNVP because each spline layer bends: a monotone rational-quadratic spline "
           "with 8 bins can split one mode into several within a single layer. The step size follows a cosine "
           "down to 2% by the end of the budget. On 8gaussians at 60 CPU-seconds it reached a KL of 0.010–0.019 "
           "nats over four seeds (mean 0.014); on larger batches the cosine and a constant step tied (0.013)."),
    Preset("One spline layer", "nsf", "toy", {"num_layers": 1, "num_bins": 16},
           "Even one spline layer can carve several modes along one coordinate; compare it with one RealNVP "
           "layer to see what the splines add.",
           trade_off="It trails the four layers of the defaults on the benchmark: it is here for the comparison."),
    Preset("Hard edges", "nsf", "toy",
           {"support": "box", "num_layers": 1, "num_bins": 8, "batch_size": 256, "learning_rate": 0.005,
            "learning_rate_schedule": "cosine"},
           "For toys whose density stops at an edge, like checkerboard. The base is uniform on the data's box, "
           "so the density can end sharply at the board's border. One coupling layer bends one coordinate "
           "given the other (x given y: row by row), and a spline per coordinate shapes each one's spread, "
           "with 8 bins (more overfit), and small batches make many steps. On "
           "checkerboard at 60 CPU-seconds its KL on fresh points was 0.013–0.016 nats with the default 20,000 "
           "training points, which it fits better (0.004–0.007), and 0.006–0.009 with 1,000,000 (the sidebar's "
           "Training points), against 0.034–0.045 for the unbounded flow.",
           trade_off="On 8gaussians, the benchmark's toy, it trails the defaults (0.018 against 0.014 nats, four "
                     "seeds): Gaussian clusters fade out softly, and a density cut at the data's box ends them "
                     "early. It is for toys with hard edges."),
    Preset("Small MLP diffusion", "ddpm", "toy",
           {"timesteps": 100, "hidden_units": 128, "hidden_layers": 3, "learning_rate": 0.001, "batch_size": 1024,
            "loss_weighting": "likelihood"},
           "100 noise levels are enough for 2-D data, and a three-layer MLP learns the noise at each of them. "
           "The likelihood weighting draws the small noise levels, which decide the likelihood, more often, and "
           "large batches average out the noise of their targets: on the benchmark (60 CPU-seconds, 8gaussians, "
           "two seeds) the ELBO's KL was 0.22 nats against 0.31 for the defaults, and the probability-flow "
           "ODE's 0.07 against 0.08."),
    Preset("Exact likelihood on a grid", "ebm", "toy",
           {"training": "grid likelihood", "learning_rate": 0.003, "hidden_units": 64, "batch_size": 1024},
           "In 2-D the normaliser Z is a sum over a grid, so the energy can follow the likelihood's own gradient "
           "instead of Langevin samples' biased one. Large batches balance the data term against the grid's; "
           "in more dimensions the grid is out of reach and contrastive divergence is what is left."),
    Preset("Short chains", "ebm", "toy", {"langevin_steps": 20, "step_size": 0.01, "hidden_units": 128},
           "Short Langevin chains restarted from a replay buffer keep each step cheap while the buffer carries "
           "samples across steps, so they mix over training."),
    Preset("R1-stabilised game", "gan", "toy",
           {"loss_type": "non-saturating", "r1_weight": 1.0, "learning_rate": 0.0002, "beta1": 0.5},
           "The non-saturating loss keeps the generator's gradient alive when D wins, and the R1 penalty damps "
           "the oscillations of the two-player game."),
    Preset("Rejection by a ratio critic", "gan", "toy", {"sampler": "ratio-critic rejection"},
           "The game as in the defaults, with a second discriminator trained beside it without the R1 penalty. "
           "Its logit estimates log p_data/p_θ, and samples are the generator's proposals kept with "
           "probability exp(logit − log M), log M being nearly the largest logit. The generator smears each "
           "cluster along the circle; the ratio critic learns where, and the rejection step removes those "
           "samples. The game stops at half of the budget, and the other half trains the ratio critic alone "
           "against the final generator. Give it 20 s or more: the game must first reach every cluster (on a busy "
           "host a 15 s run made under 300 game steps and covered half of them). On the benchmark (60 "
           "CPU-seconds, 8gaussians, five seeds) the KL was 0.03–0.11 nats (mean 0.07) against the defaults' "
           "0.46–0.70 (mean 0.60); at 20 CPU-seconds 0.016–0.040."),
    Preset("Minimax, no penalty (broken on purpose)", "gan", "toy",
           {"loss_type": "minimax", "r1_weight": 0.0, "learning_rate": 0.001, "beta1": 0.5},
           "The game's own value with a fast step and no damping: the generator's gradient vanishes once D "
           "rejects its samples. Whether it collapses depends on the seed: in 15 s on 8gaussians, seeds 2 and 4 "
           "ended on two of the eight modes (KL 16–21 nats), seeds 0, 1 and 3 covered all eight but with a KL "
           "of 0.7–2.8 nats that jumps from report to report (`bench --presets --seeds 0 1 2 3 4`).",
           look_for="An unstable game: a KL curve that jumps instead of falling, and on some seeds (try 2 or 4) "
                    "mode collapse, samples bunched on one or two of the eight clusters or hopping between them."),
    Preset("Gradient-penalised critic", "wgan-gp", "toy", {"critic_steps": 2, "penalty_weight": 1.0},
           "The gradient penalty keeps the critic's gradient a useful direction for the generator even away "
           "from its optimum, so two critic steps per generator step are enough; on a CPU budget they beat "
           "the five of the defaults, which leave the generator too few updates."),
    Preset("Ridge", "gaussian", "toy", {"ridge": 1e-4},
           "A single Gaussian is the baseline: the closed-form fit any real model must beat."),
    Preset("Cross-validated bandwidth", "kde", "toy", {"max_points": 5000, "num_bandwidths": 16},
           "5,000 kernel centres and 16 bandwidths tried on held-out data: a strong non-parametric baseline in 2-D."),
    # ---- binary images ------------------------------------------------------------
    Preset("Standard VAE", "vae", "image-binary",
           {"latent_dim": 16, "hidden_units": 256, "hidden_layers": 2, "learning_rate": 0.001, "iw_samples": 64},
           "Sixteen latent dimensions are plenty for small digits; 64 importance samples make the reported "
           "bound tighter than 16 did on the benchmark, for held-out checks that take a little longer."),
    Preset("Latent plane", "vae", "image-binary", {"latent_dim": 2, "hidden_units": 256},
           "Two latent dimensions give a plane you can decode as a grid on the Latent page.",
           trade_off="Two dimensions cost some likelihood against the 16 of the defaults; the plane is what "
                     "they buy."),
    Preset("Huge decoder (broken on purpose)", "vae", "image-binary",
           {"latent_dim": 32, "hidden_units": 1024, "hidden_layers": 4, "iw_samples": 16},
           "A powerful decoder and a wide code: the decoder can model the pixels well enough alone, and the "
           "KL term pushes the encoder to say nothing (posterior collapse).",
           look_for="The KL part of the ELBO (among the other training signals) shrinking towards zero, and "
                    "latent codes on the Latent page that barely change from image to image."),
    Preset("One latent dimension (broken on purpose)", "vae", "image-binary", {"latent_dim": 1, "iw_samples": 16},
           "A single number per image cannot tell ten digits apart.",
           look_for="Blurry samples that morph between a few digit shapes; a worse bound than with 16 dims."),
    Preset("Masked autoencoder", "made", "image-binary",
           {"num_masks": 8, "hidden_layers": 1, "hidden_units": 512, "learning_rate": 0.002},
           "One wide hidden layer with eight orderings: order-agnostic training acts as an ensemble and "
           "regularises the exact autoregressive likelihood."),
    Preset("NADE", "nade", "image-binary", {"hidden_units": 96, "learning_rate": 0.007},
           "Weights shared across pixels keep NADE small; a large step is fine because the objective is an "
           "exact, smooth log-likelihood."),
    Preset("Logistic chain", "fvsbn", "image-binary", {"learning_rate": 0.01},
           "A fully visible sigmoid belief net is one logistic regression per pixel: convex-ish, so a large "
           "step trains it in seconds."),
    Preset("Small gated PixelCNN", "pixelcnn", "image-binary",
           {"block": "gated", "channels": 24, "residual_blocks": 2, "dropout": 0.1},
           "Gated blocks without a blind spot, and a small net because the images are tiny; light dropout, "
           "since 0.1 beat the 0.3 of the defaults on the benchmark (a CPU minute is too short to overfit)."),
    Preset("Two-scale Glow", "glow", "image-binary",
           {"num_scales": 2, "steps_per_scale": 4, "hidden_channels": 32, "learning_rate": 0.003},
           "Dequantised pixels through two scales of four flow steps: enough depth for 8×8 images on a CPU."),
    Preset("Mixture of Bernoullis", "bernoulli-mixture", "image-binary", {"num_components": 50},
           "Fifty prototypes fitted by EM: each one a blurred average of similar digits."),
    Preset("Independent pixels", "bernoulli", "image-binary", {"smoothing": 1.0},
           "One Bernoulli per pixel, the baseline every structured model must beat."),
    Preset("Small MLP GAN", "gan", "image-binary", {"latent_dim": 8, "hidden_units": 128, "r1_weight": 1.0},
           "The toys' small nets do best on 8×8 digits too: a wider code and nets (16, 256) took half the "
           "steps in the same CPU time and ended further from the data (MMD²) on the benchmark."),
    Preset("Wider diffusion", "ddpm", "image-binary", {"timesteps": 100, "hidden_units": 256, "hidden_layers": 3},
           "An MLP denoiser over flattened pixels. Since the bound scores each pixel's bin (the discretised "
           "decoder), 256 units beat the 128 of the defaults on the benchmark (28.0 against 30.0 nats in 10 "
           "CPU-seconds), though they take fewer steps."),
    # ---- gray-level images ----------------------------------------------------------
    Preset("Logistic decoder", "vae", "image-gray8",
           {"latent_dim": 16, "gray_decoder": "logistic", "hidden_units": 256, "iw_samples": 16},
           "A discretised logistic per pixel knows that nearby grey levels are alike, so it needs far fewer "
           "parameters than a categorical decoder."),
    Preset("Categorical decoder", "vae", "image-gray8",
           {"latent_dim": 16, "gray_decoder": "categorical", "hidden_units": 256, "iw_samples": 16},
           "One probability per grey level and pixel: flexible, but it must learn from data that levels 7 and "
           "8 are close.",
           trade_off="Within a CPU minute it trails the logistic decoder of the defaults; it is here to compare "
                     "the two decoders."),
    Preset("MADE over grey levels", "made", "image-gray8", {"num_masks": 4, "hidden_units": 512},
           "The same masked network, now predicting a grey level per pixel given the earlier ones."),
    Preset("Small gated PixelCNN", "pixelcnn", "image-gray8",
           {"block": "gated", "channels": 24, "residual_blocks": 2, "dropout": 0.1},
           "The gated PixelCNN again, with a categorical over grey levels at each pixel, and the same light "
           "dropout, which beat the defaults' 0.3 here too."),
    Preset("Two-scale Glow", "glow", "image-gray8", {"num_scales": 2, "steps_per_scale": 4, "hidden_channels": 32},
           "Uniform dequantisation turns grey levels into a continuous density a flow can model."),
    Preset("Affine flow on pixels", "realnvp", "image-gray8", {"num_layers": 8, "hidden_units": 256},
           "Couplings over flattened pixels: wider conditioners than on the toys because each sees half of "
           "the image.",
           trade_off="On the benchmark it ties with the defaults (within 0.01 bits/dim over three seeds): in a "
                     "CPU minute the wider conditioners' fewer steps cancel what they add."),
    Preset("Independent grey levels", "bernoulli", "image-gray8", {"smoothing": 1.0},
           "Independent pixels, the baseline every structured model must beat."),
)


# Nearby settings the preset benchmark tries beside the defaults and the presets; one that
# beats them all by more than PROMOTION_MARGIN (relative: less is within one seed's noise on a
# shared machine) is promoted to a preset and dropped from here.
PROMOTION_MARGIN = 0.05
ALTERNATIVES: tuple[Preset, ...] = (
    Preset("Wider denoiser", "ddpm", "toy", {"hidden_units": 256},
           "A wider noise predictor, at fewer steps per second."),
    Preset("Uniform steps, large batches", "ddpm", "toy", {"batch_size": 1024},
           "The large batches of the preset without its likelihood weighting: what the weighting adds."),
    Preset("Larger steps on larger batches", "nsf", "toy", {"learning_rate": 0.005, "batch_size": 2048},
           "Five times the step size on four times the batch, still with the cosine: fewer, surer steps."),
    Preset("Constant large steps", "nsf", "toy",
           {"learning_rate": 0.005, "batch_size": 2048, "learning_rate_schedule": "constant"},
           "The preset's step size and batches without the cosine: what the schedule adds."),
    Preset("Shorter chains", "ebm", "toy", {"langevin_steps": 10},
           "Half the Langevin steps: more updates of the energy, rougher negative samples."),
    Preset("Averaged generator", "gan", "toy", {"generator_average": 0.99},
           "Samples from a moving average of the generator's last hundred or so weights, where what is left of "
           "the game's oscillations could cancel out."),
    Preset("Faster game", "gan", "toy", {"learning_rate": 0.0005},
           "A larger step for both players, damped by the same R1 penalty."),
    Preset("Two hidden layers", "made", "image-binary", {"hidden_layers": 2},
           "A deeper masked network: more conditional structure, fewer steps per second."),
    Preset("Wider NADE", "nade", "image-binary", {"hidden_units": 192},
           "Twice the shared hidden units."),
    Preset("Faster logistic chain", "fvsbn", "image-binary", {"learning_rate": 0.03},
           "A three times larger step for the per-pixel logistic regressions."),
    Preset("Shallower Glow", "glow", "image-binary", {"steps_per_scale": 2},
           "Two flow steps per scale instead of four: twice the updates in the same seconds."),
    Preset("Wider MLP GAN", "gan", "image-binary", {"latent_dim": 16, "hidden_units": 256},
           "A wider code and wider nets, since images have many more dimensions to cover than the toys."),
    Preset("Shallower Glow", "glow", "image-gray8", {"steps_per_scale": 2},
           "Two flow steps per scale instead of four: twice the updates in the same seconds."),
)


@dataclass(frozen=True)
class Measurement:
    """One preset's (or alternative's) yardstick beside the defaults', from presets_measured.json.

    `value` and `defaults_value` are the yardstick (`kl_nats`, `test_nll_nats` or
    `bits_per_dim`; `mmd` for a family with no likelihood), lower is better, after
    `seconds_budget` seconds of CPU time training on `dataset` (the mean over `repeats` seeds
    from `seed`) with `torch_threads` threads, on `date`. `same_as_defaults` when the settings
    are the config's defaults; `winner` when they did best of the `tried` settings (defaults,
    presets, alternatives).
    """

    family: str
    kind: str
    dataset: str
    yardstick: str
    value: float | None
    defaults_value: float | None
    same_as_defaults: bool
    winner: bool
    tried: int
    seconds_budget: float
    seed: int
    repeats: int
    torch_threads: int
    date: str

    @property
    def beat_defaults(self) -> bool:
        """At least as good as the defaults on the yardstick (a tie counts)."""
        if self.same_as_defaults:
            return True
        return self.value is not None and (self.defaults_value is None or self.value <= self.defaults_value)


UNITS = {"kl_nats": ("KL", "{:.3f} nats"), "test_nll_nats": ("test NLL", "{:.2f} nats"),
         "bits_per_dim": ("test NLL", "{:.3f} bits/dim"), "mmd": ("MMD²", "{:.4f}")}


def format_yardstick(yardstick: str, value: float | None) -> str:
    """A yardstick's value in its unit, e.g. "0.110 nats"; "—" when it was not measured."""
    return "—" if value is None else UNITS[yardstick][1].format(value)


@functools.cache
def read_measured(path: Path = MEASURED_PATH) -> dict:
    """The preset benchmark's file: {"groups": [one per family × kind, with its "candidates"]}."""
    return json.loads(Path(path).read_text()) if Path(path).exists() else {"groups": []}


def full_hparams(family: str, hparams: dict) -> dict:
    """Every hyper-parameter of `family`'s config: `hparams` over the defaults."""
    from genlab.models import family as family_class

    return family_class(family).config_class.build(**hparams).to_json()


def _setting_text(name: str, value) -> str:
    """One hyper-parameter as a settings note says it: "learning rate 0.001", "sampler ratio-critic rejection"."""
    return f"{name.replace('_', ' ')} {f'{value:g}' if isinstance(value, float) else value}"


def settings_note(family: str, view: str, hparams: dict) -> str:
    """A run's hyper-parameters in a few words, by what differs from where they could have started.

    "defaults" for the family's defaults; a preset's name for its settings (a run does not record how it was
    started, and the same settings are the same run); "Preset name, with learning rate 0.001" when a preset is
    nearer than the defaults; else the changed ones, "sampler ratio-critic rejection, r1 weight 0". Only the
    presets for `view`'s kind of data count; on a tie the defaults win.
    """
    from genlab.models import family as family_class

    names = [f.name for f in family_class(family).config_class.fields() if f.name in hparams]

    def changed(chosen: dict) -> list[str]:
        base = full_hparams(family, chosen)
        return [name for name in names if hparams[name] != base[name]]

    starts = [(None, {}), *((p.name, p.hparams) for p in presets_for(family, view_kind(view)))]
    start, differs = min(((start, changed(chosen)) for start, chosen in starts), key=lambda c: len(c[1]))
    words = ", ".join(_setting_text(name, hparams[name]) for name in differs)
    if start is None:
        return words or "defaults"
    return f"{start}, with {words}" if words else start


def measured(preset: Preset, data: dict | None = None) -> Measurement | None:
    """The benchmark's number for `preset`'s settings, matched by family, kind and hyper-parameters.

    None when the benchmark has not measured these exact settings (e.g. the preset changed
    since, or it is broken on purpose).
    """
    data = read_measured() if data is None else data
    group = next((g for g in data["groups"] if g["family"] == preset.family and g["kind"] == preset.kind), None)
    if group is None:
        return None
    wanted = full_hparams(preset.family, preset.hparams)
    row = next((c for c in group["candidates"] if c["hparams"] == wanted), None)
    defaults = next((c for c in group["candidates"] if c["role"] == "defaults"), None)
    if row is None or defaults is None:
        return None
    return Measurement(
        preset.family, preset.kind, group["dataset"], group["yardstick"], row["value"], defaults["value"],
        wanted == defaults["hparams"], row["winner"], len(group["candidates"]), group["seconds_budget"], group["seed"],
        group.get("repeats", 1), group["torch_threads"], group["date"],
    )


def measured_note(preset: Preset, data: dict | None = None) -> str | None:
    """One line for the Train page, e.g. "measured: KL 0.110 nats after 15 CPU-seconds vs 0.450 nats for
    the defaults (bench 2026-11-25, toy:8gaussians, 1 thread)", or None when the preset was not measured."""
    m = measured(preset, data)
    if m is None:
        return None
    label = UNITS[m.yardstick][0]
    seeds = f", mean of {m.repeats} seeds" if m.repeats > 1 else ""
    where = f"(bench {m.date}, {m.dataset}, {m.torch_threads} thread{'s' * (m.torch_threads != 1)}{seeds})"
    head = f"measured: {label} {format_yardstick(m.yardstick, m.value)} after {m.seconds_budget:g} CPU-seconds"
    versus = "; these are the defaults" if m.same_as_defaults else \
        f" vs {format_yardstick(m.yardstick, m.defaults_value)} for the defaults"
    best = f", best of {m.tried} settings tried" if m.winner and m.tried > 1 else ""
    return f"{head}{versus}{best} {where}"


def dataset_kind(ds: Dataset) -> str:
    """Which kind of preset fits `ds`: "toy", "image-binary" or "image-gray8"."""
    return "toy" if ds.is_toy else f"image-{ds.view}"


def view_kind(view: str) -> str:
    """Which kind of preset fits data in `view` ("continuous", "binary", "gray8"), as a run records it."""
    return "toy" if view == "continuous" else f"image-{view}"


def presets_for(family: str, kind: str) -> list[Preset]:
    """The presets for `family` on data of `kind`, working ones first, then those broken on purpose."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of data {kind!r}; choose one of {', '.join(KINDS)}.")
    found = [p for p in PRESETS if p.family == family and p.kind == kind]
    return sorted(found, key=lambda p: p.broken)
