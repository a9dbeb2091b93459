"""The hosted configuration (GENLAB_HOSTED=1): a visitor sees a short reference, the server log the traceback.

Streamlit's own control flow (st.stop, st.rerun, st.switch_page) raises exceptions derived
from BaseException, not Exception, so they pass through `run_page` untouched. The hosted
configuration also sets `client.showErrorDetails` to "none", which covers what `run_page`
cannot wrap (a fragment's own reruns).
"""
from __future__ import annotations

import logging
import os
import secrets

import streamlit as st

__all__ = ["hosted", "run_page"]

log = logging.getLogger("genlab.app")


def hosted() -> bool:
    return os.environ.get("GENLAB_HOSTED") == "1"


def run_page(page) -> None:
    """Run the page; hosted, an unexpected error shows a reference and its traceback goes to the log."""
    if not hosted():
        page.run()
        return
    st.set_option("client.showErrorDetails", "none")
    try:
        page.run()
    except Exception:
        reference = secrets.token_hex(4).upper()
        log.exception("Page error, reference %s", reference)
        st.error(f"Something went wrong (reference {reference}). Reload the page; if it happens again, "
                 "tell whoever runs this server the reference.")
