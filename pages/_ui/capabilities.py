"""What a family answers (a density, samples, a latent space), read from its class, for pickers' labels."""
from __future__ import annotations

from genlab import queries
from genlab.data.base import DataSpec
from genlab.models.base import Capability, GenerativeModel

__all__ = ["short_title", "family_label", "answers_all", "default_family"]

DENSITY_WORDS = {"exact": "density: exact", "lower_bound": "density: bound", "estimate": "density: estimate",
                 "unnormalized": "density: unnormalised", None: "no density"}
SCORED = ("exact", "lower_bound", "estimate")  # a density kind that puts a number on log p_θ(x)


def short_title(cls: type[GenerativeModel]) -> str:
    """The family's title without its parenthesis: "VAE (variational autoencoder)" -> "VAE"."""
    return cls.title.split(" (")[0]


def _density_kind(cls: type[GenerativeModel], view: str) -> str | None:
    return cls.log_prob_kind_on(view) if Capability.of(cls, Capability.DENSITY) else None


def family_label(cls: type[GenerativeModel], view: str) -> str:
    """A short picker label naming what the family answers: "VAE — density: bound · samples · latent"."""
    kind = _density_kind(cls, view)
    parts = [DENSITY_WORDS.get(kind, f"density: {kind}")]
    if Capability.of(cls, Capability.SAMPLE):
        parts.append("samples")
    if Capability.of(cls, Capability.ENCODE):
        parts.append("latent")
    return f"{short_title(cls)} — {' · '.join(parts)}"


def answers_all(cls: type[GenerativeModel], view: str) -> bool:
    """Whether the family scores an input, draws samples and encodes: all three questions of the app."""
    return (_density_kind(cls, view) in SCORED and Capability.of(cls, Capability.SAMPLE)
            and Capability.of(cls, Capability.ENCODE))


def default_family(fitting: dict[str, type[GenerativeModel]], spec: DataSpec) -> str:
    """The family a picker starts on: one that answers all three questions, one that decodes its latent first."""
    order = [name for name, _, _ in queries.latent_families(spec)] + list(fitting)
    return next((name for name in order if name in fitting and answers_all(fitting[name], spec.view)),
                next(iter(fitting)))
