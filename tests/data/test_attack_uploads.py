"""Findings of a hostile review (issue 14) on uploads: every error a file name can cause is a plain sentence."""
from pathlib import Path

import pytest

from genlab.data import dataset_title, load_dataset
from genlab.data.imagefiles import UploadError
from genlab.data.uploads import save_uploads
from tests.data.test_hostile_uploads import corrupt, one_bit_png, zipped
from tests.data.test_uploads import Upload, png, zip_of_pngs


def test_a_file_name_longer_than_the_disk_allows_is_refused_or_shortened_and_leaves_nothing(tmp_path):
    """A 300-character name raised OSError [Errno 36] "File name too long" (with the server path) from
    save_uploads; hosted, the visitor saw only "Something went wrong", and a `.part` folder stayed behind."""
    files = [Upload("a" * 300 + ".png", png(0))] + [Upload(f"{i}.png", png(i)) for i in range(1, 12)]
    try:
        spec = save_uploads(files, tmp_path)
    except UploadError as exc:
        assert "/" not in str(exc)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    except OSError as exc:
        pytest.fail(f"an OSError reached the page: {exc}")
    else:
        assert spec.startswith("folder:")


def internal_names(root) -> set[str]:
    """What the uploads were saved as: every name under the uploads folder, besides the visitor's own."""
    return {p.name for p in root.rglob("*")}


@pytest.mark.parametrize("name, data, message", [
    ("bomb.zip", lambda: zipped({f"{i}.png": one_bit_png(1000) for i in range(12)}), "decoded pixels in total"),
    ("cut.zip", lambda: zip_of_pngs(12)[:300], "cut.zip looks like a zip but is damaged"),
    ("locked.zip", lambda: corrupt(corrupt(zip_of_pngs(12), b"PK\x01\x02", 8, b"\x01\x00"), b"PK\x03\x04", 6,
                                   b"\x01\x00"), "locked.zip is encrypted"),
    ("few.zip", lambda: zip_of_pngs(3), "few.zip holds 3 usable image"),
    ("notes.zip", lambda: zipped({"a.txt": b"hello"}), "notes.zip holds no images"),
])
def test_a_refused_zip_is_named_as_the_visitor_named_it_and_nothing_is_saved(tmp_path, monkeypatch, name, data,
                                                                            message):
    monkeypatch.setenv("GENLAB_UPLOAD_PIXELS", "5000000")
    with pytest.raises(UploadError, match=message) as caught:
        save_uploads([Upload(name, data())], tmp_path / "uploads")
    assert "0000-" not in str(caught.value) and "/" not in str(caught.value)
    assert not (tmp_path / "uploads").exists()


def test_notes_and_titles_of_a_kept_upload_name_only_what_the_visitor_uploaded(tmp_path):
    """A zip the loader reads with notes (a stray file, a broken image) and a set of several files: the
    sidebar's title, the description and every note name the visitor's files, never the saved ones."""
    members = {f"pets/{i}.png": png(i) for i in range(12)} | {"pets/readme.txt": b"hi", "pets/bad.png": b"no"}
    zipped_spec = save_uploads([Upload("my pets.zip", zipped(members))], tmp_path)
    several_spec = save_uploads([Upload(f"cat {i}.png", png(i)) for i in range(11)], tmp_path)
    for spec, own in [(zipped_spec, "my pets.zip"), (several_spec, "cat 0.png and 10 more")]:
        shown = dataset_title(spec) + " " + load_dataset(spec, size=8).description
        assert own in shown
        leaked = {n for n in internal_names(tmp_path) if n in shown} - {"pets"}
        assert not leaked, shown
    assert "Skipped 1 file(s) in my pets.zip" in load_dataset(zipped_spec, size=8).description


def test_a_set_refused_at_loading_names_the_visitors_zip(tmp_path):
    """A kept upload the loader refuses later (here: its saved zip damaged on disk) is named as uploaded."""
    spec = save_uploads([Upload("my pets.zip", zip_of_pngs(12))], tmp_path)
    Path(spec.removeprefix("folder:")).write_bytes(zip_of_pngs(12)[:300])
    with pytest.raises(UploadError) as caught:
        load_dataset(spec, size=8)
    assert "my pets.zip looks like a zip but is damaged" in str(caught.value)
