"""The data sets the sidebar offers and their titles, each loaded once per server.

Your images load at the sidebar's size; "toy:drawn" is this session's drawn density.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

import genlab
from genlab.data import drawn
from genlab.data.base import Dataset

__all__ = ["DEFAULT_DATASET", "UPLOAD_CHOICE", "UPLOAD_SIZES", "DRAWN_KEY", "load_dataset", "drawn_blobs",
           "dataset_variant", "is_image_set", "dataset_title", "dataset_choices"]

DEFAULT_DATASET = "toy:8gaussians"

DATASET_TITLES = {
    "digits": "Digits 8×8 (scikit-learn)",
    "mnist5k": "MNIST 5k (bundled)",
    "mnist": "MNIST (local folder)",
    "fashion-mnist": "Fashion-MNIST (local folder)",
}
UPLOAD_CHOICE = "yours"  # the sidebar entry for your own images; the loaded set is named "folder:PATH"
UPLOAD_SIZES = (8, 16, 28)
DRAWN_KEY = "drawn_blobs"  # this session's drawn density: rows (x, y, weight, std)


@st.cache_resource(show_spinner="Loading the dataset…")
def _load_dataset(name: str, view: str, size: int) -> Dataset:
    return genlab.load_dataset(name, view=None if view == "continuous" else view, size=size)


@st.cache_resource(show_spinner="Sampling your drawn density…", max_entries=8)
def _load_drawn(blobs: tuple) -> Dataset:
    return drawn.drawn_dataset(blobs)


def drawn_blobs() -> tuple[tuple[float, ...], ...]:
    """This session's drawn density (a ring until something else is drawn)."""
    return tuple(map(tuple, st.session_state.get(DRAWN_KEY) or drawn.ring()))


def upload_size() -> int:
    return int(st.session_state.get("upload_size", UPLOAD_SIZES[1]))


def dataset_variant(name: str) -> tuple:
    """What besides (name, view) picks the data: the size of your images, the blobs of a drawn density."""
    if name == drawn.NAME:
        return drawn_blobs()
    return (upload_size(),) if name.startswith("folder:") else ()


def load_dataset(name: str, view: str) -> Dataset:
    """A dataset shared by every session; treat it as read-only.

    Your images load at the sidebar's size; "toy:drawn" is this session's drawn density.
    """
    if name == drawn.NAME:
        return _load_drawn(drawn_blobs())
    return _load_dataset(name, view, upload_size() if name.startswith("folder:") else 28)


def is_image_set(name: str) -> bool:
    return not name.startswith("toy:")


def dataset_title(name: str) -> str:
    if name == drawn.NAME:
        return "drawn by you (2-D)"
    if name == UPLOAD_CHOICE:
        return "Your images…"
    if name.startswith("folder:"):
        return f"your images ({Path(name.removeprefix('folder:')).name})"
    if name.startswith("toy:"):
        return f"{name.removeprefix('toy:')} (2-D toy)"
    return DATASET_TITLES.get(name, name)


def dataset_choices() -> list[str]:
    """The sidebar's data sets: GenLab's own, a density you draw (after the toys), your images (last)."""
    names = genlab.dataset_names()
    toys = [n for n in names if n.startswith("toy:")]
    return toys + [drawn.NAME] + [n for n in names if n not in toys] + [UPLOAD_CHOICE]
