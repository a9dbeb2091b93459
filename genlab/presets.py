"""Named starting points for each family × kind of data: settings, and a sentence on why.

Data, not code. A preset names only hyper-parameters of its family's config (a test
builds and trains every one). "Broken on purpose" presets show a known failure and say
what to look for on the Train page.

The kinds of data are "toy" (2-D points), "image-binary" and "image-gray8". A family
with no preset for a kind simply starts from its config's defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from genlab.data.base import Dataset

__all__ = ["Preset", "PRESETS", "KINDS", "dataset_kind", "presets_for"]

KINDS = ("toy", "image-binary", "image-gray8")


@dataclass(frozen=True)
class Preset:
    """Hyper-parameters for one family on one kind of data, and why they are set so.

    `look_for` is set on presets that are broken on purpose: the symptom to watch.
    """

    name: str
    family: str
    kind: str
    hparams: dict = field(default_factory=dict)
    why: str = ""
    look_for: str = ""

    @property
    def broken(self) -> bool:
        return bool(self.look_for)


PRESETS: tuple[Preset, ...] = (
    # ---- 2-D toys -----------------------------------------------------------------
    Preset("Many components", "gmm", "toy", {"num_components": 32, "covariance": "full", "learning_rate": 0.01},
           "A mixture bends around curved data only by tiling it with many small ellipses; 32 full-covariance "
           "components cover the toys, and gradient steps on the mixture weights need a fairly large step."),
    Preset("Too few components (broken on purpose)", "gmm", "toy", {"num_components": 2, "covariance": "full"},
           "Two Gaussians for eight (or more) clusters: the model can only spread each one over several modes.",
           look_for="Two wide blobs in the live density that cover the gaps between clusters; the KL curve "
                    "flattens well above zero however long it trains."),
    Preset("Deep affine flow", "realnvp", "toy",
           {"num_layers": 12, "hidden_units": 64, "hidden_layers": 2, "learning_rate": 0.002, "batch_size": 1024},
           "Each affine coupling layer can only shift and scale half of the coordinates, so bending a 2-D sheet "
           "into rings or spirals needs many layers stacked."),
    Preset("One coupling layer (broken on purpose)", "realnvp", "toy", {"num_layers": 1, "hidden_units": 64},
           "An under-parameterised flow: one affine layer moves only one coordinate, as an affine function of "
           "the other, so the density stays a warped Gaussian.",
           look_for="A single smeared blob on 8gaussians instead of eight peaks; KL stops falling early."),
    Preset("Few spline layers", "nsf", "toy",
           {"num_layers": 4, "hidden_units": 64, "num_bins": 8, "tail_bound": 4.0, "learning_rate": 0.001},
           "Fewer layers than RealNVP because each spline layer bends: a monotone rational-quadratic spline "
           "with 8 bins can split one mode into several within a single layer."),
    Preset("One spline layer", "nsf", "toy", {"num_layers": 1, "num_bins": 16},
           "Even one spline layer can carve several modes along one coordinate; compare it with one RealNVP "
           "layer to see what the splines add."),
    Preset("Small MLP diffusion", "ddpm", "toy",
           {"timesteps": 100, "hidden_units": 128, "hidden_layers": 3, "learning_rate": 0.001},
           "100 noise levels are enough for 2-D data, and a three-layer MLP learns the noise at each of them."),
    Preset("Short chains", "ebm", "toy", {"langevin_steps": 20, "step_size": 0.01, "hidden_units": 128},
           "Short Langevin chains restarted from a replay buffer keep each step cheap while the buffer carries "
           "samples across steps, so they mix over training."),
    Preset("R1-stabilised game", "gan", "toy",
           {"loss_type": "non-saturating", "r1_weight": 1.0, "learning_rate": 0.0002, "beta1": 0.5},
           "The non-saturating loss keeps the generator's gradient alive when D wins, and the R1 penalty damps "
           "the oscillations of the two-player game."),
    Preset("Minimax, no penalty (broken on purpose)", "gan", "toy",
           {"loss_type": "minimax", "r1_weight": 0.0, "learning_rate": 0.001, "beta1": 0.5},
           "The game's own value with a fast step and no damping: the generator's gradient vanishes once D "
           "rejects its samples, and it tends to settle on a few modes.",
           look_for="Mode collapse: samples bunched on one or two of the eight clusters, or hopping between "
                    "them from one picture to the next."),
    Preset("Gradient-penalised critic", "wgan-gp", "toy", {"critic_steps": 5, "penalty_weight": 1.0},
           "Five critic steps per generator step keep the critic close to its optimum, so its gradient is a "
           "useful direction for the generator."),
    Preset("Ridge", "gaussian", "toy", {"ridge": 1e-4},
           "A single Gaussian is the baseline: the closed-form fit any real model must beat."),
    Preset("Cross-validated bandwidth", "kde", "toy", {"max_points": 5000, "num_bandwidths": 16},
           "5,000 kernel centres and 16 bandwidths tried on held-out data: a strong non-parametric baseline in 2-D."),
    # ---- binary images ------------------------------------------------------------
    Preset("Standard VAE", "vae", "image-binary",
           {"latent_dim": 16, "hidden_units": 256, "hidden_layers": 2, "learning_rate": 0.001, "iw_samples": 16},
           "Sixteen latent dimensions are plenty for small digits; 16 importance samples make the reported "
           "bound tight enough to compare without slowing the held-out checks."),
    Preset("Latent plane", "vae", "image-binary", {"latent_dim": 2, "hidden_units": 256, "iw_samples": 16},
           "Two latent dimensions cost some likelihood but give a plane you can decode as a grid on the "
           "Latent page."),
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
           {"block": "gated", "channels": 24, "residual_blocks": 2, "dropout": 0.3},
           "Gated blocks without a blind spot; a small net with dropout because the images are few and tiny."),
    Preset("Two-scale Glow", "glow", "image-binary",
           {"num_scales": 2, "steps_per_scale": 4, "hidden_channels": 32, "learning_rate": 0.003},
           "Dequantised pixels through two scales of four flow steps: enough depth for 8×8 images on a CPU."),
    Preset("Mixture of Bernoullis", "bernoulli-mixture", "image-binary", {"num_components": 50},
           "Fifty prototypes fitted by EM: each one a blurred average of similar digits."),
    Preset("Independent pixels", "bernoulli", "image-binary", {"smoothing": 1.0},
           "One Bernoulli per pixel, the baseline every structured model must beat."),
    Preset("MLP GAN on images", "gan", "image-binary", {"latent_dim": 16, "hidden_units": 256, "r1_weight": 1.0},
           "A wider code and wider nets than on the toys, because images have many more dimensions to cover."),
    Preset("Small diffusion", "ddpm", "image-binary", {"timesteps": 100, "hidden_units": 256, "hidden_layers": 3},
           "An MLP denoiser over flattened pixels: enough for 8×8 images."),
    # ---- gray-level images ----------------------------------------------------------
    Preset("Logistic decoder", "vae", "image-gray8",
           {"latent_dim": 16, "gray_decoder": "logistic", "hidden_units": 256, "iw_samples": 16},
           "A discretised logistic per pixel knows that nearby grey levels are alike, so it needs far fewer "
           "parameters than a categorical decoder."),
    Preset("Categorical decoder", "vae", "image-gray8",
           {"latent_dim": 16, "gray_decoder": "categorical", "hidden_units": 256, "iw_samples": 16},
           "One probability per grey level and pixel: flexible, but it must learn from data that levels 7 and "
           "8 are close."),
    Preset("MADE over grey levels", "made", "image-gray8", {"num_masks": 4, "hidden_units": 512},
           "The same masked network, now predicting a grey level per pixel given the earlier ones."),
    Preset("Small gated PixelCNN", "pixelcnn", "image-gray8",
           {"block": "gated", "channels": 24, "residual_blocks": 2, "dropout": 0.3},
           "The gated PixelCNN again, with a categorical over grey levels at each pixel."),
    Preset("Two-scale Glow", "glow", "image-gray8", {"num_scales": 2, "steps_per_scale": 4, "hidden_channels": 32},
           "Uniform dequantisation turns grey levels into a continuous density a flow can model."),
    Preset("Affine flow on pixels", "realnvp", "image-gray8", {"num_layers": 8, "hidden_units": 256},
           "Couplings over flattened pixels: wider conditioners than on the toys because each sees half of "
           "the image."),
    Preset("Independent grey levels", "bernoulli", "image-gray8", {"smoothing": 1.0},
           "Independent pixels, the baseline every structured model must beat."),
)


def dataset_kind(ds: Dataset) -> str:
    """Which kind of preset fits `ds`: "toy", "image-binary" or "image-gray8"."""
    return "toy" if ds.is_toy else f"image-{ds.view}"


def presets_for(family: str, kind: str) -> list[Preset]:
    """The presets for `family` on data of `kind`, working ones first, then those broken on purpose."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of data {kind!r}; choose one of {', '.join(KINDS)}.")
    found = [p for p in PRESETS if p.family == family and p.kind == kind]
    return sorted(found, key=lambda p: p.broken)
