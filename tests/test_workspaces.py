"""Workspaces and shares: a token opens one visitor's folder; a share token opens exactly one run."""
import os
import time

import pytest

from genlab.workspaces import WorkspaceStore, disk_has_room, is_token, new_token


def _run(space, name="made-digits"):
    folder = space.runs / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    return folder


def test_a_token_always_opens_the_same_workspace_and_hides_itself(tmp_path):
    store = WorkspaceStore(tmp_path)
    token = new_token()
    first, again, other = store.open(token), store.open(token), store.open(new_token())
    assert first == again and first != other
    assert is_token(token) and token not in str(first.folder)  # the folder is named by a digest
    assert first.runs.is_dir() and first.uploads.is_dir()


@pytest.mark.parametrize("bad", ["", "../../etc", "a" * 31, "a" * 33, "x" * 31 + "/", None, 42, "é" * 32])
def test_malformed_tokens_never_reach_the_disk(tmp_path, bad):
    store = WorkspaceStore(tmp_path)
    with pytest.raises(ValueError, match="not one GenLab made"):
        store.open(bad)
    assert store.shared_run(bad) is None
    assert not (tmp_path / "workspaces").exists()


def test_a_share_opens_exactly_one_run_until_withdrawn(tmp_path):
    store = WorkspaceStore(tmp_path)
    alice, bob = store.open(new_token()), store.open(new_token())
    shared, private = _run(alice, "a"), _run(alice, "b")
    token = store.share(alice, shared)
    assert store.share(alice, shared) == token  # asking again gives the same link
    assert store.shared_run(token) == shared
    assert store.shared_run(new_token()) is None  # a guess opens nothing
    with pytest.raises(ValueError, match="your own workspace"):
        store.share(bob, private)  # bob cannot share alice's run
    assert not store.unshare(bob, token) and store.shared_run(token) == shared
    assert store.unshare(alice, token) and store.shared_run(token) is None


def test_a_tampered_share_index_opens_nothing(tmp_path):
    store = WorkspaceStore(tmp_path)
    alice = store.open(new_token())
    token = store.share(alice, _run(alice))
    (tmp_path / "shares" / f"{token}.json").write_text('{"workspace": "..", "run": "../../secret"}')
    assert store.shared_run(token) is None


def test_idle_workspaces_expire_with_their_shares(tmp_path):
    store = WorkspaceStore(tmp_path, idle_days=1)
    old, fresh = store.open(new_token()), store.open(new_token())
    token = store.share(old, _run(old))
    week_ago = time.time() - 7 * 86400
    os.utime(old.folder / ".last_used", (week_ago, week_ago))
    assert store.expire_idle() == [old.id]
    assert not old.folder.exists() and fresh.folder.exists()
    assert store.shared_run(token) is None and not list((tmp_path / "shares").glob("*.json"))


def test_idle_time_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_WORKSPACE_IDLE_DAYS", "0.5")
    assert WorkspaceStore.from_env(tmp_path).idle_days == 0.5
    monkeypatch.setenv("GENLAB_WORKSPACE_IDLE_DAYS", "soon")
    with pytest.raises(ValueError, match="GENLAB_WORKSPACE_IDLE_DAYS must be a positive number"):
        WorkspaceStore.from_env(tmp_path)


def test_disk_room(tmp_path):
    assert disk_has_room(tmp_path / "not" / "yet", 0)
    assert not disk_has_room(tmp_path, 10**12)  # a petabyte free: not here
