"""Home's workshop mode: one click installs the pretrained zoo where every page finds it."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

import genlab
from genlab import zoo

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_workshop_mode_installs_the_zoo(runs_in_tmp):
    at = AppTest.from_file(APP, default_timeout=30).run()
    (button,) = [b for b in at.button if b.label == "Load the pretrained models"]
    button.click().run()
    assert not at.exception
    assert at.success and "pretrained models are ready" in at.success[0].value
    assert len(genlab.list_runs(runs_in_tmp)) == len(zoo.manifest()["entries"])
    compare = at.switch_page("pages/compare.py").run()
    assert not compare.exception
