"""What the page tests share: the app, opened on its Home page, with no MNIST folder to find."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def app(monkeypatch, tmp_path):
    """The app after its first run; a module may define its own `app` with other runs or settings."""
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    return AppTest.from_file(APP, default_timeout=30).run()
