"""Widgets whose value outlives the page, and the view's state in the URL's query (a shareable link).

A session opened from a link reads each query parameter once, the first time it shows
what that parameter sets; after that the URL only follows the widgets. A list (a multiselect's
choice) travels as its items joined by "~"; a switch as "true" or "false".
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

import streamlit as st

from genlab.data import drawn
from genlab.data.packed import unpack_pixels
from genlab.workspaces import is_token
from pages._ui.datasets import DRAWN_KEY, drawn_blobs
from pages._ui.routing import PAGE_PATH_KEY
from pages._ui.text import echoed, plain

__all__ = ["SHARE_BOX_KEY", "persistent", "linked_tabs", "share", "share_url", "share_box", "drawn_link", "clamp",
           "forget_unless", "link_on_first_sight", "not_in_link", "blobs_text", "blobs_from_text", "linked_pixels",
           "linked_flag", "LIST_SEPARATOR"]

LINKS_READ_KEY = "_links_read"  # query parameters this session has already taken its values from
SHARE_BOX_KEY = "_share_box"  # the sidebar's "share this view" placeholder of this run
LINK_ASKED_PREFIX = "_link_asked:"  # + a flag's link name: a link asked for that press, not yet made here
NOT_IN_LINK_KEY = "_not_in_link"  # what this run's view holds that its link cannot carry
SHOWN_TAB_PREFIX = "_shown_tab:"  # + a linked_tabs key: the tab last shown, which is also what the URL was given
LIST_SEPARATOR = "~"  # between the items of a list in a link (urlencode leaves it as it is)
SWITCH_TEXT = {True: "true", False: "false"}


def _remember(key: str) -> None:
    st.session_state[key] = st.session_state[f"_widget_{key}"]


def persistent(widget, label: str, key: str, default, link: str | None = None,
               link_format: Callable[[object], str] = str, **kwargs):
    """A widget whose value is kept under `key` in session state across pages.

    With `link`, the value also lives in the page's URL as the query parameter `link`
    (written as `link_format(value)`): a session opened from a shared link starts from it.
    """
    if key not in st.session_state:
        st.session_state[key] = default
    if link:
        _follow_link(link, key, default, link_format, kwargs)
    st.session_state[f"_widget_{key}"] = st.session_state[key]
    value = widget(label, key=f"_widget_{key}", on_change=_remember, args=(key,), **kwargs)
    if link:
        share(link, _as_text(value, link_format, LIST_SEPARATOR))
    return value


def linked_tabs(labels: Sequence[str], key: str) -> Sequence:
    """`st.tabs` whose open tab is kept under `key` in session state and in the URL's query parameter `key`.

    Not Streamlit's own `bind="query-params"`: with it, a tab clicked just after the page's first run was now and
    then missing from the server's query parameters, so the share box offered a link that opened the first tab.
    The URL is followed whenever it asks for a tab this page did not write itself (a shared link, or one of the
    Home page's links to a lesson, followed any number of times); leaving the page and coming back keeps the tab.
    """
    shown_key = f"{SHOWN_TAB_PREFIX}{key}"
    if st.session_state.get(key) not in labels:  # first visit, or the page was left (Streamlit dropped the widget)
        st.session_state[key] = st.session_state.get(shown_key, labels[0])
    raw = st.query_params.get(key)
    if raw is not None and raw != st.session_state.get(shown_key):  # a link asks for a tab
        if raw in labels:
            st.session_state[key] = raw
        else:
            st.warning(f"The link asks for {key} = {echoed(raw)}, which this page cannot show; showing "
                       f"{plain(st.session_state[key])} instead.")
    tabs = st.tabs(list(labels), key=key, on_change="rerun")
    st.session_state[shown_key] = st.session_state[key]
    share(key, st.session_state[key])
    return tabs


def _as_text(value, format_func: Callable[[object], str], separator: str) -> str:
    """A widget's value as text: a switch as true/false, a list's items joined by `separator`."""
    if isinstance(value, bool):
        return SWITCH_TEXT[value]
    if isinstance(value, (list, tuple)):
        return separator.join(str(format_func(item)) for item in value)
    return str(format_func(value))


def _from_link(raw: str, default, link_format: Callable[[object], str], kwargs: dict):
    """The widget value a link's text stands for, or None if the widget cannot show it."""
    if isinstance(default, bool):
        return next((value for value, text in SWITCH_TEXT.items() if text == raw.lower()), None)
    if isinstance(default, list):
        items = [_from_link(part, None, link_format, kwargs) for part in raw.split(LIST_SEPARATOR) if part]
        return None if None in items else list(dict.fromkeys(items))
    if "options" in kwargs:
        return next((option for option in kwargs["options"] if link_format(option) == raw), None)
    try:
        value = type(default)(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if (low is not None and value < low) or (high is not None and value > high):
        return None
    return value


def link_on_first_sight(link: str) -> str | None:
    """The URL's query parameter `link` the first time this session shows what it sets, else None.

    Later the URL only follows the widget: the query a session was opened with is read once.
    """
    read = st.session_state.setdefault(LINKS_READ_KEY, set())
    if link in read:
        return None
    read.add(link)
    return st.query_params.get(link)


def _follow_link(link: str, key: str, default, link_format: Callable[[object], str], kwargs: dict) -> None:
    """Take a widget's first value from the URL's query parameter `link`, if the session was opened with one."""
    raw = link_on_first_sight(link)
    if raw is None:
        return
    value = _from_link(raw, default, link_format, kwargs)
    if value is None:
        asked = f"a shared {link}" if is_token(raw) else f"{link} = {echoed(raw)}"
        shown = _as_text(st.session_state[key], kwargs.get("format_func", link_format), ", ") or "nothing"
        st.warning(f"The link asks for {asked}, which this page cannot show here (or you cannot open); showing "
                   f"{plain(shown)} instead.")
        return
    st.session_state[key] = value


def linked_flag(link: str, key: str, on: object) -> bool:
    """A press that stays pressed (a button that trains, whose result the view shows) in the link as `link`.

    `st.session_state[key]` holds `on` once pressed for the present settings. A link with `link=true` never
    presses it (a link must not make a stranger's session train): the page says the shared view had it
    pressed, and the visitor presses the button. Returns whether it is pressed, and writes that into the link
    (`true` also while a link's ask is waiting for that press).
    """
    asked_key = f"{LINK_ASKED_PREFIX}{link}"
    raw = link_on_first_sight(link)
    if raw is not None and raw.lower() != SWITCH_TEXT[False]:
        if raw.lower() == SWITCH_TEXT[True]:
            st.session_state[asked_key] = True
        else:
            st.warning(f"The link asks for {link} = {echoed(raw)}, which is neither true nor false; "
                       "showing the page without it.")
    pressed = st.session_state.get(key) == on
    if pressed:
        st.session_state.pop(asked_key, None)
    elif st.session_state.get(asked_key):
        st.info("The shared view had this trained or fitted. A link never starts training by itself: press the "
                "button to do it here, with the settings the link carries.", icon=":material/link:")
    share(link, SWITCH_TEXT[pressed or bool(st.session_state.get(asked_key))])
    return pressed


def blobs_text(rows) -> str:
    """Blobs (x, y, weight, std) as a link writes them: "x,y,weight,std;…"."""
    return ";".join(",".join(f"{v:.6g}" for v in blob) for blob in rows)


def blobs_from_text(raw: str) -> list[tuple[float, ...]]:
    """The checked blobs a link's text stands for; ValueError, in a sentence, if it stands for none."""
    return drawn.check_blobs([row.split(",") for row in raw.split(";")])


def drawn_link() -> None:
    """A drawn density travels in the link as its blobs, "x,y,weight,std;…"."""
    raw = link_on_first_sight("blobs")
    if raw:
        try:
            st.session_state[DRAWN_KEY] = blobs_from_text(raw)
        except ValueError as exc:
            st.warning(f"The link's drawn density cannot be used ({plain(exc)}); showing the one drawn here instead.")
    share("blobs", blobs_text(drawn_blobs()))


def linked_pixels(link: str, key: str, ds):
    """An image drawn here, as a link carries it (its pixels, packed): read once into `st.session_state[key]`.

    Returns the image the link brought, if it fits `ds`'s shape, else None; a broken one warns.
    """
    raw = link_on_first_sight(link)
    if raw:
        try:
            st.session_state[key] = unpack_pixels(raw, ds.shape, ds.levels)
        except ValueError as exc:
            st.warning(f"The link's drawing cannot be shown here ({plain(exc)}); draw one instead.")
    linked = st.session_state.get(key)
    return linked if linked is not None and tuple(linked.shape) == tuple(ds.shape) else None


def share(link: str, text: str) -> None:
    """Put one piece of view state into the URL (and the sidebar's share box)."""
    if st.query_params.get(link) != text:
        st.query_params[link] = text
    _redraw_box()


def not_in_link(what: str) -> None:
    """Name in the share box a part of the view that cannot travel in a link (an upload)."""
    st.session_state.setdefault(NOT_IN_LINK_KEY, []).append(what)
    _redraw_box()


def _in_fragment() -> bool:
    """Whether this code runs inside a fragment's rerun (Streamlit 1.67 keeps that in a per-thread state)."""
    try:
        from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState
    except ImportError:  # another Streamlit: assume a full run
        return False
    return ThreadState.get().fragment_id is not None


def _redraw_box() -> None:
    box = st.session_state.get(SHARE_BOX_KEY)
    # A fragment (the Train page's live panel) must not write into the sidebar, a container made outside it:
    # Streamlit then raised StreamlitInvalidLayoutContextError, or the browser got a delta for a path it did
    # not have ("Cannot set a node at a delta path") and the page went blank. The URL still follows; the box
    # catches up at the next full run.
    if box is None or _in_fragment():
        return
    with box.container():
        st.code(share_url(), language=None, wrap_lines=True)
        for what in st.session_state.get(NOT_IN_LINK_KEY, []):
            st.caption(f"Not in the link: {what}.")


def share_url() -> str:
    """The link to this view: the app's address, the page and the query."""
    page = st.session_state.get(PAGE_PATH_KEY, "")
    base = (st.context.url or "").rstrip("/").removesuffix(f"/{page}" if page else "")  # the app's own address
    query = urlencode(st.query_params.to_dict())
    return f"{base}/{page}" + (f"?{query}" if query else "")


def share_box() -> None:
    """The sidebar's "share this view" box; `share` rewrites it whenever the view changes."""
    with st.expander("Share this view", icon=":material/link:"):
        st.caption("This link opens the same page, data, run and settings (the same samples for the same "
                   "seed) in any browser that reaches this server.")
        st.session_state[SHARE_BOX_KEY] = st.empty()
        st.session_state[NOT_IN_LINK_KEY] = []
        _redraw_box()


def clamp(key: str, default: int, high: int, low: int = 1) -> None:
    """Keep a number widget's stored value within [low, high] (its range can shrink with the data or run)."""
    st.session_state[key] = min(max(st.session_state.get(key, default), low), high)


def forget_unless(key: str, options) -> None:
    """Drop a widget's stored choice when another run or data set no longer offers it."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
