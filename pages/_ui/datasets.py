"""The data sets the sidebar offers and their titles, each loaded once per server.

Your images load at the sidebar's size, a generated toy with the sidebar's number of training
points; "toy:drawn" is this session's drawn density.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

import genlab
from genlab.data import dataset_title as genlab_dataset_title
from genlab.data import drawn
from genlab.data import is_image_set as genlab_is_image_set
from genlab.data.base import Dataset
from genlab.data.registry import source_of, sources
from pages._ui.workspace import current_workspace

__all__ = ["DEFAULT_DATASET", "UPLOAD_CHOICE", "UPLOAD_SIZES", "DRAWN_KEY", "POINTS_KEY", "load_dataset",
           "drawn_blobs", "toy_points", "dataset_variant", "is_image_set", "dataset_title", "data_title",
           "dataset_choices", "points_note"]

DEFAULT_DATASET = "toy:8gaussians"

UPLOAD_CHOICE = "yours"  # the sidebar entry for your own images; the loaded set is named "folder:PATH"
UPLOAD_SIZES = (8, 16, 28)
DRAWN_KEY = "drawn_blobs"  # this session's drawn density: rows (x, y, weight, std)
POINTS_KEY = "toy_points"  # training points of a generated toy


@st.cache_resource(show_spinner="Loading the dataset…")
def _load_dataset(name: str, view: str, size: int) -> Dataset:
    return genlab.load_dataset(name, view=None if view == "continuous" else view, size=size)


# a million points are 24 MB with their labels: a few sizes of a few toys at a time per server
@st.cache_resource(show_spinner="Sampling the toy's points…", max_entries=8)
def _load_toy(name: str, points: int) -> Dataset:
    return genlab.load_dataset(name, points=points)


@st.cache_resource(show_spinner="Sampling your drawn density…", max_entries=8)
def _load_drawn(blobs: tuple) -> Dataset:
    return drawn.drawn_dataset(blobs)


def drawn_blobs() -> tuple[tuple[float, ...], ...]:
    """This session's drawn density (a ring until something else is drawn)."""
    return tuple(map(tuple, st.session_state.get(DRAWN_KEY) or drawn.ring()))


def upload_size() -> int:
    return int(st.session_state.get("upload_size", UPLOAD_SIZES[1]))


def toy_points(name: str) -> int | None:
    """The sidebar's number of training points for a generated toy; None for a set of fixed size."""
    source = source_of(name) if name != UPLOAD_CHOICE else None
    if source is None or not source.points:
        return None
    points = st.session_state.get(POINTS_KEY)
    return points if points in source.points else source.default_points


def dataset_variant(name: str) -> tuple:
    """What besides (name, view) picks the data: the size of your images, the blobs of a drawn density,
    the number of a toy's training points."""
    if name == drawn.NAME:
        return drawn_blobs()
    if (points := toy_points(name)) is not None:
        return (points,)
    return (upload_size(),) if _uploaded(name) else ()


def load_dataset(name: str, view: str) -> Dataset:
    """A dataset shared by every session; treat it as read-only.

    Your images load at the sidebar's size; "toy:drawn" is this session's drawn density.
    """
    if name == drawn.NAME:
        return _load_drawn(drawn_blobs())
    if _uploaded(name):
        _check_yours(name)
        return _load_dataset(name, view, upload_size())
    if (points := toy_points(name)) is not None and points != source_of(name).default_points:
        return _load_toy(name, points)
    return _load_dataset(name, view, 28)


def _check_yours(name: str) -> None:
    """Images from the web are read only inside this visitor's own uploads folder."""
    path = Path(name.split(":", 1)[1]).resolve()
    if not path.is_relative_to(current_workspace().uploads.resolve()):
        raise ValueError("Those images are not in your workspace; upload them again in the sidebar.")


def _uploaded(name: str) -> bool:
    """True for a set of images a visitor uploaded (its source is a pattern, "folder:PATH")."""
    return name != UPLOAD_CHOICE and source_of(name).prefix is not None


def is_image_set(name: str) -> bool:
    return name == UPLOAD_CHOICE or genlab_is_image_set(name)


def dataset_title(name: str) -> str:
    return "Your images…" if name == UPLOAD_CHOICE else genlab_dataset_title(name)


def data_title(dataset: str, view: str) -> str:
    """A data set and its view as people read it ("Digits 8×8 (scikit-learn), binary"); points have one view."""
    return dataset_title(dataset) + ("" if view == "continuous" else f", {view}")


def dataset_choices() -> list[str]:
    """The sidebar's data sets in the registry's order; your own images are one entry, last."""
    return [source.name for source in sources() if source.prefix is None] + [UPLOAD_CHOICE]


def points_note(ds: Dataset) -> str:
    """", 20,000 training points" after a set of points' title (its size is the learner's choice); "" for images."""
    return f", {len(ds.train):,} training points" if ds.view == "continuous" else ""
