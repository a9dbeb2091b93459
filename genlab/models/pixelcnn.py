"""PixelCNN: an autoregressive model of images built from masked convolutions.

The kernels are masked so that the output at a pixel sees only the pixels above it and
to its left (raster order): the first convolution (type A) excludes the centre pixel,
the following ones (type B) may use the centre of the feature maps, which already
exclude it. Residual blocks are gated, tanh(a) ⊙ σ(b), as in the Gated PixelCNN, or
plain ReLU, with dropout against overfitting on small data. Outputs are one Bernoulli
logit per pixel on binary data and a softmax over the grey levels on gray8. Trained by
maximum likelihood (forward KL(p_data‖p_θ)); log_prob_kind "exact".

Choices for small images on a CPU: the default first kernel (15×15) already reaches every
earlier pixel of an 8×8 image, which removes the single stack's blind spot there (on
28×28 some pixels up and to the right stay unseen; still an exact autoregressive
model); a learned per-position bias after the first layer lets the network know where
in the image it is, which matters for centred digits and adds C·H·W parameters.

References:
    van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural Networks", ICML 2016.
    van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu, "Conditional Image
    Generation with PixelCNN Decoders", NeurIPS 2016 (gated activations).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from genlab.models import register
from genlab.models._autoregressive import AutoregressiveModel
from genlab.models.base import ModelConfig, hparam

__all__ = ["PixelCNN", "PixelCNNConfig", "MaskedConv2d"]


@dataclass
class PixelCNNConfig(ModelConfig):
    """Hyper-parameters of PixelCNN, with defaults that fit 8×8 digits in 30 s on one CPU thread."""

    learning_rate: float = hparam(4e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(128, 1, 8192, "Examples per gradient step.")
    block: str = hparam("gated", help="Residual block: gated tanh·sigmoid units or plain ReLU.",
                        choices=("gated", "relu"))
    first_kernel: int = hparam(15, 3, 31, "Size of the first (type A) masked kernel; odd. "
                                          "15 sees every earlier pixel of an 8×8 image.")
    residual_blocks: int = hparam(2, 0, 32, "Residual blocks of 3×3 type-B masked convolutions.")
    dropout: float = hparam(0.3, 0.0, 0.9, "Dropout inside each residual block while training (against overfitting).")
    channels: int = hparam(24, 1, 512, "Feature maps in every layer.")

class MaskedConv2d(nn.Conv2d):
    """A same-size convolution whose kernel sees only rows above and the pixels to the left
    in the centre row; type "A" also hides the centre, type "B" keeps it."""

    def __init__(self, c_in: int, c_out: int, kernel: int, mask_type: str):
        super().__init__(c_in, c_out, kernel, padding=kernel // 2)
        centre = kernel // 2
        mask = torch.ones(1, 1, kernel, kernel)
        mask[..., centre, centre + (mask_type == "B"):] = 0
        mask[..., centre + 1:, :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class GatedBlock(nn.Module):
    """h + W₁ₓ₁ dropout(tanh(a) ⊙ σ(b)), with (a, b) from a 3×3 type-B masked convolution of h."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.conv = MaskedConv2d(channels, 2 * channels, 3, "B")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(h).chunk(2, 1)
        return h + self.out(self.dropout(torch.tanh(a) * torch.sigmoid(b)))


class ReluBlock(nn.Module):
    """h + W₁ₓ₁ dropout(ReLU(3×3 type-B masked convolution of ReLU(h)))."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.conv = MaskedConv2d(channels, channels, 3, "B")
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.out(self.dropout(F.relu(self.conv(F.relu(h)))))


BLOCKS = {"gated": GatedBlock, "relu": ReluBlock}


@register
class PixelCNN(AutoregressiveModel):
    """Masked convolutions (one type A, then type-B residual blocks) and a 1×1 head per pixel.

    Example:
        >>> model = create_model("pixelcnn", load_dataset("digits", view="gray8"), channels=48)
        >>> steps = model.sample_steps(8, max_frames=16)   # images filling in, pixel by pixel
    """

    name = "pixelcnn"
    title = "PixelCNN (masked convolutions)"
    summary = (
        "A convolutional network whose kernels are masked so each pixel is predicted from the pixels "
        "above and to its left. Exact log-likelihood, sampling one pixel at a time."
    )
    config_class = PixelCNNConfig
    views = ("binary", "gray8")
    network_pass_per_dimension = True  # one pass of the whole convolutional net per pixel drawn

    def __init__(self, config: PixelCNNConfig, spec):
        super().__init__(config, spec)
        if len(spec.shape) != 3 or spec.shape[0] != 1:
            raise ValueError(f"{self.title} models one-channel images of shape (1, H, W); got shape {spec.shape}.")
        if config.first_kernel % 2 == 0:
            raise ValueError(f"first_kernel must be odd so the mask has a centre; got {config.first_kernel}.")
        c = config.channels
        self.first = MaskedConv2d(1, c, config.first_kernel, "A")
        self.position = nn.Parameter(torch.zeros(c, *spec.shape[1:]))  # (C, H, W): where in the image, per feature
        self.blocks = nn.Sequential(*(BLOCKS[config.block](c, config.dropout) for _ in range(config.residual_blocks)))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, self.outputs, 1))

    def network(self, image: torch.Tensor, top: int = 0, left: int = 0) -> torch.Tensor:
        """Logits (N, K, h, w) of a window (N, 1, h, w) of scaled images whose corner is at (top, left),
        before the per-pixel output bias."""
        h, w = image.shape[-2:]
        return self.head(self.blocks(self.first(image) + self.position[:, top : top + h, left : left + w]))

    def flat_logits(self, x, mask=0):
        image = self.scaled_input(x).reshape(len(x), *self.spec.shape)  # (N, 1, H, W)
        out = self.network(image)  # (N, K, H, W)
        return out.reshape(len(x), self.outputs, -1).transpose(1, 2) + self.output_bias  # (N, D, K)

    @property
    def reach(self) -> int:
        """How many rows up (and columns either side) a pixel's logits can see: the receptive field."""
        return self.config.first_kernel // 2 + self.config.residual_blocks

    def next_logits_fn(self, choice):
        """Run the network on the window around pixel t that its logits can see, not on the whole image.

        Every layer is local and causal, so the logits at (r, c) depend only on rows r − reach..r
        and columns c − reach..c + reach; inside that window every activation on the way is
        exact. With the defaults (reach 9) a 28×28 image costs at most a 10×19 window per pixel
        instead of all 784 positions.
        """
        _, height, width = self.spec.shape
        reach = self.reach

        def next_logits(x, t, i):
            r, c = divmod(t, width)
            top, left, right = max(0, r - reach), max(0, c - reach), min(width, c + reach + 1)
            window = self.scaled_input(x).reshape(len(x), 1, height, width)[:, :, top : r + 1, left:right]
            return self.network(window, top, left)[:, :, r - top, c - left] + self.output_bias[t]  # (n, K)

        return next_logits
