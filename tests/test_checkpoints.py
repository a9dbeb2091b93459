"""Checkpoints: a run packs into one file and loads back; hostile files are refused plainly."""
import io
import json
import zipfile

import pytest
import torch
from safetensors.torch import save

import genlab
from genlab.checkpoints import CheckpointError, pack_run, read_checkpoint, unpack_run


@pytest.fixture
def packed(points_ds, tmp_path):
    model = genlab.create_model("gmm", points_ds, num_components=3)
    genlab.train_and_save(model, points_ds, tmp_path / "run", seconds=1)
    return model, pack_run(tmp_path / "run")


def rezip(data: bytes, change) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = {i.filename: archive.read(i) for i in archive.infolist()}
    change(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    return buf.getvalue()


def test_round_trip(packed, points_ds, tmp_path):
    model, data = packed
    loaded, info = read_checkpoint(data)
    x = points_ds.test[:10]
    assert torch.allclose(loaded.log_prob(x), model.log_prob(x))
    folder = unpack_run(data, tmp_path / "imported", name="../../evil name")
    assert folder.parent == tmp_path / "imported" and "/" not in folder.name
    again, _, _ = genlab.load_run(folder, load_data=False)
    assert torch.allclose(again.log_prob(x), model.log_prob(x))


def test_kde_checkpoint_keeps_its_data(points_ds, tmp_path):
    model = genlab.create_model("kde", points_ds)
    genlab.train_and_save(model, points_ds, tmp_path / "kde", seconds=1)
    loaded, _ = read_checkpoint(pack_run(tmp_path / "kde"))
    assert torch.equal(loaded.points, model.points)


def bad_config(members):
    members["config.json"] = b"{not json"


def unknown_family(members):
    config = json.loads(members["config.json"])
    config["family"] = "os.system"
    members["config.json"] = json.dumps(config).encode()


def absurd_hparam(members):
    config = json.loads(members["config.json"])
    config["hparams"]["num_components"] = 10**9
    members["config.json"] = json.dumps(config).encode()


def wrong_shapes(members):
    members["model.safetensors"] = save({"logits": torch.zeros(3), "means": torch.zeros(7, 2),
                                         "raw_diag": torch.zeros(3, 2), "raw_tril": torch.zeros(3, 2, 2)})


def pickle_inside(members):
    members["model.pt"] = b"\x80\x04cos\nsystem\n"


def truncated_weights(members):
    members["model.safetensors"] = members["model.safetensors"][:20]


@pytest.mark.parametrize("change, message", [
    (bad_config, "malformed"), (unknown_family, "Unknown model family"), (absurd_hparam, "between"),
    (wrong_shapes, "shape"), (pickle_inside, "Unexpected file"), (truncated_weights, "damaged|truncated"),
])
def test_hostile_checkpoints_are_refused(packed, change, message):
    _, data = packed
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(rezip(data, change))


def test_not_a_zip():
    with pytest.raises(CheckpointError, match="not a GenLab checkpoint"):
        read_checkpoint(b"\x80\x04 a pickle perhaps")
