"""Every query page on an uploaded set of 100 images and of 10, zipped the usual way (one top folder).

Sliders and number boxes whose range comes from the data must survive a range of one value:
a 100-image set has 20 test items, a 10-image set 2.
"""
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import genlab
from genlab.workspaces import WorkspaceStore, new_token

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SIZE = 8  # the sidebar's smallest image size
PAGES = ["pages/density.py", "pages/samples.py", "pages/latent.py", "pages/compare.py"]


def shapes_zip(folder: Path, count: int, classes: bool) -> Path:
    """A zip as `zip -r shapes.zip shapes/` makes it: shapes/circles/*.png and shapes/squares/*.png,
    or without classes every image straight in shapes/."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    path = folder / f"shapes-{count}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("shapes/", b"")
        for i in range(count):
            kind = ("circles", "squares")[i % 2]
            r = rng.uniform(3, 7)
            circle = (xx - 8) ** 2 + (yy - 8) ** 2 < r * r
            inside = circle if kind == "circles" else (abs(xx - 8) < r) & (abs(yy - 8) < r)
            image = folder / "image.png"
            Image.fromarray((inside * 255).astype(np.uint8)).save(image)
            archive.write(image, f"shapes/{kind}/{i:03d}.png" if classes else f"shapes/{i:03d}.png")
    return path


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    """(dataset name, runs root, workspace token) for a 100-image zip with two classes and a 10-image one
    without, each uploaded into a visitor's workspace with a tiny VAE and Gaussian run of theirs."""
    root = tmp_path_factory.mktemp("uploaded-sets")
    made = {}
    for count in (100, 10):
        runs, token = root / f"runs-{count}", new_token()
        space = WorkspaceStore(runs).open(token)
        name = f"folder:{shapes_zip(space.uploads, count, classes=count == 100)}"
        ds = genlab.load_dataset(name, size=SIZE)
        for family, hparams in (("vae", {"latent_dim": 2, "hidden_units": 16}), ("gaussian", {})):
            genlab.train_and_save(genlab.create_model(family, ds, **hparams), ds, space.runs / f"{family}-{count}",
                                  seconds=0.3, seed=0)
        made[count] = (name, space.runs, token)
    return made


def test_a_zip_with_one_top_folder_keeps_its_class_folders_as_labels(uploads):
    ds = genlab.load_dataset(uploads[100][0], size=SIZE)
    assert ds.labels_train is not None and ds.class_names == ("circles", "squares")
    assert set(ds.labels_train.tolist()) == {0, 1}


def uploaded_app(monkeypatch, tmp_path, name: str, runs: Path, token: str) -> AppTest:
    """A session of the visitor whose workspace holds the upload (`runs` is that workspace's runs folder)."""
    monkeypatch.setenv("GENLAB_RUNS", str(runs.parent.parent.parent))
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["_workspace_token"] = token  # what the cookie does in a browser
    at.run()
    at.session_state["upload_spec"] = name
    at.session_state["upload_size"] = SIZE
    at.sidebar.selectbox(key="_widget_dataset").set_value("yours").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("count", [100, 10])
@pytest.mark.parametrize("page", PAGES)
def test_every_query_page_works_on_a_small_uploaded_set(page, count, uploads, monkeypatch, tmp_path):
    name, runs, token = uploads[count]
    at = uploaded_app(monkeypatch, tmp_path, name, runs, token)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if page != "pages/compare.py":
        for family in ("vae", "gaussian"):
            at.selectbox(key="_widget_run").set_value(str(runs / f"{family}-{count}")).run()
            assert not at.exception, (family, at.exception)


def latent_map(uploads, count: int, monkeypatch, tmp_path) -> tuple[AppTest, str]:
    name, runs, token = uploads[count]
    at = uploaded_app(monkeypatch, tmp_path, name, runs, token)
    at.switch_page("pages/latent.py").run()
    at.selectbox(key="_widget_run").set_value(str(runs / f"vae-{count}")).run()
    assert not at.exception, at.exception
    return at, next(c.proto.spec for c in at.get("plotly_chart") if "held-out items" in c.proto.spec)


def test_latent_legend_names_the_classes(uploads, monkeypatch, tmp_path):
    at, spec = latent_map(uploads, 100, monkeypatch, tmp_path)
    assert '"name":"circles"' in spec.replace(" ", "") and '"name":"squares"' in spec.replace(" ", "")
    assert any("Colours are the labels" in c.value for c in at.caption)


def test_latent_says_when_an_upload_has_no_labels_and_how_to_get_them(uploads, monkeypatch, tmp_path):
    at, _ = latent_map(uploads, 10, monkeypatch, tmp_path)
    assert not any("Colours are the labels" in c.value for c in at.caption)
    assert any("zip -r shapes.zip shapes/" in i.value for i in at.info)


def test_the_sidebar_names_the_uploaded_set_in_use_on_every_page(uploads, monkeypatch, tmp_path):
    name, runs, token = uploads[100]
    at = uploaded_app(monkeypatch, tmp_path, name, runs, token)
    for page in ("pages/train.py", "pages/latent.py"):
        at.switch_page(page).run()
        assert not at.exception, at.exception
        assert any("In use: " in c.value and "100 images" in c.value for c in at.sidebar.caption), page
