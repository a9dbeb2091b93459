"""Model families, one file each, registered by name."""
from __future__ import annotations

import functools
import importlib
import pkgutil

from genlab.data.base import DataSpec
from genlab.models.base import Capability, GenerativeModel, ModelConfig, hparam

__all__ = ["register", "create_model", "families", "family", "families_that", "GenerativeModel", "ModelConfig",
           "hparam", "fits"]

_REGISTRY: dict[str, type[GenerativeModel]] = {}


def register(cls: type[GenerativeModel]) -> type[GenerativeModel]:
    """Class decorator: make a family available to `create_model` under `cls.name`."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a registry name.")
    _REGISTRY[cls.name] = cls
    return cls


@functools.cache  # the package's modules are found once per process, not at every page run
def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def families() -> dict[str, type[GenerativeModel]]:
    """Every registered family, by name."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def families_that(capability: str) -> dict[str, type[GenerativeModel]]:
    """Families whose class answers `capability` ("encode", "steps", ...), found without building a model."""
    return {name: cls for name, cls in families().items() if Capability.of(cls, capability)}


def family(name: str) -> type[GenerativeModel]:
    all_families = families()
    if name not in all_families:
        raise ValueError(f"Unknown model family {name!r}; choose one of: {', '.join(all_families)}.")
    return all_families[name]


def fits(name: str, spec: DataSpec) -> str | None:
    """None if family `name` fits data with this spec, else a sentence saying why not."""
    cls = family(name)
    if spec.view not in cls.views:
        if spec.view == "continuous":
            return f"{cls.title} models images ({' / '.join(cls.views)} pixels), not points; pick another family."
        if cls.views == ("continuous",):
            return f"{cls.title} models 2-D points, not images; pick another family, or a toy data set."
        return (f"{cls.title} models {' / '.join(cls.views)} data, not the {spec.view} view; pick another family "
                "or view.")
    return cls.check_spec(spec)


def create_model(name: str, data, **hparams) -> GenerativeModel:
    """Build family `name` for a dataset (or a DataSpec) with hyper-parameters.

    Example:
        >>> model = create_model("realnvp", load_dataset("toy:moons"), num_layers=6)
    """
    cls = family(name)
    spec = data if isinstance(data, DataSpec) else data.spec
    reason = fits(name, spec)
    if reason:
        raise ValueError(reason)
    config = cls.config_class.build(**hparams)
    return cls(config, spec)
