"""The start every data page shares: the sidebar, the page's title, a loaded data set, and a run."""
from __future__ import annotations

import streamlit as st

from pages._ui.runs import LoadedRun, pick_run
from pages._ui.sidebar import Selection, sidebar

__all__ = ["open_page"]


def open_page(title: str, purpose: str, question: str | None = None, live: bool = False,
              needs: str | None = None) -> tuple[Selection, LoadedRun | None]:
    """Draw the sidebar and the title; stop the page unless its data set loads.

    Arguments:
        title: the page's title.
        purpose: what the page does with the data, ending "Pick a data set that loads (sidebar) to …".
        question: what the page asks a trained run ("for new samples"); with it, the run picker
            follows, and stops the page when no run on this data exists yet.
        live: the page redraws this session's job itself (pages/_ui/live.py), so the sidebar's status
            does not tick.
        needs: the capability the page asks of a run ("encode", ...): where no run is picked yet, the
            picker opens on the newest run that has it.

    Returns:
        The sidebar's selection (its data set loaded) and the picked run, or None without `question`.
    """
    selection = sidebar(page_ticks=live)
    st.title(title)
    if selection.ds is None:
        st.info(f"Pick a data set that loads (sidebar) to {purpose}.")
        st.stop()
    return selection, pick_run(selection, question, needs) if question else None
