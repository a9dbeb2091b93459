"""This visitor's workspace, kept by a cookie; the server's workspace and room stores; budgets.

Why a cookie and not the URL: the workspace token grants write access (train, upload, delete).
In the URL it would ride along in every link a visitor shares and every screenshot of the
address bar; a cookie stays in the browser, and still covers reloads and new tabs. Links name
runs by share tokens instead, which grant reading one run and nothing else.

The cookie `genlab_workspace` is set by a small script (Path=/, SameSite=Strict, Max-Age = the
idle days, Secure on https) holding only a token the server made; Streamlit reads cookies
when a session connects (`st.context.cookies`). AppTest cannot set cookies: a test puts a
token under TOKEN_KEY in session state instead.
"""
from __future__ import annotations

import os

import streamlit as st

from genlab.hosting import HostLimits, Housekeeper, client_address
from genlab.rooms import RoomStore
from genlab.runs import default_runs_root
from genlab.workspaces import DAY, Workspace, WorkspaceStore, is_token, new_token

__all__ = ["COOKIE", "TOKEN_KEY", "stores", "current_workspace", "host_limits", "visitor_address"]

COOKIE = "genlab_workspace"
TOKEN_KEY = "_workspace_token"  # this session's token (tests may set it before the first run)
SPACE_KEY = "_workspace"


@st.cache_resource(show_spinner=False)
def _stores(runs_root: str, idle_days_setting: str | None) -> tuple[WorkspaceStore, RoomStore, Housekeeper]:
    """One set of stores per runs root and GENLAB_WORKSPACE_IDLE_DAYS (`idle_days_setting` keys the cache)."""
    workspaces = WorkspaceStore.from_env(runs_root)
    rooms = RoomStore(runs_root, workspaces, idle_days=workspaces.idle_days)
    keeper = Housekeeper(runs_root, workspaces, rooms)
    keeper.start_up()  # once per server (and runs root): half-written runs go, idle workspaces expire
    return workspaces, rooms, keeper


def stores() -> tuple[WorkspaceStore, RoomStore]:
    """The server's workspaces and rooms under the runs root; idle ones expire at most every ten minutes."""
    workspaces, rooms, keeper = _stores(str(default_runs_root()), os.environ.get("GENLAB_WORKSPACE_IDLE_DAYS"))
    keeper.expire()
    return workspaces, rooms


def host_limits() -> HostLimits:
    return HostLimits.from_env()


def _set_cookie(token: str, idle_days: float) -> None:
    """Ask the browser to keep the token; the script holds nothing but a token the server made."""
    if not is_token(token):
        raise ValueError("Only a token GenLab made goes into the workspace cookie.")
    max_age = int(idle_days * DAY)
    st.html(f"""<script>
document.cookie = "{COOKIE}={token}; Path=/; SameSite=Strict; Max-Age={max_age}"
    + (window.location.protocol === "https:" ? "; Secure" : "");
</script>""", unsafe_allow_javascript=True)


def current_workspace() -> Workspace:
    """This visitor's workspace: from the session, else the browser's cookie, else a new one (and its cookie)."""
    workspaces, _ = stores()
    space = st.session_state.get(SPACE_KEY)
    if space is not None and space.runs.is_dir():
        return space
    token = st.session_state.get(TOKEN_KEY)
    if not is_token(token):
        token = st.context.cookies.get(COOKIE)
        if not is_token(token):
            token = new_token()
        _set_cookie(token, workspaces.idle_days)  # new, or kept for another idle period from today
        st.session_state[TOKEN_KEY] = token
    space = workspaces.open(token)
    st.session_state[SPACE_KEY] = space
    return space


def visitor_address() -> str | None:
    """The client's address, the first X-Forwarded-For hop only when GENLAB_TRUST_PROXY=1 (None on localhost)."""
    return client_address(st.context.ip_address, st.context.headers.get("X-Forwarded-For"))
