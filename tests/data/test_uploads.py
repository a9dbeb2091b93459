"""Uploads kept: one folder per set of files, named by their contents; hostile names made harmless."""
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.data.imagefiles import UploadError
from genlab.data.uploads import save_uploads


class Upload:
    """What st.file_uploader hands over: a name and the bytes."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def png(seed: int, side: int = 20) -> bytes:
    pixels = (np.random.default_rng(seed).random((side, side)) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, "PNG")
    return buffer.getvalue()


def zip_of_pngs(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(f"{'cats' if i % 2 else 'dogs'}/{i}.png", png(i))
    return buffer.getvalue()


def ten_pngs(first: str = "a.png", seed: int = 0) -> list[Upload]:
    """The fewest images a set may hold: `first` (from `seed`) and nine others."""
    return [Upload(first, png(seed))] + [Upload(f"{i}.png", png(100 + i)) for i in range(9)]


def saved_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_save_uploads_keeps_one_folder_per_set_of_files(tmp_path):
    files = [Upload("a b.png", png(0)), Upload("../../evil.png", png(1))] + ten_pngs()[2:]
    spec = save_uploads(files, tmp_path)
    folder = Path(spec.removeprefix("folder:"))
    assert folder.parent == tmp_path and saved_files(folder)[:2] == ["0000-a_b.png", "0001-evil.png"]
    assert save_uploads(files, tmp_path) == spec  # same files, same folder
    zipped = save_uploads([Upload("mine.zip", zip_of_pngs(12))], tmp_path)
    assert zipped.endswith("/mine.zip") and Path(zipped.removeprefix("folder:")).is_file()
    with pytest.raises(UploadError, match="not a zip together"):
        save_uploads([Upload("mine.zip", b"x"), Upload("a.png", png(0))], tmp_path)
    with pytest.raises(UploadError, match="not an image"):
        save_uploads([Upload("notes.txt", b"hello")], tmp_path)
    with pytest.raises(UploadError, match="broken.png could not be read"):
        save_uploads(ten_pngs() + [Upload("broken.png", b"not a png at all")], tmp_path)


def test_other_files_get_another_folder_and_nothing_half_written_stays(tmp_path):
    first = save_uploads(ten_pngs(), tmp_path)
    assert save_uploads(ten_pngs(seed=1), tmp_path) != first  # other bytes, other folder
    assert save_uploads(ten_pngs("b.png"), tmp_path) != first  # another name, another folder
    assert not list(tmp_path.glob("*.part"))  # the staging folders were all renamed into place


@pytest.mark.parametrize("files, message", [
    ([Upload("few.zip", zip_of_pngs(3))], "few.zip holds 3 usable image"),
    ([Upload(f"{i}.png", png(i)) for i in range(9)], "Your upload holds 9 usable image"),
])
def test_a_set_under_ten_images_is_refused_before_anything_is_written(tmp_path, files, message):
    uploads = tmp_path / "uploads"
    with pytest.raises(UploadError, match=message) as caught:
        save_uploads(files, uploads)
    assert "at least 10" in str(caught.value) and "nothing was saved" in str(caught.value)
    assert not uploads.exists()  # no folder, no staging folder, no disk used


def test_messages_and_titles_name_the_visitors_own_files(tmp_path):
    from genlab.data import dataset_title, load_dataset

    zipped = save_uploads([Upload("my pets.zip", zip_of_pngs(12))], tmp_path)
    assert dataset_title(zipped) == "your images (my pets.zip)"
    assert "12 of your images from my pets.zip" in load_dataset(zipped, size=8).description
    several = save_uploads(ten_pngs("first cat.png"), tmp_path)
    digest = Path(several.removeprefix("folder:")).name
    assert dataset_title(several) == "your images (first cat.png and 9 more)"
    assert digest not in load_dataset(several, size=8).description


def test_nothing_chosen_is_a_sentence(tmp_path):
    with pytest.raises(UploadError, match="Choose a zip"):
        save_uploads([], tmp_path)
    assert not any(tmp_path.iterdir())
