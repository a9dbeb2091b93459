"""Strangers on one server: each sees their own runs, the public ones, and only the runs a link shares."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab
from genlab.health import free_port
from genlab.workspaces import WorkspaceStore, new_token

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60


@pytest.fixture
def server(runs_in_tmp, monkeypatch):
    """A runs root with one public run and one run in visitor A's workspace; returns (root, A's token, A's run)."""
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(runs_in_tmp.parent / "no-data-here"))
    ds = genlab.load_dataset("toy:moons")
    genlab.train_and_save(genlab.create_model("gaussian", ds), ds, runs_in_tmp / "public-gaussian", seconds=0.3)
    token = new_token()
    space = WorkspaceStore(runs_in_tmp).open(token)
    genlab.train_and_save(genlab.create_model("gmm", ds, num_components=2), ds, space.runs / "a-private-gmm",
                          seconds=0.3)
    return runs_in_tmp, token, space.runs / "a-private-gmm"


def visit(token: str | None, query: dict | None = None, page: str | None = None) -> AppTest:
    """A fresh session of a visitor with this workspace token (None: a new visitor), opened from a link."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if token:
        at.session_state["_workspace_token"] = token  # what the cookie does in a browser
    at.query_params = dict(query or {})
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def names(at: AppTest) -> set[str]:
    """The run picker's runs, by folder name (each label ends with it)."""
    return {label.rsplit(" · ", 1)[1] for label in at.selectbox(key="_widget_run").options}


def every_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "code")
             for e in getattr(at, kind)]
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(map(str, parts))


def test_visitors_see_their_own_runs_and_the_public_ones_only(server):
    root, token, private = server
    mine = visit(token, {"dataset": "toy:moons"}, "pages/samples.py")
    assert names(mine) == {"a-private-gmm", "public-gaussian"}
    stranger = visit(None, {"dataset": "toy:moons"}, "pages/samples.py")
    assert names(stranger) == {"public-gaussian"}
    stranger.switch_page("pages/compare.py").run()
    assert not stranger.exception
    assert list(stranger.dataframe[0].value["family"]) == ["Gaussian (full covariance)"]
    assert "a-private-gmm" not in every_text(stranger)


def test_a_share_token_opens_exactly_that_run(server):
    root, token, private = server
    share = WorkspaceStore(root).share(WorkspaceStore(root).open(token), private)
    friend = visit(None, {"dataset": "toy:moons", "run": share}, "pages/samples.py")
    assert friend.selectbox(key="_widget_run").value == str(private)
    assert names(friend) == {"a-private-gmm", "public-gaussian"}
    friend.switch_page("pages/compare.py").run()
    assert not friend.exception and len(friend.dataframe[0].value) == 2  # shared with this session from now on
    assert not [box for box in friend.selectbox if box.key == "delete_run"]  # but not theirs to delete


def test_a_private_folder_name_in_a_link_opens_nothing_and_says_so(server):
    _, _, private = server
    stranger = visit(None, {"dataset": "toy:moons", "run": private.name}, "pages/samples.py")
    assert stranger.selectbox(key="_widget_run").value != str(private)
    assert "a-private-gmm" in " ".join(w.value for w in stranger.warning)
    assert names(stranger) == {"public-gaussian"}


def test_the_owner_links_their_run_by_a_share_token_and_may_delete_it(server):
    root, token, private = server
    mine = visit(token, {"dataset": "toy:moons"}, "pages/samples.py")
    mine.selectbox(key="_widget_run").set_value(str(private)).run()
    share = mine.query_params["run"]
    share = share[0] if isinstance(share, list) else share
    assert share != private.name
    assert WorkspaceStore(root).shared_run(share) == private
    mine.switch_page("pages/compare.py").run()
    assert mine.selectbox(key="delete_run").options == ["a-private-gmm"]  # the public run is not theirs
    next(b for b in mine.button if b.key == "delete_run_button").click().run()
    assert not mine.exception and not private.exists()


def test_no_server_path_on_any_page(server):
    root, token, _ = server
    at = visit(token, {"dataset": "toy:moons"})
    for page in ("pages/home.py", "pages/data.py", "pages/train.py", "pages/density.py", "pages/samples.py",
                 "pages/latent.py", "pages/compare.py", "pages/concepts.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert str(root) not in every_text(at) and str(root.parent) not in every_text(at), page


def test_the_csv_names_runs_not_folders(server):
    from genlab import leaderboard

    root, _, private = server
    csv = leaderboard.to_csv(leaderboard.runs_table(genlab.list_runs(private.parent)))
    assert "a-private-gmm" in csv and str(root) not in csv and "folder" not in csv.splitlines()[0]


def test_markdown_in_a_link_is_shown_as_text(server):
    evil = "[click me](https://evil.example) ![x](https://evil.example/x.png)"
    at = visit(None, {"dataset": "toy:moons", "run": evil}, "pages/samples.py")
    warning = " ".join(w.value for w in at.warning)
    assert r"\[click me\]\(https\://" + "\u200b" + "evil.example\\)" in warning and r"\!\[x\]" in warning
    assert "[click me](https://" not in warning


def test_a_nearly_full_disk_refuses_new_runs_with_a_sentence(server, monkeypatch):
    _, token, _ = server
    monkeypatch.setenv("GENLAB_MIN_FREE_MB", str(2**40))
    at = visit(token, {"dataset": "toy:moons"}, "pages/train.py")
    at.selectbox(key="_widget_train_family").set_value("gaussian").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception
    assert any("disk is nearly full" in e.value for e in at.error)
    assert "job_id" not in at.session_state


def test_a_workspace_over_its_disk_share_is_refused(server, monkeypatch):
    _, token, _ = server
    monkeypatch.setenv("GENLAB_WORKSPACE_DISK_MB", "0")
    at = visit(token, {"dataset": "toy:moons"}, "pages/train.py")
    at.selectbox(key="_widget_train_family").set_value("gaussian").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert any("more than one visitor may keep" in e.value for e in at.error)


def test_hosted_errors_show_a_reference_and_log_the_traceback(monkeypatch, caplog):
    def app():
        from pages._ui.errors import run_page

        class Broken:
            def run(self):
                raise RuntimeError("/srv/secret/path exploded")

        run_page(Broken())

    monkeypatch.setenv("GENLAB_HOSTED", "1")
    at = AppTest.from_function(app, default_timeout=TIMEOUT).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("Something went wrong (reference ") and "/srv" not in error.value
    reference = error.value.split("reference ")[1][:8]
    assert any(reference in r.getMessage() and "exploded" in (r.exc_text or "") for r in caplog.records)


def test_hosted_pages_still_stop_and_rerun(monkeypatch):
    def app():
        import streamlit as st

        from pages._ui.errors import run_page

        class Stops:
            def run(self):
                st.write("before")
                st.stop()

        run_page(Stops())

    monkeypatch.setenv("GENLAB_HOSTED", "1")
    at = AppTest.from_function(app, default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error and at.markdown[0].value == "before"


def test_a_ray_cluster_that_does_not_answer_is_named_on_the_page_not_waited_for(runs_in_tmp, monkeypatch):
    import ray

    assert not ray.is_initialized(), "another test left Ray connected; this one needs a process that has not joined"
    port = free_port()  # nothing listens there
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", f"127.0.0.1:{port}")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep the address on loopback
    at = visit(None, page="pages/train.py")
    error = " ".join(e.value for e in at.error)
    assert "cannot reach" in error and str(port) in error and r"GENLAB\_RAY\_ADDRESS" in error  # escaped markdown
    assert not ray.is_initialized()  # refused before ray.init, which would have retried for minutes


def test_a_hosted_server_names_its_data_folder_without_showing_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "secret-data"))
    monkeypatch.setenv("GENLAB_HOSTED", "1")
    from tests.pages.test_links import opened

    at = opened({"dataset": "mnist"}, "pages/data.py")
    text = " ".join(e.value for e in at.error)
    assert "the server's data folder" in text and "secret-data" not in text
