"""Compare's script export: a covered family's run downloads as a PyTorch script zip; others say why not."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def download(at: AppTest, label_start: str):
    buttons = [b for b in at.get("download_button") if b.proto.label.startswith(label_start)]
    return buttons[0] if buttons else None


def test_download_a_run_as_a_script_or_hear_why_not(runs_in_tmp):
    ds = genlab.load_dataset("digits", view="gray8")
    genlab.train_and_save(genlab.create_model("gan", ds), ds, runs_in_tmp / "gan-digits", seconds=0.5)
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, runs_in_tmp / "gauss-digits", seconds=0.5)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at = at.switch_page("pages/compare.py").run()
    assert not at.exception
    at.selectbox(key="_widget_checkpoint_run").set_value(str(runs_in_tmp / "gauss-digits")).run()
    button = download(at, "Download as a PyTorch script")
    assert button is not None and "KB)" in button.proto.label
    assert any("python gauss_digits.py" in c.value for c in at.caption)
    at.selectbox(key="_widget_checkpoint_run").set_value(str(runs_in_tmp / "gan-digits")).run()
    assert not at.exception and download(at, "Download as a PyTorch script") is None
    assert any("cannot be exported as a script yet" in c.value for c in at.caption)
    assert download(at, "Download run") is not None
