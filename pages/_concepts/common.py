"""What the Concepts lessons' panels share: number inputs, tables, the image set a panel runs on,
and picking a model to use (a saved run, or one trained on the spot)."""
import os

import pandas as pd
import streamlit as st

from genlab.runs import WEIGHTS
from pages._ui.datasets import is_image_set
from pages._ui.links import forget_unless, persistent
from pages._ui.runs import run_label, run_link, visible_runs

FIT_SECONDS = 2.0  # default budget per class (classifiers) or per fit (growth and gap panels)
FRESH = "__fresh__"  # the model-source choice "train a small model here"


def image_view(selection) -> str:
    """The sidebar's image view, or binary when the sidebar is on a toy."""
    return selection.view if is_image_set(selection.name) else "binary"


def seconds_input(label: str, key: str, link: str, default: float = FIT_SECONDS, help: str | None = None) -> float:
    """A training budget in seconds, kept under `key` and carried by the link as `link`."""
    return float(persistent(st.number_input, label, key, float(default), link=link, min_value=0.5, max_value=30.0,
                            step=0.5, help=help))


def source_link(source: str) -> str:
    """What a link names a model source by: FRESH as it is, a saved run as the run picker does."""
    return source if source == FRESH else run_link(source)


def table(rows, percent: tuple[str, ...] = (), digits: int = 3) -> None:
    """Rows as a table, shares shown as percentages."""
    frame = pd.DataFrame(rows)
    config = {c: st.column_config.NumberColumn(format="percent") for c in percent if c in frame}
    config |= {c: st.column_config.NumberColumn(format=f"%.{digits}f") for c in frame.select_dtypes("float")
               if c not in config}
    st.dataframe(frame, hide_index=True, column_config=config)


def image_set_or_digits(selection, labelled: bool = False) -> tuple[str, str]:
    """The sidebar's image set and view, or the 8×8 digits (binary view) when the sidebar is elsewhere."""
    ds = selection.ds
    if is_image_set(selection.name) and ds is not None and (not labelled or ds.labels_train is not None):
        return selection.name, selection.view
    kind = "a labelled image set" if labelled else "an image set"
    st.caption(f"The sidebar is not on {kind}, so this panel uses the 8×8 digits, binary view.")
    return "digits", "binary"


def pick_source(name: str, view: str, able, fresh_title: str | None, label: str, key: str, link: str,
                help: str) -> tuple[str | None, dict[str, str]]:
    """A select box of saved runs on this data whose family is in `able`, after FRESH when `fresh_title`
    is given; it starts on the newest run, and the link carries it as `link`. Returns (the choice,
    choice -> title); None with no choice."""
    runs = [r for r in visible_runs(dataset=name, view=view) if r["config"]["family"] in able]
    options = ({FRESH: fresh_title} if fresh_title else {}) | {r["folder"]: run_label(r) for r in runs}
    if not options:
        return None, options
    forget_unless(key, list(options))
    source = persistent(st.selectbox, label, key, list(options)[1 if len(options) > 1 else 0], options=list(options),
                        link=link, link_format=source_link, format_func=options.get, help=help)
    return source, options


def run_stamp(source: str) -> float:
    """When a run's weights were last written (0 for a model trained here): a cache key that changes with them."""
    return 0.0 if source == FRESH else os.path.getmtime(os.path.join(source, WEIGHTS))
