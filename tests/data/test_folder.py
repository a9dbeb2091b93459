"""Your own images: a folder or zip round trip, class labels from sub-folders, clear refusals."""
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

import genlab


def png(value: int, bar: bool) -> bytes:
    arr = np.full((20, 20), 255 - value, np.uint8)
    if bar:
        arr[2:18, 8:12] = value
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def folder(tmp_path):
    for cls, bar in (("bars", True), ("blank", False)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(8):
            (tmp_path / "imgs" / cls / f"{i}.png").write_bytes(png(0, bar))
    (tmp_path / "imgs" / "bars" / "readme.txt").write_text("not an image")
    return tmp_path / "imgs"


def test_folder_round_trip(folder):
    ds = genlab.load_dataset(f"folder:{folder}", view="binary", size=8)
    assert ds.shape == (1, 8, 8) and len(ds.train) + len(ds.test) == 16 and len(ds.test) == 3
    assert set(ds.train.unique().tolist()) <= {0.0, 1.0}
    assert set(ds.labels_train.tolist()) | set(ds.labels_test.tolist()) == {0, 1}
    bars = ds.train[ds.labels_train == 0]
    assert bars.sum() > 0 and ds.train[ds.labels_train == 1].sum() == 0  # dark bars on paper become light
    again = genlab.load_dataset(f"folder:{folder}", view="binary", size=8)
    assert genlab.load_dataset(f"folder:{folder}", view="binary", size=8, seed=1).test.shape == ds.test.shape
    assert (again.train == ds.train).all()  # deterministic split, cached decode


def test_zip_round_trip_and_gray_view(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(12):
            z.writestr(f"{i}.png", png(0, i % 2 == 0))
    (tmp_path / "mine.zip").write_bytes(buf.getvalue())
    ds = genlab.load_dataset(f"folder:{tmp_path / 'mine.zip'}", view="gray8", size=16)
    assert ds.shape == (1, 16, 16) and ds.levels == 256 and ds.labels_train is None
    assert ds.train.max() <= 255 and (ds.train == ds.train.round()).all()
    model = genlab.create_model("bernoulli" if "bernoulli" in genlab.families() else "gaussian", ds)
    genlab.train(model, ds, seconds=1, max_steps=2)


def test_refusals_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        genlab.load_dataset(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "a.png").write_bytes(png(0, True))
    with pytest.raises(ValueError, match="at least 10"):
        genlab.load_dataset(f"folder:{tmp_path / 'few'}")
    with pytest.raises(ValueError, match="size"):
        genlab.load_dataset(f"folder:{tmp_path / 'few'}", size=13)
