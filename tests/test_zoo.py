"""The shipped zoo: every checkpoint loads and reproduces its manifest's held-out numbers."""
import pytest

import genlab
from genlab import zoo

ENTRIES = zoo.manifest()["entries"] if (zoo.ZOO_DIR / "manifest.json").exists() else []


def test_zoo_is_shipped_and_small():
    assert ENTRIES, "zoo/manifest.json is missing: run `python -m genlab zoo build`"
    size = sum(p.stat().st_size for p in zoo.ZOO_DIR.rglob("*") if p.is_file())
    assert size < zoo.MAX_ZOO_BYTES


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["folder"] for e in ENTRIES])
def test_checkpoint_reproduces_its_manifest(entry):
    model, ds, info = genlab.load_run(zoo.ZOO_DIR / entry["folder"])
    assert model.name == entry["family"] and ds.name == entry["dataset"] and ds.view == entry["view"]
    result = genlab.evaluate(model, ds)
    for key in ("test_nll_nats", "kl_nats", "bits_per_dim"):
        expected = entry["yardsticks"].get(key)
        if expected is not None:
            assert result[key] == pytest.approx(expected, rel=1e-4, abs=1e-4), key


def test_install_copies_verified_checkpoints(tmp_path):
    installed = zoo.install(tmp_path)
    assert len(installed) == len(ENTRIES)
    assert zoo.install(tmp_path) == []  # already there: nothing copied twice
    assert len(genlab.list_runs(tmp_path)) == len(ENTRIES)
