"""Hostile checkpoints: each crafted file is refused with its own plain sentence, before it costs memory or disk."""
import errno
import io
import json
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save

import genlab
from genlab import runs
from genlab.checkpoints import CheckpointError, pack_run, read_checkpoint, unpack_run
from genlab.export import export_run
from tests.data.test_hostile_uploads import corrupt, zipped


@pytest.fixture
def packed(points_ds, tmp_path):
    genlab.train_and_save(genlab.create_model("gmm", points_ds, num_components=3), points_ds, tmp_path / "run",
                          seconds=1)
    return pack_run(tmp_path / "run")


@pytest.fixture
def packed_image(binary_ds, tmp_path):
    genlab.train_and_save(genlab.create_model("gaussian", binary_ds), binary_ds, tmp_path / "img", seconds=1)
    return pack_run(tmp_path / "img")


def members_of(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {i.filename: archive.read(i) for i in archive.infolist()}


def with_config(data: bytes, change) -> bytes:
    members = members_of(data)
    config = json.loads(members["config.json"])
    change(config)
    members["config.json"] = json.dumps(config).encode()
    return zipped(members)


def with_member(data: bytes, name: str, raw: bytes) -> bytes:
    return zipped(members_of(data) | {name: raw})


def refused(data: bytes, message: str) -> str:
    with pytest.raises(CheckpointError, match=message) as caught:
        read_checkpoint(data)
    text = str(caught.value)
    assert "/tmp" not in text and "/work" not in text and "Traceback" not in text
    return text


def header_weights(header: dict, payload: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + payload


CONFIG_CASES = [
    (lambda c: c.update(family=["gmm"]), "family must be a short text"),
    (lambda c: c.pop("family"), "Unknown model family|family"),
    (lambda c: c.pop("hparams"), "hyper-parameters"),
    (lambda c: c.update(hparams="big"), "hyper-parameters"),
    (lambda c: c["hparams"].update(num_components="3"), "num_components must be a number"),
    (lambda c: c["hparams"].update(num_components=float("nan")), "not valid JSON|finite"),
    (lambda c: c["hparams"].update(covariance=7), "covariance must be a text"),
    (lambda c: c["hparams"].update(covariance="cholesky"), "covariance must be one of"),
    (lambda c: c["hparams"].update(num_components=10**9), "between"),
    (lambda c: c["hparams"].update(surprise=1), "Unknown hyper-parameter"),
    (lambda c: c.pop("spec"), "spec"),
    (lambda c: c.update(spec={"shape": "2", "view": "continuous"}), "spec"),
    (lambda c: c.update(spec={"shape": [2], "view": "sideways"}), "spec"),
    (lambda c: c.update(seed="0"), "seed must be a whole number"),
    (lambda c: c.update(seed=-1), "seed must be a whole number"),
    (lambda c: c.update(seconds_budget=[1]), "time budget must be a finite number"),
    (lambda c: c.update(dataset=5), "data set name must be a short text"),
    (lambda c: c.update(dataset="digits"), "not one GenLab builds"),
    (lambda c: c.update(dataset="toy:drawn", data_source={"blobs": "x"}), "drawn density is malformed"),
    (lambda c: c.update(dataset="toy:drawn", data_source={"blobs": [[0, 0, 1, 0.5]], "n_train": 10**12}),
     "drawn train size"),
    (lambda c: c.update(dataset="toy:moons", data_source={"n_train": 10**12}), "toy train size"),
    (lambda c: c.update(dataset="toy:moons", data_source={"n_train": 1}), "toy train size"),
    (lambda c: c.update(dataset="toy:moons", data_source={"n_test": 1_000_000}), "toy test size"),
    (lambda c: c.update(dataset="toy:moons", data_source={"n_train": 1000, "root": "/etc"}), "toy data arguments"),
    (lambda c: c.update(dataset="toy:moons", data_source=[1000]), "toy data arguments"),
    (lambda c: c.update(spec={"shape": [100000], "view": "continuous"}), "data shape"),
]


@pytest.mark.parametrize("change, message", CONFIG_CASES)
def test_config_fields_are_checked(packed, change, message):
    refused(with_config(packed, change), message)


def test_a_toy_at_another_number_of_points_is_rebuilt_at_it(packed):
    _, info = read_checkpoint(with_config(packed, lambda c: c.update(dataset="toy:moons",
                                                                       data_source={"n_train": 1000, "seed": 0})))
    assert info["config"]["dataset"] == "toy:moons" and info["config"]["data_source"] == {"n_train": 1000}


def test_config_is_rebuilt_from_the_allow_list(packed):
    data = with_config(packed, lambda c: c.update(extra={"<script>": 1}, title="**click me**"))
    _, info = read_checkpoint(data)
    assert "extra" not in info["config"] and info["config"]["title"] == genlab.models.family("gmm").title


def test_a_server_folder_never_comes_from_an_upload(packed_image, tmp_path):
    _, info = read_checkpoint(with_config(packed_image, lambda c: c.update(dataset="folder:/etc")))
    assert info["config"]["dataset"] == "tensors"
    folder = unpack_run(with_config(packed_image, lambda c: c.update(dataset="folder:/etc")), tmp_path / "in")
    assert "/etc" not in (folder / "config.json").read_text()
    with pytest.raises(ValueError, match="in-memory tensors"):
        export_run(folder)


def test_a_built_in_data_set_keeps_its_name(points_ds, tmp_path):
    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, tmp_path / "r", seconds=1)
    data = with_config(pack_run(tmp_path / "r"), lambda c: c.update(dataset="toy:moons"))
    assert read_checkpoint(data)[1]["config"]["dataset"] == "toy:moons"


def test_config_not_json_or_too_deep(packed):
    refused(with_member(packed, "config.json", b"{not json"), "not valid JSON")
    refused(with_member(packed, "config.json", b"[" * 30_000 + b"]" * 30_000), "not valid JSON")
    refused(with_member(packed, "config.json", b"[1, 2]"), "not a JSON object")
    refused(with_member(packed, "config.json", b"\xff\xfe"), "not valid JSON")


def test_model_too_large_is_stopped_while_building(packed_image, monkeypatch):
    def huge(c):
        c.update(family="made", hparams={"hidden_units": 4096, "hidden_layers": 6})

    monkeypatch.setenv("GENLAB_MAX_PARAMETERS", "100000")
    refused(with_config(packed_image, huge), "larger than the 100,000 numbers")


def test_weights_header_is_checked_before_tensors_exist(packed):
    entry = {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}
    cases = [
        (b"\x01\x02", "truncated"),
        (struct.pack("<Q", 2**40) + b"{}", "damaged header"),
        (header_weights({"logits": {**entry, "dtype": "PICKLE"}}, bytes(12)), "unsupported type"),
        (header_weights({"logits": {**entry, "shape": [10**12], "data_offsets": [0, 4 * 10**12]}}), "more than"),
        (header_weights({"logits": {**entry, "shape": [-3]}}, bytes(12)), "damaged header"),
        (header_weights({"logits": {**entry, "data_offsets": [0, 8]}}, bytes(12)), "damaged header"),
        (header_weights({"logits": {**entry, "data_offsets": [4, 16]}}, bytes(16)), "damaged header"),
        (header_weights({"logits": entry}, bytes(40)), "extra bytes"),
        (header_weights({"logits": entry}), "truncated"),
        (header_weights([1, 2]), "damaged header"),
        (header_weights({"logits": entry}, bytes(12)), "do not match"),
    ]
    for raw, message in cases:
        refused(with_member(packed, "model.safetensors", raw), message)
    refused(with_member(packed, "model.safetensors", save({"logits": torch.zeros(3), "means": torch.zeros(7, 2),
                                                            "raw_diag": torch.zeros(3, 2),
                                                            "raw_tril": torch.zeros(3, 2, 2)})), "shape")


def test_compressed_bomb_is_refused_from_its_declared_size(packed, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_PARAMETERS", "1000")
    bomb = with_member(packed, "model.safetensors", bytes(2**21))
    assert len(bomb) < 20_000
    refused(bomb, "too large")


def test_metrics_are_capped_and_parsed_plainly(packed):
    refused(with_member(packed, "metrics.jsonl", b'{"loss": 1}\n' * 20_001), "more than 20,000")
    refused(with_member(packed, "metrics.jsonl", b'{"loss": 1}\nnot json\n'), "Line 2 .* not valid JSON")
    refused(with_member(packed, "metrics.jsonl", b"[1]\n"), "not a JSON object")
    wide = json.dumps({f"k{i}": i for i in range(100)}).encode()
    refused(with_member(packed, "metrics.jsonl", wide), "at most 64")
    refused(with_member(packed, "metrics.jsonl", b"x" * (4 * 2**20 + 1)), "too large")
    refused(with_member(packed, "metrics.jsonl", b"\xff\n"), "not text")


@pytest.mark.parametrize("member, raw", [
    ("metrics.jsonl", b'{"loss": 1}\nnot json\n'), ("metrics.jsonl", b"[1]\n"), ("metrics.jsonl", b"\xff\n"),
    ("summary.json", b'"just text"'), ("summary.json", b"{not json"), ("config.json", b"[]"),
])
def test_the_message_names_the_file_that_is_bad(packed, member, raw):
    text = refused(with_member(packed, member, raw), member)
    assert all(other not in text for other in {"metrics.jsonl", "summary.json", "config.json"} - {member})


def test_summary_values_of_odd_types_are_dropped(packed):
    summary = {"test_nll_nats": [1, 2], "kl_nats": {"a": 1}, "mmd": 0.5, "family": "os.system", "train": {"x": [1]}}
    _, info = read_checkpoint(with_member(packed, "summary.json", json.dumps(summary).encode()))
    assert info["summary"]["mmd"] == 0.5 and "test_nll_nats" not in info["summary"]
    assert info["summary"]["family"] == "gmm" and info["summary"]["train"] == {}
    refused(with_member(packed, "summary.json", b'"just text"'), "not a JSON object")


def test_malformed_zips_get_one_sentence(packed):
    refused(b"\x80\x04 a pickle perhaps", "not a GenLab checkpoint")
    refused(packed[: len(packed) // 2], "not a GenLab checkpoint")
    refused(corrupt(packed, b"PK\x01\x02", 16, b"\0\0\0\0"), "damaged")  # bad CRC in the directory
    refused(corrupt(corrupt(packed, b"PK\x01\x02", 8, b"\x01\x00"), b"PK\x03\x04", 6, b"\x01\x00"), "encrypted")
    refused(zipped(members_of(packed), compression=zipfile.ZIP_LZMA), "compression")
    refused(corrupt(packed, b"PK\x01\x02", 10, b"\x63\x00"), "compression")  # method 99 (AES)
    members = members_of(packed)
    refused(zipped({k: v for k, v in members.items() if k != "model.safetensors"}), "no model.safetensors")
    refused(with_member(packed, "../../etc/passwd", b"x"), "Unexpected file")
    twice = io.BytesIO(packed)
    with zipfile.ZipFile(twice, "a") as z, pytest.warns(UserWarning):
        z.writestr("config.json", members["config.json"])
    refused(twice.getvalue(), "twice")


def test_lying_member_size_is_read_no_further_than_the_cap(packed):
    members = members_of(packed)
    data = bytearray(zipped(members | {"config.json": b" " * 100_000 + members["config.json"]}))
    # declare the config 1,000 bytes long in both headers: the real data is far longer
    data = corrupt(bytes(data), b"PK\x01\x02", 24, struct.pack("<I", 1000))
    data = corrupt(data, b"PK\x03\x04", 22, struct.pack("<I", 1000))
    refused(data, "damaged|too large|not valid JSON")


def test_unpack_writes_the_rebuilt_files_atomically(packed, tmp_path, monkeypatch):
    data = with_config(packed, lambda c: c.update(extra="kept?"))
    folder = unpack_run(data, tmp_path / "in", name="../x")
    assert "extra" not in json.loads((folder / "config.json").read_text()) and folder.name == "x"

    real = runs.os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs.os, "fsync", full_disk)
    with pytest.raises(OSError):
        unpack_run(data, tmp_path / "full")
    monkeypatch.setattr(runs.os, "fsync", real)
    assert list((tmp_path / "full").iterdir()) == []


# ---- weights whose names and shapes look right, but whose buffers or values do not -----------------
@pytest.fixture(scope="module")
def packed_flow(tmp_path_factory):
    """A tiny box-support spline flow on checkerboard: index buffers (kept, moved) and learned parameters."""
    ds = genlab.load_dataset("toy:checkerboard", points=1000)
    model = genlab.create_model("nsf", ds, support="box", num_layers=1, hidden_units=8, hidden_layers=1, num_bins=4)
    folder = tmp_path_factory.mktemp("flow") / "run"
    genlab.train_and_save(model, ds, folder, seconds=1, max_steps=2)
    return pack_run(folder)


def with_weights(data: bytes, change) -> bytes:
    from safetensors.torch import load

    tensors = load(members_of(data)["model.safetensors"])
    change(tensors)
    return with_member(data, "model.safetensors", save(tensors))


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update({"steps.1.kept": torch.tensor([7])}), "differs from what"),  # indexes out of range
    (lambda t: t.update({"steps.1.kept": torch.tensor([-5])}), "differs from what"),
    (lambda t: t.update({"steps.1.moved": torch.zeros(0, dtype=torch.int64)}), "has shape"),
    (lambda t: t.update({"steps.1.kept": torch.zeros(5_000_000, dtype=torch.int64)}), "has shape"),  # memory per sample
    (lambda t: t.update({"steps.1.kept": torch.tensor([0.5])}), "of type F32"),
    (lambda t: t.update({"steps.0.loc": torch.tensor([float("nan"), 0.0])}), "not finite"),
    (lambda t: t.update({"steps.2.params": torch.full_like(t["steps.2.params"], float("inf"))}), "not finite"),
])
def test_buffers_and_values_the_settings_fix_are_checked(packed_flow, change, message):
    refused(with_weights(packed_flow, change), message)
    assert read_checkpoint(packed_flow)[0].boxed  # the file as saved still loads


def test_a_kde_keeps_at_most_max_points_centres(points_ds, tmp_path):
    kde = genlab.create_model("kde", points_ds, max_points=50)
    genlab.train_and_save(kde, points_ds, tmp_path / "kde", seconds=1)
    packed = pack_run(tmp_path / "kde")
    assert len(read_checkpoint(packed)[0].points) == 50
    refused(with_weights(packed, lambda t: t.update(points=torch.zeros(51, 2))), "has shape")
    refused(with_weights(packed, lambda t: t.update(points=torch.zeros(10, 3))), "has shape")
