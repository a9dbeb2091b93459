"""Showing what a visitor sent (a link's value, a file name, an upload's message) as text, never as markdown.

Streamlit renders st.error, st.warning, st.info, st.caption and st.markdown as markdown: a
value from a link could otherwise show a clickable link, load an image from another host or
typeset as LaTeX. `plain` escapes every ASCII punctuation mark (CommonMark lets each be
escaped), so no markdown construct, autolink or formula can start inside the value.
"""
from __future__ import annotations

import re

__all__ = ["plain"]

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")


def plain(value: object) -> str:
    """`value` as text markdown shows literally (line breaks kept)."""
    return _PUNCTUATION.sub(r"\\\1", str(value)).replace("\n", "  \n")
