"""The data sources `load_dataset` knows: each declared once, as data, in its own module, and registered by name.

A source module declares a `Source` and registers it, as a family file registers its class:

    def load_grid(request: Request) -> Dataset: ...   # builds the set for request.view and request.seed

    register(Source("toy:grid", "grid (2-D toy)", "toy", ("continuous",), offline=True, load=load_grid))

Every module of `genlab.data` is imported the first time the registry is asked, so adding a
source is one new module (or one declaration in an existing one) plus its test.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from genlab.data.base import Dataset

__all__ = ["KINDS", "Request", "Source", "register", "sources", "source_of"]

KINDS = {"toy": "a set of 2-D points", "image": "a set of images"}  # in the order sources are listed
SMALLEST_POINTS = 100  # training points a generated set is asked for at least: the trainer holds out a tenth


@dataclass(frozen=True)
class Request:
    """What a caller asked `load_dataset` for, handed whole to the source's loader.

    Arguments:
        name: the name as asked ("toy:moons", "folder:~/cats").
        view: one of the source's views (already checked).
        seed: fixes generated samples and every split.
        size: side of the square images made from your own images.
        root: the local folder of a set read from disk (torchvision's layout).
        download: let a local-folder set fetch its files when they are missing.
        points: training points of a generated set that takes a number (a source with
            `points`); None for its default.
    """

    name: str
    view: str
    seed: int = 0
    size: int = 28
    root: str | None = None
    download: bool = False
    points: int | None = None


@dataclass(frozen=True)
class Source:
    """One data source, declared as data.

    Arguments:
        name: the name `load_dataset` knows it by ("digits"); for a source named by a pattern,
            the pattern as people write it ("folder:PATH").
        title: its name for people ("Digits 8×8 (scikit-learn)"). A pattern's title holds one
            "{}", filled with `shown` of what follows the prefix: a name, never a path.
        kind: "toy" (2-D points) or "image"; see KINDS.
        views: the views it comes in, the default first.
        offline: True when it loads with no download and no local folder to fill.
        load: builds the Dataset for a Request.
        short: a short name for file names ("8gaussians"); the name itself when empty.
        prefix: for a pattern, the start every one of its names shares ("folder:"); else None.
        yours: made from what a person draws or uploads. `dataset_names` leaves it out: the app
            offers it its own way, and a script builds it from its own arguments.
        rebuild: for a set built from arguments a run records (`Dataset.source`), builds it again
            from them; None for a set its name and view rebuild.
        shown: for a pattern, the name people read for what follows the prefix (an upload names
            the files the visitor chose); None for its last part (a folder's or a file's name).
        points: for a generated set that takes a number of training points, the sizes the app
            offers, ascending, the default among them (`default_points`); a script may ask for any
            number up to the largest. Empty for a set whose size is fixed.
    """

    name: str
    title: str
    kind: str
    views: tuple[str, ...]
    offline: bool
    load: Callable[[Request], Dataset]
    short: str = ""
    prefix: str | None = None
    yours: bool = False
    rebuild: Callable[..., Dataset] | None = None
    shown: Callable[[str], str] | None = None
    points: tuple[int, ...] = ()
    default_points: int | None = None

    def __post_init__(self):
        if not self.short:
            object.__setattr__(self, "short", self.name)
        if self.kind not in KINDS:
            raise TypeError(f"{self.name}: kind must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        if not self.views:
            raise TypeError(f"{self.name} needs at least one view.")
        if self.points and self.default_points not in self.points:
            raise TypeError(f"{self.name}: default_points must be one of its points {self.points}.")

    def check_points(self, points: int | None) -> None:
        """A ValueError with a sentence unless `points` is None or a size this set can be generated at."""
        if points is None:
            return
        if not self.points:
            raise ValueError(f"{self.name} has a fixed number of training items; only the generated 2-D toys "
                             "take a number of training points.")
        if isinstance(points, bool) or not isinstance(points, int) or not SMALLEST_POINTS <= points <= max(self.points):
            raise ValueError(f"{self.name} takes {SMALLEST_POINTS} to {max(self.points):,} training points; "
                             f"got {points!r}.")

    def matches(self, name: str) -> bool:
        """True when `name` is this source's name, or one of its pattern's names."""
        return name.startswith(self.prefix) if self.prefix else name == self.name

    def title_of(self, name: str) -> str:
        """The title people read for `name`; a pattern's title names only the folder or file, not its path."""
        if not self.prefix:
            return self.title
        rest = name.removeprefix(self.prefix)
        return self.title.format((self.shown(rest) if self.shown else PurePath(rest).name) or "unnamed")

    def check_view(self, view: str) -> None:
        if view in self.views:
            return
        if len(self.views) == 1:
            raise ValueError(f"{self.name} is {KINDS[self.kind]}; its only view is {self.views[0]!r}, not {view!r}.")
        raise ValueError(f"{self.name} is {KINDS[self.kind]}; it comes in the views {' / '.join(self.views)}, "
                         f"not {view!r}.")


_REGISTRY: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Make a source available to `load_dataset` under `source.name`."""
    _REGISTRY[source.name] = source
    return source


@functools.cache  # the package's modules are found once per process, not at every page run
def _load_all() -> None:
    package = importlib.import_module("genlab.data")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "registry") and not info.name.startswith("_"):
            importlib.import_module(f"genlab.data.{info.name}")


def _listing_order(source: Source) -> tuple:
    """Toys before images; the lab's own sets before yours; offline sets before local folders."""
    return list(KINDS).index(source.kind), source.yours, not source.offline


def sources() -> list[Source]:
    """Every registered source, in the order the app lists them (declaration order within a group)."""
    _load_all()
    return sorted(_REGISTRY.values(), key=_listing_order)


def source_of(name: str) -> Source:
    """The source `name` belongs to, or a ValueError that lists the choices."""
    if not isinstance(name, str) or not name:
        raise ValueError("Dataset name must be a non-empty string, e.g. 'toy:moons' or 'digits'.")
    every = sources()
    for source in every:
        if source.matches(name):
            return source
    raise ValueError(f"Unknown dataset {name!r}; choose one of: {', '.join(s.name for s in every)}.")
