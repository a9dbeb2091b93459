"""The Ray backend against a real local Ray (two CPUs): runs train in actors and come back to this server's store."""
import os
import time

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements.txt brings it)")

import genlab  # noqa: E402
from genlab.jobs import CapacityError, JobState, backend_from_env  # noqa: E402
from genlab.jobs.ray_backend import RayBackend  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """A local Ray with two CPUs, bound to 127.0.0.1, for the whole module (it takes seconds to start)."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)  # its own, even if one runs
    yield
    ray.shutdown()


@pytest.fixture
def backend(cluster, runs_in_tmp, monkeypatch):
    monkeypatch.setenv("GENLAB_RAY_ADDRESS", "auto")  # what the app is started with; this process already joined
    backend = backend_from_env(runs_in_tmp)
    assert isinstance(backend, RayBackend)
    yield backend
    backend.shutdown(timeout=30)
    assert wait_for(lambda: free_cpus() == 2, 30), "an actor still holds its CPU after the backend shut down"


def wait_for(predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def free_cpus() -> float:
    return ray.available_resources().get("CPU", 0)


def gmm(ds):
    return genlab.create_model("gmm", ds, num_components=4)


def test_a_run_trains_in_an_actor_and_is_saved_in_the_servers_store(backend, points_ds):
    assert str(backend.capacity()).startswith("Ray cluster: 2 CPUs on 1 node")
    job = backend.start(gmm(points_ds), points_ds, seconds=1.0)
    assert job.join(120)
    view = job.view()
    assert view.state == "finished", view.error
    assert view.metrics and "points" in view.live
    assert view.summary["trained_on"].startswith("Ray node")
    files = {p.name for p in job.folder.iterdir()}
    assert {"config.json", "metrics.jsonl", "model.safetensors", "summary.json"} <= files
    model, _, info = genlab.load_run(job.folder, load_data=False)
    assert model.name == "gmm"
    assert info["summary"]["test_nll_nats"] == pytest.approx(view.summary["test_nll_nats"])
    assert info["summary"]["trained_on"] == view.summary["trained_on"]  # the record says where it trained


def test_pause_resume_and_stop_reach_the_actor(backend, points_ds):
    job = backend.start(gmm(points_ds), points_ds, seconds=120)
    assert wait_for(lambda: job.view().metrics)
    job.pause()
    assert job.view().state == "paused"
    time.sleep(2.5)  # the pause reaches the actor, the last reports before it arrive
    steps = job.view().metrics[-1]["step"]
    time.sleep(2.5)
    assert job.view().metrics[-1]["step"] == steps
    job.resume()
    assert wait_for(lambda: job.view().metrics[-1]["step"] > steps)
    job.stop()
    assert job.join(60) and job.view().state == "stopped"
    assert genlab.load_run(job.folder, load_data=False)[0].name == "gmm"  # what it learned is kept
    assert wait_for(lambda: free_cpus() == 2, 10), "the stopped run's actor still holds its CPU"


def test_three_runs_on_two_cpus_queue_and_all_finish(backend, points_ds):
    # 5 s each: the second actor's worker may take seconds to start (it imports torch); a 1 s first run could
    # end before it, and the moment with two running and one waiting never came (a CI failure)
    jobs = [backend.start(gmm(points_ds), points_ds, seconds=5.0, seed=seed) for seed in range(3)]
    assert wait_for(lambda: [j.state for j in jobs] == [JobState.RUNNING, JobState.RUNNING, JobState.QUEUED])
    third = jobs[2].view()
    assert (third.queue_position, third.queue_length) == (1, 1)
    assert backend.load()["queued"] == 1 and backend.max_concurrent == 2
    assert all(job.join(120) for job in jobs)
    assert [job.view().state for job in jobs] == ["finished"] * 3


def test_a_killed_actor_becomes_a_failed_run_with_a_plain_message(backend, points_ds):
    job = backend.start(gmm(points_ds), points_ds, seconds=120)
    assert wait_for(lambda: job.view().metrics)
    ray.kill(job.actor)
    assert job.join(60)
    view = job.view()
    assert view.state == "failed"
    assert view.error.startswith("The Ray worker training this run was lost") and "Press Start" in view.error
    assert not (job.folder / "summary.json").exists()


def test_a_closed_tab_frees_its_cpu(backend, points_ds):
    job = backend.start(gmm(points_ds), points_ds, seconds=120, owner="tab")
    with pytest.raises(CapacityError, match="already have a job"):
        backend.start(gmm(points_ds), points_ds, owner="tab")
    assert wait_for(lambda: job.view().metrics and free_cpus() == 1)
    assert backend.release_owner("tab") == 1
    assert wait_for(lambda: free_cpus() == 2, 30), "the closed tab's actor still holds its CPU"
    assert job.join(1) and job.view().state == "stopped"
    assert wait_for(lambda: backend.jobs("tab") == [], 5)


def test_an_address_nothing_answers_at_is_refused_at_once_and_one_that_answers_passes(monkeypatch):
    import re
    import socket

    from genlab.health import free_port
    from genlab.jobs.ray_backend import check_reachable

    silent = free_port()
    for address in (f"127.0.0.1:{silent}", f"ray://127.0.0.1:{silent}"):
        begun = time.monotonic()
        with pytest.raises(ConnectionError, match=re.escape(f"nothing answers at '{address}'")):
            check_reachable(address)
        assert time.monotonic() - begun < 10  # ray.init itself retries such an address for minutes
    with socket.socket() as listening:
        listening.bind(("", 0))  # every interface: Ray may resolve 127.0.0.1 to this machine's address
        listening.listen()
        check_reachable(f"127.0.0.1:{listening.getsockname()[1]}")
