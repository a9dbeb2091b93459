"""Rooms: a short code, runs published by their owners only, withdrawn at will, shown on one board."""
import os
import time

import pytest

import genlab
from genlab.rooms import CODE_LENGTH, RoomStore, normalise_code
from genlab.workspaces import WorkspaceStore, new_token


@pytest.fixture
def stores(tmp_path):
    workspaces = WorkspaceStore(tmp_path)
    return workspaces, RoomStore(tmp_path, workspaces)


def _trained(points_ds, space, name):
    folder = space.runs / name
    genlab.train_and_save(genlab.create_model("gaussian", points_ds), points_ds, folder, seconds=0.2)
    return folder


def test_codes_are_short_and_forgiving_to_type(stores):
    workspaces, rooms = stores
    code = rooms.create(workspaces.open(new_token()))
    assert len(code) == CODE_LENGTH and rooms.exists(code)
    assert rooms.exists(f" {code[:2].lower()}-{code[2:]} ")
    for bad in ("", "../..", "ABCDE0", "O0I1L", None, 12345):
        assert normalise_code(bad) is None or not rooms.exists(bad)


def test_publish_rank_and_withdraw(points_ds, stores):
    workspaces, rooms = stores
    teacher, ada, bob = (workspaces.open(new_token()) for _ in range(3))
    code = rooms.create(teacher)
    assert rooms.is_owner(code, teacher) and not rooms.is_owner(code, ada)
    share = rooms.publish(code, ada, _trained(points_ds, ada, "ada-run"), by="Ada **bold** [x](http://evil)\n")
    rooms.publish(code, bob, _trained(points_ds, bob, "bob-run"), by="")
    board = rooms.board(code)
    assert sorted(row["name"] for row in board) == ["ada-run", "bob-run"]
    ada_row = next(row for row in board if row["share"] == share)
    assert ada_row["by"] == "Ada **bold** [x](http://evil)"[:40] and "\n" not in ada_row["by"]
    assert "test_nll_nats" in ada_row["summary"]
    assert not rooms.withdraw(code, bob, share)  # only the publisher withdraws
    assert rooms.withdraw(code, ada, share)
    assert [row["name"] for row in rooms.board(code)] == ["bob-run"]


def test_a_run_of_someone_else_cannot_be_published(points_ds, stores):
    workspaces, rooms = stores
    ada, mallory = workspaces.open(new_token()), workspaces.open(new_token())
    code = rooms.create(ada)
    with pytest.raises(ValueError, match="your own workspace"):
        rooms.publish(code, mallory, _trained(points_ds, ada, "ada-run"))
    with pytest.raises(ValueError, match="no room with that code"):
        rooms.publish("ZZZZZ", ada, ada.runs / "ada-run")


def test_a_deleted_run_leaves_the_board_and_idle_rooms_expire(points_ds, stores):
    import shutil

    workspaces, rooms = stores
    ada = workspaces.open(new_token())
    code = rooms.create(ada)
    folder = _trained(points_ds, ada, "ada-run")
    rooms.publish(code, ada, folder)
    shutil.rmtree(folder)
    assert rooms.board(code) == []
    week_ago = time.time() - 7 * 86400
    os.utime(rooms.folder / code / "room.json", (week_ago, week_ago))
    assert rooms.expire_idle() == [code] and not rooms.exists(code)
