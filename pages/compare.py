"""Compare: every saved run on the current data set in one table and one chart."""
import streamlit as st

import genlab
from genlab import figures
from genlab.runs import default_runs_root
from pages._shared import PAGES, dataset_title, sidebar

# The chart's yardstick, the first one any run reports: (summary key, label).
YARDSTICKS = (
    ("kl_nats", "KL(p_data‖p_θ), nats (test)"),
    ("bits_per_dim", "bits per dim (test)"),
    ("mmd", "MMD² between samples and test data"),
)

selection = sidebar()
st.title("Compare")
runs = genlab.list_runs(default_runs_root(), dataset=selection.name, view=selection.view)
where = f"{dataset_title(selection.name)}" + ("" if selection.view == "continuous" else f", {selection.view} view")
if not runs:
    st.info(f"No saved runs on {where} yet. Every run started on the Train page is saved when it ends "
            "and appears here, so families can be compared on the same held-out data.")
    st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")
    st.stop()

st.caption(f"{len(runs)} saved run(s) on {where}, newest first. Lower is better in every number column.")
rows = []
for number, run in enumerate(runs, start=1):
    config, summary = run["config"], run["summary"]
    rows.append({
        "#": number,
        "family": config.get("title", config["family"]),
        "log p kind": summary.get("log_prob_kind") or "—",
        "test NLL (nats)": summary.get("test_nll_nats"),
        "bits/dim": summary.get("bits_per_dim"),
        "KL (nats)": summary.get("kl_nats"),
        "MMD²": summary.get("mmd"),
        "parameters": summary.get("num_parameters"),
        "train seconds": summary.get("train_seconds"),
        "seed": config.get("seed"),
        "created": config.get("created", "").replace("T", " "),
        "status": summary.get("train", {}).get("status", ""),
    })
# a yardstick no run reports (bits/dim on toys, KL on images) is left out
rows = [{k: v for k, v in row.items() if any(r[k] is not None for r in rows)} for row in rows]
number_format = st.column_config.NumberColumn(format="%.3f")
st.dataframe(rows, hide_index=True, width="stretch", column_config={
    "test NLL (nats)": number_format, "bits/dim": number_format, "KL (nats)": number_format,
    "MMD²": st.column_config.NumberColumn(format="%.4f"),
    "train seconds": st.column_config.NumberColumn(format="%.1f"),
    "parameters": st.column_config.NumberColumn(format="localized"),
})

key, label = next(((k, t) for k, t in YARDSTICKS if any(run["summary"].get(k) is not None for run in runs)),
                  YARDSTICKS[0])
st.plotly_chart(figures.compare_bars(
    names=[f"#{row['#']} {run['config']['family']}" for row, run in zip(rows, runs)],
    values=[run["summary"].get(key) for run in runs],
    groups=[run["config"]["family"] for run in runs],
    notes=[f"log p: {row['log p kind']} · seed {row['seed']} · {row['created']}"
           + (f"<br>KL by {run['summary']['kl_method']}" if run["summary"].get("kl_method") else "")
           for row, run in zip(rows, runs)],
    title=f"The yardstick: {label}", value_label=label,
))
missing = sum(run["summary"].get(key) is None for run in runs)
if missing:
    st.caption(f"{missing} run(s) report no {label}; they are in the table, not in the chart.")
if any(row["log p kind"] == "lower_bound" for row in rows):
    st.caption("Runs whose log p is a lower bound report an upper bound on NLL and bits/dim: "
               "their true numbers are at most what is shown.")
