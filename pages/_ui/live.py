"""The clock of a live page: one ticking fragment per page, at one constant pace.

Why one and constant (Streamlit 1.67, measured with scripts/loadtest.py): each `run_every`
fragment is a browser timer that sends a rerun request per tick. A request that finds the
session's last ScriptRunner just ended starts a new ScriptRunner, and the events of the one
that ended but whose output the server had not yet forwarded are dropped (AppSession ignores
a non-current ScriptRunner): a finished fragment run is never drawn (3 of 144 in one measurement,
docs/BENCHMARKS.md). Two timers on one page (the sidebar's status and the Train panel, set 25 ms
apart) collide on every shared tick.
A pace that changes (queued, then training) needs a full rerun to re-arm the timer, and a
full run that is cut short leaves the browser with none. So a live page has one timer, set
in every full run at the same interval while its job is active; a slow server makes the
redraws slower, never stops them.
"""
from __future__ import annotations

import functools

import streamlit as st

from pages._ui.timing import timed_run

__all__ = ["REFRESH_SECONDS", "live_fragment", "ended_tick"]

REFRESH_SECONDS = 1.0  # a live panel redraws this often, queued or training
ENDED_DRAWN_KEY = "_live_ended_drawn"  # the job whose end a clock tick has drawn (see ended_tick)


def live_fragment(panel, name: str, ticking: bool):
    """`panel` as a fragment that redraws itself every REFRESH_SECONDS while `ticking`, each run timed
    under `name` when GENLAB_TIMING_LOG is set."""

    @functools.wraps(panel)
    def timed(*args, **kwargs):
        with timed_run("fragment", name):
            return panel(*args, **kwargs)

    return st.fragment(run_every=REFRESH_SECONDS if ticking else None)(timed)


def ended_tick(job_id: str) -> str:
    """What a tick of the clock does once its job has ended: "draw" the end of the run the first time, "rerun"
    the whole page the next (it stops the clock and frees Start). The end is on screen before the full rerun
    is asked for: under load the full rerun can be cut short by the next tick, and the page then kept its
    last live frame until a click (1 page of 40 in the 40-session load test); now it keeps the end."""
    if st.session_state.get(ENDED_DRAWN_KEY) == job_id:
        return "rerun"
    st.session_state[ENDED_DRAWN_KEY] = job_id
    return "draw"
