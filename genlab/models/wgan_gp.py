"""Wasserstein GAN with gradient penalty: a critic estimates the earth mover's distance.

By Kantorovich–Rubinstein duality, W₁(p_data, p_θ) = sup over 1-Lipschitz f of
E_data[f(x)] − E_θ[f(x)]. The critic f (an MLP with no squashing) maximises that gap
while a penalty λ·E[(‖∇f(x̂)‖ − 1)²] at points x̂ on lines between data and samples
keeps it near 1-Lipschitz; the generator minimises −E_z[f(G(z))]. The critic takes
`critic_steps` steps (on the same data batch, fresh noise each) per generator step.

Charted: `wasserstein_estimate` = mean f(data) − mean f(samples) (the critic gap, a
lower estimate of W₁ measured in the critic's input coordinates: standardized
points, or pixels scaled to [−1, 1]) and `gradient_penalty` (before λ). As for the
GAN, log_prob_kind is None and the best weights are picked by the MMD² between
samples and held-out data.

References:
    Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017.
    Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from genlab.models import register
from genlab.models._noise import uniform
from genlab.models.base import hparam
from genlab.models.gan import Adversarial, AdversarialConfig

__all__ = ["WGANGP", "WGANGPConfig", "gradient_penalty"]


@dataclass
class WGANGPConfig(AdversarialConfig):
    learning_rate: float = hparam(3e-4, 1e-6, 1.0, "Adam step size of both players.", log=True)
    critic_steps: int = hparam(5, 1, 50, "Critic updates per generator update.")
    penalty_weight: float = hparam(1.0, 0.0, 1000.0, "λ, the weight of the gradient penalty (the paper used 10 "
                                   "on images and 0.1 on toys).", log=True)


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """mean (‖∇f(x̂)‖ − 1)² at x̂ = ε·real + (1 − ε)·fake, ε ~ U[0, 1] per item (differentiable in f)."""
    eps = uniform((len(real), 1), generator, real.device)
    between = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    return (grad.norm(dim=1) - 1).square().mean()


@register
class WGANGP(Adversarial):
    """WGAN-GP with MLP generator and critic (Gulrajani et al., 2017).

    Example:
        >>> model = create_model("wgan-gp", load_dataset("toy:8gaussians"), critic_steps=5)
        >>> model.fields(points)["critic"]     # f(x), the live heatmap
    """

    name = "wgan-gp"
    title = "WGAN-GP (generator vs. Lipschitz critic)"
    summary = (
        "A generator turns noise into points; a critic, kept smooth by a gradient penalty, scores data high and "
        "samples low. Its score gap estimates the Wasserstein (earth mover's) distance. No density, only samples."
    )
    config_class = WGANGPConfig
    critic_field = "critic"
    beta2 = 0.9

    def critic_loss(self, real, fake):
        gap = self.scores(real).mean() - self.scores(fake).mean()
        penalty = gradient_penalty(self.critic, real, fake)
        loss = -gap + self.config.penalty_weight * penalty
        return loss, {"critic_loss": loss, "wasserstein_estimate": gap, "gradient_penalty": penalty}

    def generator_loss(self, fake_scores):
        return -fake_scores.mean()
