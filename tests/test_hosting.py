"""Budgets and cleanup for a hosted server: limits from the environment, client addresses, start-up and expiry."""
import os
import time
from pathlib import Path

import pytest

import genlab
from genlab.hosting import AddressBook, HostLimits, Housekeeper, client_address
from genlab.jobs import CapacityError, JobManager
from genlab.rooms import RoomStore
from genlab.workspaces import DAY, WorkspaceStore, new_token


@pytest.fixture
def stores(tmp_path):
    workspaces = WorkspaceStore(tmp_path / "runs")
    return workspaces, RoomStore(tmp_path / "runs", workspaces)


def test_limits_come_from_the_environment_and_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("GENLAB_WORKSPACE_DISK_MB", "50")
    monkeypatch.setenv("GENLAB_JOBS_PER_ADDRESS", "3")
    monkeypatch.setenv("GENLAB_MIN_FREE_MB", "10")
    assert HostLimits.from_env() == HostLimits(workspace_disk_mb=50, jobs_per_address=3, min_free_mb=10)
    monkeypatch.setenv("GENLAB_JOBS_PER_ADDRESS", "lots")
    with pytest.raises(ValueError, match="GENLAB_JOBS_PER_ADDRESS must be a whole number of jobs"):
        HostLimits.from_env()


def test_disk_budgets_refuse_with_a_sentence(stores):
    space = stores[0].open(new_token())
    (space.uploads / "big.bin").write_bytes(b"x" * 2**20)
    with pytest.raises(CapacityError, match="disk is nearly full"):
        HostLimits(min_free_mb=2**40).check_disk(space)
    with pytest.raises(CapacityError, match=r"would hold 2 MB, more than one visitor may keep \(1.5 MB\)"):
        HostLimits(workspace_disk_mb=1.5, min_free_mb=0).check_disk(space, adding_bytes=2**20)
    HostLimits(workspace_disk_mb=1.5, min_free_mb=0).check_disk(space)


def test_jobs_are_capped_per_client_address(tmp_path):
    ds = genlab.load_dataset("toy:moons")
    manager = JobManager(tmp_path, max_concurrent=4)
    book = AddressBook()
    limits = HostLimits(jobs_per_address=2)
    try:
        for tab, workspace in (("tab-1", "w1"), ("tab-2", "w2")):
            limits.check_address(manager, book.add("10.0.0.7", tab))
            manager.start(genlab.create_model("gmm", ds, num_components=2), ds, seconds=30, owner=workspace,
                          session=tab)
        with pytest.raises(CapacityError, match=r"Your network already has 2 jobs.*\(2\)"):
            limits.check_address(manager, book.add("10.0.0.7", "tab-3"))
        limits.check_address(manager, book.add("10.0.0.8", "tab-4"))  # another address has its own share
    finally:
        manager.shutdown()


def test_the_client_address_trusts_a_forwarded_header_only_when_told():
    assert client_address("10.0.0.1", "203.0.113.9, 10.0.0.1", trust_proxy=False) == "10.0.0.1"
    assert client_address("10.0.0.1", "203.0.113.9", trust_proxy=True) == "203.0.113.9"
    # the proxy appends what it saw; what a client sends before it is made up and not believed
    assert client_address("10.0.0.1", "spoofed-1, 203.0.113.7", trust_proxy=True) == "203.0.113.7"
    assert client_address(None, None, trust_proxy=True) is None  # a browser on the server's own machine


def test_idle_workspaces_and_rooms_expire_at_most_every_ten_minutes(stores):
    workspaces, rooms = stores
    old, fresh = workspaces.open(new_token()), workspaces.open(new_token())
    code = rooms.create(old)
    keeper = Housekeeper(workspaces.root, workspaces, rooms)
    now = time.time()
    assert keeper.expire(now) == ([], [])
    later = now + 3 * DAY
    os.utime(fresh.folder / ".last_used", (later, later))
    assert keeper.expire(later) == ([old.id], [code])
    assert fresh.folder.exists() and not old.folder.exists()
    forgotten = workspaces.open(new_token())
    os.utime(forgotten.folder / ".last_used", (now, now))
    assert keeper.expire(later + 60) == ([], [])  # looked less than ten minutes ago
    assert keeper.expire(later + 601) == ([forgotten.id], [])


def test_a_restart_keeps_finished_runs_and_cleans_a_half_written_one(stores):
    workspaces, rooms = stores
    space = workspaces.open(new_token())
    ds = genlab.load_dataset("toy:moons")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, space.runs / "finished", seconds=0.2)
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, workspaces.root / "public", seconds=0.2)
    half = space.runs / "half"
    half.mkdir()
    (half / "config.json").write_text('{"family": "gau')  # the server died while saving
    removed = Housekeeper(workspaces.root, workspaces, rooms).start_up()
    assert f"{space.id}/half" in removed and not half.exists()
    assert [r["name"] for r in genlab.list_runs(space.runs)] == ["finished"]
    assert [r["name"] for r in genlab.list_runs(workspaces.root)] == ["public"]
    assert (workspaces.root / "workspaces" / space.id).is_dir()  # the workspace itself stays


def test_the_served_config_skips_the_full_collection_after_every_rerun_and_the_file_watcher():
    # a full gc.collect(2) after each fragment tick took 60-230 ms with torch loaded, half the server's CPU
    # at 10 live pages (docs/BENCHMARKS.md); watching the venv floods inotify on a hosted server
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none" and config["server"]["runOnSave"] is False


def test_the_served_config_sends_every_element_whole_never_a_reference_a_browser_may_have_lost():
    # under load a browser got the hash of a chart it no longer kept: "Cached ForwardMsg MISS", a stuck page
    import tomllib

    from streamlit import config as streamlit_config
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.forward_msg_cache import populate_hash_if_needed

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    size, before = config["global"]["minCachedMessageSize"], streamlit_config.get_option("global.minCachedMessageSize")

    def cacheable(text: str, threshold: float) -> bool:
        streamlit_config.set_option("global.minCachedMessageSize", threshold)
        msg = ForwardMsg()
        msg.delta.new_element.markdown.body = text
        populate_hash_if_needed(msg)
        return msg.metadata.cacheable

    try:
        assert cacheable("x" * 50_000, 10e3)  # Streamlit's default: a 50 kB element would be sent by reference
        assert not cacheable("x" * 50_000_000, size)  # ours: not even a 50 MB one
    finally:
        streamlit_config.set_option("global.minCachedMessageSize", before)
