"""MADE: the masked autoencoder for distribution estimation.

An MLP from the D pixels to D per-pixel outputs whose weight matrices are multiplied by
binary masks, so that output i sees only the pixels before i in an ordering: each
hidden unit gets a degree m(k), and a connection is kept only when degrees allow it
(m(k) ≥ m(j) into a hidden unit, m(i) > m(k) into output i). Outputs are one Bernoulli
logit per pixel on binary data and a softmax over the grey levels on gray8.

With num_masks = M > 1, mask 0 keeps the raster order and masks 1..M−1 draw a random
ordering and shuffle the hidden degrees (order- and connectivity-agnostic training): each
gradient step uses the next mask in turn. At evaluation the model is the *average of
probabilities* over masks, p(x) = (1/M) Σ_m p_m(x), an exact normalised mixture whose
log-likelihood is a log-sum-exp over masks; a sample picks a mask uniformly and draws
in its ordering. Training minimises the mean over masks of −log p_m(x), an upper bound
on the mixture's NLL (equal to the NLL when M = 1). log_prob_kind "exact".

References:
    Germain, Gregor, Murray & Larochelle, "MADE: Masked Autoencoder for Distribution
    Estimation", ICML 2015.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from genlab.models import register
from genlab.models._autoregressive import AutoregressiveModel, mixture_pixel_log_prob, pixel_log_prob_from_logits
from genlab.models._noise import random_index
from genlab.models.base import ModelConfig, hparam

__all__ = ["MADE", "MADEConfig", "made_degrees"]


@dataclass
class MADEConfig(ModelConfig):
    """Hyper-parameters of MADE, with defaults that fit 8×8 digits in 30 s on one CPU thread."""

    learning_rate: float = hparam(2e-3, 1e-5, 1.0, "Adam step size.", log=True)
    batch_size: int = hparam(128, 1, 8192, "Examples per gradient step.")
    num_masks: int = hparam(8, 1, 64, "Orderings/connectivity masks, one per step in turn; averaged at evaluation.")
    hidden_layers: int = hparam(1, 1, 6, "Masked hidden layers.")
    hidden_units: int = hparam(512, 1, 4096, "Units in each hidden layer.")

def made_degrees(order: torch.Tensor, hidden_units: int, hidden_layers: int,
                 generator: torch.Generator | None) -> list[torch.Tensor]:
    """Degrees of the inputs (1..D: a pixel's position in `order`) and of each hidden layer.

    A hidden layer's degrees spread evenly over [lowest degree of the layer below, D − 1], so
    every unit has an input, feeds an output, and every output has units to read; with a
    generator they are shuffled over the units (connectivity-agnostic masks share weights,
    so which unit gets which degree matters), without one they rise with the unit index.
    """
    d = len(order)
    top = max(d - 1, 1)
    degrees = [torch.empty(d, dtype=torch.long).scatter_(0, order, torch.arange(1, d + 1))]
    for _ in range(hidden_layers):
        low = min(int(degrees[-1].min()), top)
        spread = low + torch.arange(hidden_units) * (top - low + 1) // hidden_units  # (H,)
        degrees.append(spread if generator is None else spread[torch.randperm(hidden_units, generator=generator)])
    return degrees


@register
class MADE(AutoregressiveModel):
    """A masked MLP giving every pixel's conditional in one pass; optionally an ensemble of masks.

    Example:
        >>> model = create_model("made", load_dataset("digits", view="gray8"), num_masks=4)
        >>> model.log_prob(ds.test)               # exact mixture log-likelihood, nats
    """

    name = "made"
    title = "MADE (masked autoencoder)"
    summary = (
        "A neural network whose connections are masked so each pixel's prediction sees only the pixels "
        "before it: every conditional in one pass. Exact log-likelihood; several orderings can be averaged."
    )
    config_class = MADEConfig
    views = ("binary", "gray8")
    objective = "NLL (nats) under one mask per step: an upper bound on the mask mixture's NLL (equal with one mask)"

    def __init__(self, config: MADEConfig, spec):
        super().__init__(config, spec, num_orders=config.num_masks)
        d, h, k = spec.dim, config.hidden_units, self.outputs
        sizes = [d] + [h] * config.hidden_layers + [d * k]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        hidden_degrees = []
        for m in range(config.num_masks):
            generator = None  # mask 0: raster order, degrees rising with the unit index
            if m > 0:
                generator = torch.Generator().manual_seed(m)
                self.orders[m] = torch.randperm(d, generator=generator)
            hidden_degrees.append(torch.stack(made_degrees(self.orders[m], h, config.hidden_layers, generator)[1:]))
        self.register_buffer("hidden_degrees", torch.stack(hidden_degrees))  # (M, layers, H)
        self.next_mask = 0  # which mask the next training step uses

    def connectivity(self, mask: int) -> list[torch.Tensor]:
        """The masks of every layer under ordering/mask `mask`, as float (out, in) matrices."""
        order = self.orders[mask]
        inputs = torch.empty_like(order).scatter_(0, order, torch.arange(1, len(order) + 1, device=order.device))
        degrees = [inputs, *self.hidden_degrees[mask]]
        masks = [later[:, None] >= earlier[None, :] for earlier, later in zip(degrees[:-1], degrees[1:])]  # (H, in)
        out = inputs[:, None] > degrees[-1][None, :]  # (D, H): output i reads degrees below m(i)
        return [m.float() for m in masks] + [out.repeat_interleave(self.outputs, dim=0).float()]  # last: (D·K, H)

    def masked_weights(self, mask: int) -> list[torch.Tensor]:
        """Every layer's weight matrix times its mask under ordering/mask `mask`."""
        return [layer.weight * m for layer, m in zip(self.layers, self.connectivity(mask))]

    def hidden(self, x: torch.Tensor, mask: int = 0) -> torch.Tensor:
        """The last hidden layer's activations (N, H) under mask `mask`."""
        return self._hidden(x, self.masked_weights(mask))

    def _hidden(self, x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
        h = self.scaled_input(x)
        for layer, weight in zip(self.layers[:-1], weights):
            h = F.relu(F.linear(h, weight, layer.bias))
        return h

    def _logits(self, x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
        out = F.linear(self._hidden(x, weights), weights[-1], self.layers[-1].bias)
        return out.reshape(len(x), self.spec.dim, self.outputs) + self.output_bias  # (N, D, K)

    def flat_logits(self, x, mask=0):
        return self._logits(x, self.masked_weights(mask))

    def component_pixel_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """log p_m(x_i | x before i in ordering m) for every mask: flat y (N, D) -> (N, M, D)."""
        return torch.stack([pixel_log_prob_from_logits(self.flat_logits(y, m), y) for m in range(len(self.orders))], 1)

    def log_weights(self) -> torch.Tensor:
        m = len(self.orders)
        return torch.full((m,), -math.log(m), device=self.device)

    def log_prob(self, x):
        """log (1/M) Σ_m p_m(x): the exact mixture over masks (plain MADE when M = 1)."""
        per_mask = self.component_pixel_log_prob(self.flat(x)).sum(-1)  # (N, M)
        return torch.logsumexp(per_mask + self.log_weights(), 1)

    def pixel_log_prob(self, x):
        """Per-pixel log p, (N, *shape), summing to log_prob(x).

        With one mask these are the conditionals log p(x_i | x_<i); with several, each mask's
        conditionals weighted by its posterior responsibility for x, plus −KL(responsibilities‖uniform)
        spread evenly over pixels (see `mixture_pixel_log_prob`).
        """
        split = mixture_pixel_log_prob(self.component_pixel_log_prob(self.flat(x)), self.log_weights())
        return split.reshape(len(x), *self.spec.shape)

    def loss(self, batch):
        """Training: NLL under the next mask in turn. Evaluation: NLL of the mixture over masks."""
        if not self.training:
            return super().loss(batch)
        m, self.next_mask = self.next_mask, (self.next_mask + 1) % len(self.orders)
        y = self.flat(batch)
        nll = -pixel_log_prob_from_logits(self.flat_logits(y, m), y).sum(1).mean()
        return {"loss": nll, "nll_nats": nll.detach()}

    def choose_orders(self, n, generator):
        if len(self.orders) == 1:
            return super().choose_orders(n, generator)
        return random_index(len(self.orders), (n,), generator, self.device)

    def next_logits_fn(self, choice):
        """Each sample's pixel under its own mask: one pass per mask in use, over that mask's samples,
        with the masked weights built once for the whole drawing."""
        groups = [(self.masked_weights(m), choice == m) for m in choice.unique().tolist()]

        def next_logits(x, t, i):
            out = x.new_empty(len(x), self.outputs)
            for weights, group in groups:
                logits = self._logits(x[group], weights)  # (n_m, D, K)
                out[group] = logits[torch.arange(len(logits), device=x.device), i[group]]
            return out

        return next_logits

    def encode(self, x):
        """The last hidden layer's activations under the first mask: shape (N, hidden_units)."""
        return self.hidden(self.flat(x), 0)
