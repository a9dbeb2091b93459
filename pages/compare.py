"""Compare: saved runs side by side — every yardstick they report, filtered by data set and family, as CSV —
and the room board, where a workshop ranks the runs its visitors publish (pages/_ui/rooms.py)."""
from pathlib import Path

import streamlit as st

from genlab import figures, leaderboard
from genlab.checkpoints import MAX_CHECKPOINT_BYTES, CheckpointError, pack_run, unpack_run
from genlab.export import export_run, script_name, unsupported_reason
from genlab.jobs import CapacityError
from genlab.runs import WEIGHTS, RunError, delete_run
from pages._ui.datasets import data_title
from pages._ui.links import LIST_SEPARATOR, forget_unless, not_in_link, persistent, share
from pages._ui.rooms import ROOM, compare_view, room_section
from pages._ui.routing import PAGES
from pages._ui.runs import run_link, visible_runs
from pages._ui.sidebar import sidebar
from pages._ui.text import plain
from pages._ui.workspace import current_workspace, host_limits

# Columns of the table that say what a run is, shown before its numbers. (The data filter is keyed by the
# sidebar's data set, so it starts from the sidebar's choice whenever that changes.)
ABOUT = ("#", "data", "training points", "family", "settings", "log p kind")
AFTER = ("parameters", "train seconds", "seed", "created", "status")
BAR_SETTINGS = 24  # characters of a run's settings under its bar (the hover has them all)


def brief(settings: str) -> str:
    """A run's settings cut for a bar's label."""
    return settings if len(settings) <= BAR_SETTINGS else settings[:BAR_SETTINGS - 1].rstrip(" ,") + "…"


RUN_FILES = {"checkpoint": pack_run, "script": export_run}  # what a run can be downloaded as


@st.cache_data(max_entries=32, show_spinner="Packing the run…")
def _run_file(kind: str, folder: str, weights_changed: float) -> bytes:
    return RUN_FILES[kind](folder)


def run_file(kind: str, folder: str) -> bytes:
    """A run as a checkpoint or a script zip, built once per run (a rewritten run has new weights, so a new key)."""
    return _run_file(kind, folder, (Path(folder) / WEIGHTS).stat().st_mtime)


def script_download(folder: str, config: dict, name: str) -> None:
    """Offer the run as a short script that needs only PyTorch, or say why it cannot be one."""
    reason = unsupported_reason(config)
    if reason is None:
        try:
            data = run_file("script", folder)
        except (ValueError, OSError) as exc:
            reason = f"This run cannot be exported as a script: {plain(exc)}"
    if reason:
        st.caption(reason)
        return
    size = f"{len(data) / 2**20:.1f} MB" if len(data) >= 2**20 else f"{len(data) / 2**10:.0f} KB"
    st.download_button(f"Download as a PyTorch script ({size})", data=data, file_name=f"{name}-pytorch.zip",
                       mime="application/zip", icon=":material/code:", on_click="ignore", key="export_script")
    st.caption(f"A zip with the model written as plain PyTorch, its weights and the run's train and test data; "
               f"only torch needs to be installed. `python {script_name(Path(folder).name)}.py` prints the held-out "
               f"number again, `--train` trains the model from scratch first.")


def checkpoints(runs: list[dict]) -> None:
    """Download a run as one file, or bring one back: JSON and safetensors only, checked before use."""
    with st.expander("Move runs between machines: download or upload a checkpoint", icon=":material/swap_horiz:"):
        if runs:
            names = {run["folder"]: f"{run['name']} ({data_title(run['config']['dataset'], run['config']['view'])})"
                     for run in runs}
            forget_unless("checkpoint_run", list(names))
            folder = persistent(st.selectbox, "Run to download", "checkpoint_run", next(iter(names)),
                                options=list(names), format_func=names.get, link="download", link_format=run_link)
            st.download_button("Download run", data=run_file("checkpoint", folder),
                               file_name=f"{names[folder].split()[0]}.zip",
                               mime="application/zip", icon=":material/download:", on_click="ignore")
            config = next(run["config"] for run in runs if run["folder"] == folder)
            script_download(folder, config, names[folder].split()[0])
        upload = st.file_uploader(f"Upload a checkpoint (.zip from 'Download run', up to "
                                  f"{MAX_CHECKPOINT_BYTES // 2**20} MB)", type=["zip"], key="checkpoint_upload")
        if upload is None:
            return
        not_in_link("the uploaded checkpoint (once loaded it is one of your runs, and the table's link carries it)")
        done = st.session_state.setdefault("checkpoints_loaded", {})  # each upload is imported once
        if upload.file_id not in done:
            space = current_workspace()
            try:
                host_limits().check_disk(space, adding_bytes=upload.size)
                done[upload.file_id] = ("success", unpack_run(upload.getvalue(), space.runs,
                                                               name=upload.name.removesuffix(".zip")).name)
            except (CheckpointError, CapacityError) as exc:
                done[upload.file_id] = ("error", str(exc))
        kind, text = done[upload.file_id]
        if kind == "success":
            st.success(f"Loaded as {plain(text)}; it is in the table below and on every page.")
        else:
            st.error(f"{plain(upload.name)} was not loaded: {plain(text)}")


def delete_yours(runs: list[dict]) -> None:
    """Delete one of this visitor's own runs (the public and shared ones are not theirs to delete)."""
    yours = {run["folder"]: run["name"] for run in runs if run["whose"] == "yours"}
    if not yours:
        return
    with st.expander("Delete one of your runs", icon=":material/delete:"):
        folder = st.selectbox("Your run", list(yours), format_func=yours.get, key="delete_run")
        if st.button("Delete it for good", key="delete_run_button"):
            try:
                delete_run(folder)
            except (OSError, RunError):
                st.error(f"{plain(yours[folder])} could not be deleted; reload the page and try again.")
            else:
                st.rerun()


def pair_text(pair: tuple[str, str]) -> str:
    """A (data set, view) pair as a link writes it."""
    return "/".join(pair)


def share_shown(shown: list[dict]) -> None:
    """The link names the runs in the table that another browser would not see (yours, shared with you)."""
    share("runs", LIST_SEPARATOR.join(run_link(run["folder"]) for run in shown if run["whose"] != "public"))


selection = sidebar()
st.title("Compare")
if compare_view() == ROOM:
    room_section()
    st.stop()
st.query_params.pop("room", None)  # the saved runs are on screen: a link opens them, not the room board
checkpoints(visible_runs())
runs = visible_runs()
delete_yours(runs)
if not runs:
    st.info("No saved runs yet. Every run started on the Train page is saved when it ends and appears here, "
            "so families can be compared on the same held-out data.")
    st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
    st.stop()

pairs = sorted({(run["config"]["dataset"], run["config"]["view"]) for run in runs})
current = (selection.name, selection.view)
pick_data, pick_family = st.columns(2)
chosen_pairs = persistent(pick_data.multiselect, "Data sets", f"compare_data:{current}",
                          [current] if current in pairs else pairs, options=pairs, link="data", link_format=pair_text,
                          format_func=lambda p: data_title(*p),
                          help="Numbers only compare between runs on the same data and view.")
on_data = [run for run in runs if (run["config"]["dataset"], run["config"]["view"]) in chosen_pairs]
titles = {run["config"]["family"]: run["config"].get("title", run["config"]["family"]) for run in on_data}
chosen_families = persistent(pick_family.multiselect, "Families", f"compare_families:{sorted(titles)}",
                             sorted(titles), options=sorted(titles), link="families",
                             format_func=titles.get)  # fresh when the data change
shown = [run for run in on_data if run["config"]["family"] in chosen_families]
share_shown(shown)
if not shown:
    where = data_title(*current)
    st.info(f"No saved runs match these filters ({len(runs)} saved in all). "
            + ("" if current in pairs else f"None is on {where} yet: train one there, or pick other data above."))
    st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
    st.stop()

rows = leaderboard.runs_table(shown)
keys = leaderboard.yardstick_keys(run["summary"] for run in shown)
numbers = [leaderboard.yardstick_label(k) for k in keys]
several_data = len({(r["dataset"], r["view"]) for r in rows}) > 1
several_points = len({r["training points"] for r in rows if r["training points"] is not None}) > 1
for number, (row, run) in enumerate(zip(rows, shown), start=1):
    row["#"] = number
    row["data"] = data_title(run["config"]["dataset"], run["config"]["view"])  # the row's dataset is public text
columns = [c for c in (*ABOUT, *numbers, *AFTER) if c != "data" or several_data]
table = [{c: row.get(c) for c in columns if any(r.get(c) is not None for r in rows)} for row in rows]
st.caption(f"{len(rows)} of {len(runs)} saved run(s), newest first. Hover a column title to see which way is better.")
st.dataframe(table, hide_index=True, width="stretch", column_config={
    **{leaderboard.yardstick_label(k): st.column_config.NumberColumn(
        format="%.4g", help=f"{leaderboard.better(k).capitalize()} is better." if leaderboard.better(k) else None)
       for k in keys},
    "settings": st.column_config.TextColumn(
        width="medium", help="What differs from the family's defaults: a preset's name when the run has its settings "
                             "(and anything changed from them), else the hyper-parameters changed."),
    "train seconds": st.column_config.NumberColumn(format="%.1f"),
    "parameters": st.column_config.NumberColumn(format="localized"),
    "training points": st.column_config.NumberColumn(
        format="localized", help="How many points the toy's training set held (the sidebar's Training points); "
                                 "the test split is the same 5,000 at every number."),
})
st.download_button("Download as CSV", data=leaderboard.to_csv(rows), file_name="genlab-runs.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")

reported = [k for k in keys if any(run["summary"].get(k) is not None for run in shown)]
forget_unless("compare_yardstick", reported)
key = persistent(st.selectbox, "Yardstick to chart", "compare_yardstick", reported[0], options=reported,
                 link="yardstick", format_func=leaderboard.yardstick_label) if reported else None
if key is not None:
    label = leaderboard.yardstick_label(key)
    direction = leaderboard.better(key)
    st.plotly_chart(figures.compare_bars(
        names=[f"#{row['#']} {row['family name']} · {brief(row['settings'])}"
               + (f" · {row['dataset']}" if several_data else "")
               + (f" · {row['training points']:,} points" if several_points else "") for row in rows],
        values=[row.get(label) for row in rows],
        groups=[row["family name"] for row in rows],
        notes=[(row["settings"], f"log p: {row['log p kind']} · seed {row['seed']} · {row['created']}",
                *([f"KL by {run['summary']['kl_method']}"] if run["summary"].get("kl_method") else []))
               for row, run in zip(rows, shown)],
        title=f"{label}" + (f" ({direction} is better)" if direction else ""), value_label=label,
    ))
    missing = sum(row.get(label) is None for row in rows)
    if missing:
        st.caption(f"{missing} run(s) report no {label}; they are in the table, not in the chart.")
    if several_data:
        st.warning("These runs are on different data sets: their numbers do not compare with one another.")
kinds = {row["log p kind"] for row in rows}
if "lower_bound" in kinds:
    st.caption("Runs whose log p is a lower bound report an upper bound on NLL and bits/dim: "
               "their true numbers are at most what is shown.")
if "unnormalized" in kinds or "—" in kinds:
    st.caption("Runs with an unnormalised density or none at all report no NLL; MMD² (and KL on toys, "
               "by a grid or a sample estimate) still scores them.")
