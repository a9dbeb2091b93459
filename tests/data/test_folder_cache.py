"""The folder cache: its key follows the files' names and bytes, the size and the view, and nothing else."""
import os

import pytest

import genlab
from genlab.data import folder as folder_module
from genlab.data.folder import cache_key
from tests.data.test_folder import png


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    for i in range(12):
        (root / f"{i:02d}.png").write_bytes(png(0, i % 2 == 0))
    return root


def key(root, size=8, view="binary"):
    return cache_key(f"folder:{root}", size=size, view=view)


def test_key_is_stable_when_nothing_changed(images):
    assert key(images) == key(images)
    os.utime(images / "00.png")  # touched, not changed
    assert key(images) == key(images)


def test_key_follows_a_files_content_even_with_its_old_timestamps(images):
    before, stat = key(images), (images / "00.png").stat()
    (images / "00.png").write_bytes(png(0, False))
    os.utime(images / "00.png", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` or a restore would
    os.utime(images, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert key(images) != before


def test_key_follows_added_removed_and_renamed_files(images):
    keys = [key(images)]
    (images / "12.png").write_bytes(png(0, True))
    keys.append(key(images))
    (images / "03.png").unlink()
    keys.append(key(images))
    (images / "12.png").rename(images / "sub.png")
    keys.append(key(images))
    (images / "notes.txt").write_text("not an image")  # ignored by the loader, so not in the key
    keys.append(key(images))
    assert len(set(keys[:4])) == 4 and keys[4] == keys[3]


def test_key_follows_size_and_view(images):
    assert len({key(images, 8, "binary"), key(images, 16, "binary"), key(images, 8, "gray8")}) == 3


def test_key_of_a_zip_follows_its_bytes(images, tmp_path):
    import zipfile

    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.png", png(0, True))
    before = key(archive)
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.png", png(0, False))
    assert key(archive) != before


def test_reading_an_unchanged_folder_twice_decodes_once_and_a_changed_one_again(images, monkeypatch):
    decoded = []
    real = folder_module.to_view
    monkeypatch.setattr(folder_module, "to_view", lambda *a, **k: decoded.append(1) or real(*a, **k))
    first = genlab.load_dataset(f"folder:{images}", view="binary", size=8)
    assert len(decoded) == 12
    again = genlab.load_dataset(f"folder:{images}", view="binary", size=8)
    assert len(decoded) == 12 and (again.train == first.train).all()  # a cache hit
    genlab.load_dataset(f"folder:{images}", view="gray8", size=8)
    assert len(decoded) == 24  # another view is another entry
    stat = (images / "00.png").stat()
    (images / "00.png").write_bytes(png(0, False))
    os.utime(images / "00.png", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = genlab.load_dataset(f"folder:{images}", view="binary", size=8)
    assert len(decoded) == 36
    assert changed.train.sum() + changed.test.sum() < first.train.sum() + first.test.sum()  # one bar fewer
