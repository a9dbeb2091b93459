"""Compare's checkpoint panel: a run downloads as one file; uploads are validated, bad ones refused."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab
from genlab.checkpoints import pack_run

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def compare(runs_in_tmp) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    return at.switch_page("pages/compare.py").run()


def test_upload_a_checkpoint_and_refuse_a_bad_one(runs_in_tmp, tmp_path):
    ds = genlab.load_dataset("toy:8gaussians")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, tmp_path / "elsewhere", seconds=1)
    data = pack_run(tmp_path / "elsewhere")
    at = compare(runs_in_tmp)
    assert not at.exception
    at.get("file_uploader")[0].set_value(("bad.zip", b"not a zip", "application/zip")).run()
    assert not at.exception and "was not loaded" in at.error[0].value
    at.get("file_uploader")[0].set_value(("mine.zip", data, "application/zip")).run()
    assert not at.exception and "Loaded as mine" in at.success[0].value
    at.run()  # a rerun with the file still in the uploader does not import it twice
    assert genlab.list_runs(runs_in_tmp) == []  # imported into this visitor's workspace, not the public runs
    assert [r["name"] for r in genlab.list_runs(at.session_state["_workspace"].runs)] == ["mine"]
    assert at.selectbox(key="_widget_checkpoint_run").value.endswith("mine")
