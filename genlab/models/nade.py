"""NADE: the neural autoregressive distribution estimator.

p(x) = Π_i Bernoulli(x_i; σ(b_i + V_i · h_i)) with h_i = σ(c + W_{:,<i} x_{<i}) in raster
order. All conditionals share the hidden weights W, so the pre-activations follow a
running sum a_{i+1} = a_i + W_{:,i} x_i and the whole likelihood costs O(HD) (a cumulative
sum over pixels here; an incremental update when sampling). Trained by maximum
likelihood (forward KL(p_data‖p_θ)); log_prob_kind "exact". Binary view only.

References:
    Larochelle & Murray, "The Neural Autoregressive Distribution Estimator", AISTATS 2011.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from genlab.models import register
from genlab.models._autoregressive import AutoregressiveModel
from genlab.models.base import ModelConfig, hparam

__all__ = ["NADE", "NADEConfig"]


@dataclass
class NADEConfig(ModelConfig):
    """Hyper-parameters of NADE, with defaults that fit 8×8 digits in 30 s on one CPU thread."""

    learning_rate: float = hparam(7e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(128, 1, 8192, "Examples per gradient step.")
    hidden_units: int = hparam(96, 1, 2048, "H: hidden units shared by every pixel's conditional.")


@register
class NADE(AutoregressiveModel):
    """NADE with shared hidden weights and the O(HD) running activation.

    Example:
        >>> model = create_model("nade", load_dataset("digits"), hidden_units=128)
        >>> features = model.encode(ds.test)      # (N, H) hidden units after the last pixel
    """

    name = "nade"
    title = "NADE (neural autoregressive density estimator)"
    summary = (
        "Each pixel's probability comes from a hidden layer over the pixels before it; the hidden "
        "weights are shared, so all D conditionals cost one pass. Exact log-likelihood."
    )
    config_class = NADEConfig

    def __init__(self, config: NADEConfig, spec):
        super().__init__(config, spec)
        d, h = spec.dim, config.hidden_units
        self.W = nn.Parameter(torch.randn(h, d) / d**0.5)  # input -> hidden, shared over pixels
        self.c = nn.Parameter(torch.zeros(h))
        self.V = nn.Parameter(torch.randn(d, h) / h**0.5)  # hidden -> pixel i's logit

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h_i = σ(c + Σ_{j<i} W_{:,j} x_j) for every pixel i: (N, D) -> (N, D, H)."""
        previous = F.pad(x[:, :-1], (1, 0))  # (N, D): x_{i−1}, 0 for the first pixel
        previous_w = F.pad(self.W[:, :-1], (1, 0))  # (H, D): W_{:,i−1}
        running = (previous.unsqueeze(-1) * previous_w.T).cumsum(1)  # (N, D, H): Σ_{j<i} W_{:,j} x_j
        return torch.sigmoid(self.c + running)

    def flat_logits(self, x, mask=0):
        return (self.hidden(x) * self.V).sum(-1, keepdim=True) + self.output_bias  # (N, D, 1)

    def next_logits_fn(self, choice):
        """The O(H) update per pixel: carry a = c + Σ_{j<i} W_{:,j} x_j from one pixel to the next."""
        state = {"a": self.c.expand(len(choice), -1)}

        def next_logits(x, t, i):  # raster order: pixel t comes at step t
            if t > 0:
                state["a"] = state["a"] + x[:, t - 1 : t] * self.W[:, t - 1]
            return torch.sigmoid(state["a"]) @ self.V[t].unsqueeze(-1) + self.output_bias[t]  # (n, 1)

        return next_logits

    def encode(self, x):
        """Hidden units after reading every pixel, σ(c + W x): shape (N, H)."""
        return torch.sigmoid(self.c + self.flat(x) @ self.W.T)
