"""How GenLab quotes a value it was given and refused: briefly (a link or a form can carry kilobytes)."""
from __future__ import annotations

__all__ = ["SHOWN_CHARACTERS", "shown"]

SHOWN_CHARACTERS = 40  # how much of a refused value a message repeats


def shown(value: object) -> str:
    """`value` quoted for a message: a string's first SHOWN_CHARACTERS characters as a Python literal, anything
    else its repr cut as long; "…" marks a cut."""
    if isinstance(value, str):
        return repr(value[:SHOWN_CHARACTERS]) + ("…" if len(value) > SHOWN_CHARACTERS else "")
    text = repr(value)
    return text[:SHOWN_CHARACTERS] + ("…" if len(text) > SHOWN_CHARACTERS else "")
