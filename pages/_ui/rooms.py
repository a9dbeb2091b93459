"""The room board, Compare's second view: a teacher opens a room, the class joins it by its code and
publishes runs to it, and the board ranks them live on the shared yardsticks.

What a visitor sees of someone else's run: the display name they typed (always as text), the family,
the data and the numbers; never a folder, a path or a workspace id.
"""
from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import streamlit as st

import genlab
from genlab import figures, leaderboard
from genlab.rooms import MAX_NAME, RoomStore, normalise_code
from genlab.runs import default_runs_root
from genlab.workspaces import Workspace
from pages._ui.datasets import data_title
from pages._ui.links import persistent, share_url
from pages._ui.routing import PAGES
from pages._ui.workspace import current_workspace, stores

__all__ = ["SAVED", "ROOM", "compare_view", "show_room_view", "room_section", "room_code"]

VIEW_KEY, SAVED, ROOM = "compare_view", "Saved runs", "Room"
CODE_KEY = "room_code"  # what the join box holds: a code or a join link, as typed
MESSAGE_KEY = "_room_message"  # the outcome of the last publish or withdraw: (kind, text)
BOARD_SECONDS = 5  # the board refreshes this often; one constant, so the fragment is the same in every run
NO_ROOM = "There is no room with that code here; check the code on the projector."
FROM_LOG_P = {"kl_nats", "test_nll_nats", "bits_per_dim"}  # yardsticks got from the model's log p
# How a rank on one of those is marked when the run's log p is not exact.
NOT_EXACT = {"lower_bound": "bound", "estimate": "estimate", "unnormalized": "unnormalised", "—": "no log p"}


def _rooms() -> RoomStore:
    return stores()[1]


@st.cache_data(ttl=BOARD_SECONDS / 2, show_spinner=False, max_entries=256)
def _board_rows(root: str, code: str) -> list[dict]:
    """A room's published runs, read at most twice a refresh period however many visitors watch it."""
    return _rooms().board(code)


def room_code(text: str) -> str | None:
    """The room a visitor typed: its code ("k7m 2q") or its join link ("…/compare?room=K7M2Q"); else None."""
    if "room=" in text:
        text = parse_qs(urlsplit(text.strip()).query).get("room", [""])[0]
    return normalise_code(text)


def join_link(code: str) -> str:
    """This app's Compare page with only the room in its query: the link to hand round."""
    return urlunsplit(urlsplit(share_url())._replace(query=urlencode({"room": code})))


def compare_view() -> str:
    """Compare's switch between the saved runs and the room board; a join link (?room=) opens the board."""
    return persistent(st.radio, "Show", key=VIEW_KEY, default=ROOM if "room" in st.query_params else SAVED,
                      options=(SAVED, ROOM), format_func={SAVED: "Saved runs", ROOM: "Room board"}.get,
                      horizontal=True, label_visibility="collapsed")


def show_room_view() -> None:
    """Make Compare open on a room this visitor opened (Home's "Teaching? Open a room"): theirs, else a new one."""
    st.session_state[VIEW_KEY] = ROOM
    code = room_code(st.session_state.get(CODE_KEY, ""))
    if code is None or not _rooms().exists(code) or not _rooms().is_owner(code, current_workspace()):
        _open_room()


def room_section() -> None:
    """The room view: join or open a room; once in one, its code, the publish panel and the live board."""
    code = _join_box()
    if code is None:
        return
    space = current_workspace()
    owner = _rooms().is_owner(code, space)
    _room_header(code, owner)
    if owner:  # the teacher watches the board: it comes first, their own publishing after
        _board(code, space.id)
        _publish_panel(code, space)
    else:
        _publish_panel(code, space)
        _board(code, space.id)


def _open_room() -> None:
    st.session_state[CODE_KEY] = _rooms().create(current_workspace())


def _join_box() -> str | None:
    """The room this session is in (a code or link typed, or a room just opened), or None."""
    typed, opened = st.columns([3, 1], vertical_alignment="bottom")
    with typed:
        text = persistent(st.text_input, "Room code, or the room's link", key=CODE_KEY, default="", link="room",
                          link_format=lambda value: room_code(value) or "", placeholder="e.g. K7M2Q")
    opened.button("Open a new room", icon=":material/co_present:", on_click=_open_room,
                  help="For a teacher: a short code the class types to publish runs to one shared board.")
    if not text.strip():
        st.caption("Type the code your teacher reads out to join a room, or open a room for your own class.")
        return None
    code = room_code(text)
    if code is None or not _rooms().exists(code):
        st.error(NO_ROOM)
        return None
    return code


def _room_header(code: str, owner: bool) -> None:
    """The code, big enough for a projector, and the join link."""
    big, link = st.columns([1, 2], vertical_alignment="center")
    with big:
        st.caption("Room code")
        st.title(code, anchor=False)  # only CODE_ALPHABET letters: normalise_code checked it
    with link:
        st.code(join_link(code), language=None, wrap_lines=True)
        st.caption(("You opened this room. " if owner else "")
                   + "Read the code out or show this page on the projector: anyone on this server joins by typing "
                   "it under Compare › Room board, or by opening the link.")


def _publish(code: str) -> None:
    """Publish the run picked under the name typed (read here: a name typed just before the click is in)."""
    space = current_workspace()
    run_name, by = st.session_state["room_publish_run"], st.session_state.get("room_publish_name", "")
    try:
        _rooms().publish(code, space, space.runs / run_name, by=by)
        st.session_state[MESSAGE_KEY] = ("success", "Published: your run is on the board.")
    except ValueError as exc:
        st.session_state[MESSAGE_KEY] = ("error", str(exc))
    _board_rows.clear()


def _withdraw(code: str, share: str) -> None:
    try:
        gone = _rooms().withdraw(code, current_workspace(), share)
    except ValueError as exc:
        gone, st.session_state[MESSAGE_KEY] = False, ("error", str(exc))
    if gone:
        st.session_state[MESSAGE_KEY] = ("success", "Withdrawn: the run is off the board.")
    _board_rows.clear()


def _publish_panel(code: str, space: Workspace) -> None:
    """Publish one of your finished runs under a name you choose, and withdraw what you published."""
    with st.container(border=True):
        st.markdown("**Publish a run of yours to this room** (only what you publish is shown, and only by the "
                    "name you give; withdraw it at any time)")
        runs = {run["name"]: run["config"] for run in genlab.list_runs(space.runs)}
        if runs:
            st.selectbox("Your run", list(runs), key="room_publish_run", format_func=lambda name: (
                f"{name} ({runs[name].get('title', runs[name]['family'])} on "
                f"{data_title(runs[name]['dataset'], runs[name]['view'])})"))
            st.text_input("Your name on the board", max_chars=MAX_NAME, key="room_publish_name",
                               placeholder="anonymous", help="Shown to the whole room, as plain text.")
            st.button("Publish to the room", icon=":material/publish:", on_click=_publish, args=(code,))
        else:
            st.caption("You have no finished run yet: train one, then publish it here.")
            st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
        if MESSAGE_KEY in st.session_state:
            kind, text = st.session_state.pop(MESSAGE_KEY)
            (st.success if kind == "success" else st.error)(text)
        for number, row in enumerate(r for r in _board_rows(str(default_runs_root()), code)
                                     if r["workspace"] == space.id):
            what, action = st.columns([4, 1], vertical_alignment="center")
            what.text(f"On the board: {row['name']} ({row['config'].get('title', row['config']['family'])}) "
                      f"as {row['by']}")
            action.button("Withdraw", key=f"room_withdraw_{number}", on_click=_withdraw, args=(code, row["share"]))


@st.fragment(run_every=BOARD_SECONDS)
def _board(code: str, me: str) -> None:
    """The room's published runs, one race per data set and view, redrawn every BOARD_SECONDS."""
    try:
        published = _board_rows(str(default_runs_root()), code)
    except ValueError:
        st.error(NO_ROOM)
        return
    if not published:
        st.info("Nothing is published here yet: the board fills as the room publishes runs.")
        return
    st.caption(f"{len(published)} published run(s); the board refreshes every {BOARD_SECONDS} seconds.")
    races = defaultdict(list)
    for run in published:
        races[(run["config"]["dataset"], run["config"]["view"])].append(run)
    for number, ((dataset, view), runs) in enumerate(sorted(races.items())):
        st.subheader(data_title(dataset, view), anchor=False)
        _race(runs, view, me, chart_key=f"room_chart_{number}")


def _race(runs: list[dict], view: str, me: str, chart_key: str) -> None:
    """One data view's runs ranked on its headline yardstick, as a table and a bar chart."""
    key = leaderboard.headline(view, [run["summary"] for run in runs])
    rows = leaderboard.runs_table(runs)
    for row, run in zip(rows, runs):
        row["by"], row["you"] = run["by"], "you" if run["workspace"] == me else ""
    rows = leaderboard.ranked(rows, key) if key else [{**row, "rank": None} for row in rows]
    numbers = [label for label, _ in leaderboard.YARDSTICKS.values() if any(row.get(label) is not None for row in rows)]
    for row in rows:
        mark = NOT_EXACT.get(row["log p kind"]) if key in FROM_LOG_P else None
        row["#"] = "—" if row["rank"] is None else f"{row['rank']}" + (f" ({mark})" if mark else "")
    yours = ("you",) if any(row["you"] for row in rows) else ()
    columns = ("#", "by", *yours, "family", *numbers, "log p kind", "parameters", "train seconds")
    st.dataframe([{c: row.get(c) for c in columns} for row in rows], hide_index=True, width="stretch",
                 column_config={label: st.column_config.NumberColumn(format="%.4g") for label in numbers})
    if key is None:
        return
    label, direction = leaderboard.yardstick_label(key), leaderboard.better(key)
    st.plotly_chart(figures.compare_bars(
        names=[f"#{row['rank']} {row['by']}" for row in rows],
        values=[row.get(label) for row in rows], groups=[row["family name"] for row in rows],
        notes=[(f"log p: {row['log p kind']}",) for row in rows],
        title=f"{label} ({direction} is better)" if direction else label, value_label=label,
    ), key=chart_key)
    if key in FROM_LOG_P and any(NOT_EXACT.get(row["log p kind"]) for row in rows if row["rank"] is not None):
        st.caption("A rank marked (bound) is of a run whose log p is a lower bound: its true NLL is at most what "
                   "is shown, so it may deserve a better place. (estimate), (unnormalised) and (no log p) mark "
                   "numbers got another way than an exact likelihood.")
