"""Background jobs: they train, pause, stop within a second, leave no thread, respect the cap."""
import time

import pytest

import genlab
from genlab.jobs import CapacityError, JobManager


def wait_for(predicate, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_job_trains_saves_and_reports(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=2)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=1.0)
    assert job.join(timeout=20)
    view = job.view()
    assert view["state"] == "finished", view["error"]
    assert view["metrics"] and view["summary"]["test_nll_nats"] is not None
    assert "points" in view["live"]  # samples drawn for the live view
    model, ds, info = genlab.load_run(job.folder, load_data=False)
    assert info["summary"]["test_nll_nats"] == pytest.approx(view["summary"]["test_nll_nats"])


def test_stopped_job_thread_is_gone_within_a_second(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=60)
    assert wait_for(lambda: job.view()["metrics"])
    asked = time.perf_counter()
    job.stop()
    assert job.join(timeout=1.0), "the job thread is still alive a second after stop"
    assert time.perf_counter() - asked < 1.0
    assert job.view()["state"] == "stopped"
    assert (job.folder / "model.safetensors").exists()  # what it learned is kept


def test_pause_and_resume(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=1.5)
    assert wait_for(lambda: job.view()["metrics"])
    job.pause()
    assert job.view()["state"] == "paused"
    time.sleep(0.3)
    steps = job.view()["metrics"][-1]["step"]
    time.sleep(0.7)
    assert job.view()["metrics"][-1]["step"] == steps
    job.resume()
    assert job.join(timeout=20) and job.view()["state"] == "finished"


def test_cap_refuses_with_a_plain_sentence(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    first = manager.start(genlab.create_model("gmm", points_ds), points_ds, seconds=30)
    try:
        with pytest.raises(CapacityError, match="Stop one"):
            manager.start(genlab.create_model("gmm", points_ds), points_ds, seconds=30)
    finally:
        first.stop()
        first.join(5)
    second = manager.start(genlab.create_model("gaussian", points_ds), points_ds, seconds=1)  # room again
    assert second.join(10)


def test_session_owner_and_stale_jobs_are_stopped(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=3)
    a = manager.start(genlab.create_model("gmm", points_ds), points_ds, seconds=30, owner="tab-a")
    b = manager.start(genlab.create_model("gmm", points_ds), points_ds, seconds=30, owner="tab-b")
    assert manager.stop_owner("tab-a") == 1
    assert a.join(2) and a.view()["state"] == "stopped"
    b.heartbeat -= 100
    assert manager.stop_stale(max_silence=60) == 1
    assert b.join(2)
    assert manager.active() == []


def test_a_failing_job_reports_its_error(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    model = genlab.create_model("gmm", points_ds)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    model.initialize = broken
    job = manager.start(model, points_ds, seconds=5)
    assert job.join(5)
    view = job.view()
    assert view["state"] == "failed" and "boom" in view["error"]


def test_job_single_steps_and_changes(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=3), points_ds, seconds=30)
    assert wait_for(lambda: job.view()["metrics"])
    job.pause()
    time.sleep(0.3)
    count = len(job.view()["metrics"])
    job.step(1)  # a granted run of steps ends with a report: now we know the exact step
    assert wait_for(lambda: len(job.view()["metrics"]) > count)
    before = job.view()["metrics"][-1]["step"]
    job.change(learning_rate=-5)  # refused on the chart, the run goes on
    job.step(3)
    assert wait_for(lambda: job.view()["metrics"][-1]["step"] == before + 3)
    assert any("change refused" in m.get("event", "") for m in job.view()["metrics"])
    job.stop()
    assert job.join(2)
