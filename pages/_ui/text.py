"""Showing what a visitor sent (a link's value, a file name, an upload's message) as text, never as markdown.

Streamlit renders st.error, st.warning, st.info, st.caption and st.markdown as markdown: a
value from a link could otherwise show a clickable link, load an image from another host or
typeset as LaTeX. `plain` puts the value on one line (so it never starts a heading, list or
quote) and backslash-escapes every mark that opens a construct inside a line: links and
images, emphasis, code, HTML, formulas, tables. Escapes do not stop the autolinks of GitHub
markdown (found in the text after escapes are resolved), so a zero-width space goes after
"://", "www" and "@": the text reads the same and links nowhere.
"""
from __future__ import annotations

import re

from genlab.text import shown

__all__ = ["plain", "echoed"]

_OPENERS = re.compile(r"([\\`*_~\[\]()!<>&$|{}:])")
_AUTOLINKS = re.compile(r"(://|www|@)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


def echoed(raw: str) -> str:
    """A value a link asked for, quoted for a warning as `genlab.text.shown` quotes it, as plain text."""
    return plain(shown(raw))


def plain(value: object) -> str:
    """`value` as text markdown shows literally, on one line."""
    text = _OPENERS.sub(r"\\\1", " ".join(str(value).split()))
    return _AUTOLINKS.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, text)
