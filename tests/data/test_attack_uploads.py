"""Findings of a hostile review (issue 14) on uploads: every error a file name can cause is a plain sentence."""
import pytest

from genlab.data.imagefiles import UploadError
from genlab.data.uploads import save_uploads
from tests.data.test_uploads import Upload, png


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
