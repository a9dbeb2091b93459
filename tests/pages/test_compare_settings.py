"""Compare says, in each row, what a run's settings were: a preset's name, or what differs from the defaults."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab

APP = str(Path(__file__).resolve().parents[2] / "app.py")
RUNS = {  # folder -> hyper-parameters of a GAN on 8gaussians, and what its row says of them
    "gan-defaults": ({}, "defaults"),
    "gan-rejection": ({"sampler": "ratio-critic rejection"}, "Rejection by a ratio critic"),
    "gan-rejection-fast": ({"sampler": "ratio-critic rejection", "learning_rate": 0.001},
                           "Rejection by a ratio critic, with learning rate 0.001"),
    "gan-no-penalty": ({"r1_weight": 0.0}, "r1 weight 0"),
}


def test_each_row_names_its_preset_or_its_changed_settings(runs_in_tmp):
    ds = genlab.load_dataset("toy:8gaussians")
    for folder, (hparams, _) in RUNS.items():
        model = genlab.create_model("gan", ds, **hparams)
        genlab.train_and_save(model, ds, runs_in_tmp / folder, seconds=0.3, max_steps=3)
    at = AppTest.from_file(APP, default_timeout=60).run().switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert sorted(table["settings"]) == sorted(note for _, note in RUNS.values())
    assert "Rejection by a ratio critic, with learning rate 0.001" in at.get("plotly_chart")[0].proto.spec  # on hover
    bars = {name for trace in json.loads(at.get("plotly_chart")[0].proto.spec)["data"] for name in trace["x"]}
    assert {name.split(" ", 1)[1] for name in bars} == {  # each bar says it, briefly
        "gan · defaults", "gan · Rejection by a ratio cr…", "gan · r1 weight 0"}
