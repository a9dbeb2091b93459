"""The one way GenLab families draw random numbers: from a generator, on the model's device.

Every draw takes a `torch.Generator` (or None) and the device the numbers are for. The rule:

- With a generator, the numbers are drawn on the generator's own device, from its stream,
  and then moved to `device`. A `torch.Generator` is bound to one device and torch refuses
  to draw on another, so a CPU generator passed to a CUDA model still works, and the same
  seed gives the same draws on every device (the samples differ only by float rounding).
- Without one, the numbers come from torch's global stream on `device` itself.

Example:
    >>> z = standard_normal((n, d), generator, model.device)
"""
from __future__ import annotations

import torch

__all__ = ["categorical", "random_index", "source_device", "standard_normal", "uniform"]


def source_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Where numbers are drawn: the generator's device, or `device` when there is none."""
    return generator.device if generator is not None else torch.device(device)


def standard_normal(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """N(0, 1) noise of this shape on `device`."""
    return torch.randn(shape, generator=generator, device=source_device(generator, device)).to(device)


def uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """U[0, 1) noise of this shape on `device`."""
    return torch.rand(shape, generator=generator, device=source_device(generator, device)).to(device)


def random_index(high: int, shape: tuple[int, ...], generator: torch.Generator | None,
                 device: torch.device) -> torch.Tensor:
    """Whole numbers uniform in 0..high − 1 (long) of this shape on `device`."""
    source = source_device(generator, device)
    return torch.randint(high, shape, generator=generator, device=source).to(device)


def categorical(probs: torch.Tensor, n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """n indices drawn with replacement with probabilities `probs` (K,), shape (n,) long on `device`."""
    source = source_device(generator, device)
    return torch.multinomial(probs.to(source), n, replacement=True, generator=generator).to(device)
