"""Every run goes through app.py, even a deep link that is a fresh server's first request.

Why the workaround, and why the folder keeps its name: Streamlit (1.67) decides once per
server process, when the first session starts, whether the app uses its older automatic
multipage mode, by checking only whether a folder named `pages` sits beside the main script
(`PagesManager.uses_pages_directory`, no config option). Until some run calls st.navigation,
each run executes the page the URL names by itself, without app.py. Renaming the folder would
avoid it, but `pages/` is the name the product card promises; so a run that skipped app.py is
sent back through it here, with the page it asked for.
"""
from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlparse

import streamlit as st

__all__ = ["PAGES", "PAGE_PATH_KEY", "mark_entrypoint", "follow_deep_link", "through_entrypoint"]

PAGES = {"home": "pages/home.py", "data": "pages/data.py", "train": "pages/train.py", "density": "pages/density.py",
         "samples": "pages/samples.py", "latent": "pages/latent.py", "compare": "pages/compare.py",
         "concepts": "pages/concepts.py"}
ENTERED_KEY = "_entered_through_app"  # set by app.py on every run
DEEP_LINK_KEY = "_deep_link"  # a page asked for before app.py had run, and its query parameters
PAGE_PATH_KEY = "_page_path"  # the URL path of the page on screen, set by app.py


def mark_entrypoint() -> None:
    """Called by app.py: this run went through the entrypoint and its st.navigation."""
    st.session_state[ENTERED_KEY] = True


def follow_deep_link(page_path: str = "") -> None:
    """Called by app.py after st.navigation: open the page a first deep link asked for, with its query."""
    st.session_state[PAGE_PATH_KEY] = page_path
    page, query = st.session_state.pop(DEEP_LINK_KEY, None) or (None, {})
    if page:
        st.switch_page(page, query_params=query)


def through_entrypoint() -> None:
    """Send a run that skipped app.py back through it, keeping the page asked for.

    A deep link such as /train as a fresh server's first request runs pages/train.py
    alone, without app.py's navigation (see the module's docstring).
    """
    if st.session_state.get(ENTERED_KEY):
        return
    url_page = PurePosixPath(urlparse(st.context.url or "").path).name
    st.session_state[DEEP_LINK_KEY] = (PAGES.get(url_page), st.query_params.to_dict())
    st.switch_page("app.py", query_params=st.query_params.to_dict())
