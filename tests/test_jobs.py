"""Background jobs: they train, pause, stop within a second, leave no thread, respect the cap."""
import dataclasses
import os
import threading
import time

import pytest
import torch

import genlab
from genlab.jobs import CapacityError, JobBackend, JobHandle, JobManager, JobState, JobView, ModelCard
from genlab.runtime import TRAINING_NICENESS, yield_to_pages


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
    assert view.state == "finished", view.error
    assert view.metrics and view.summary["test_nll_nats"] is not None
    assert "points" in view.live  # samples drawn for the live view
    model, ds, info = genlab.load_run(job.folder, load_data=False)
    assert info["summary"]["test_nll_nats"] == pytest.approx(view.summary["test_nll_nats"])


def test_stopped_job_thread_is_gone_within_a_second(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=60)
    assert wait_for(lambda: job.view().metrics)
    asked = time.perf_counter()
    job.stop()
    assert job.join(timeout=1.0), "the job thread is still alive a second after stop"
    assert time.perf_counter() - asked < 1.0
    assert job.view().state == "stopped"
    assert (job.folder / "model.safetensors").exists()  # what it learned is kept


def test_pause_and_resume(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=1.5)
    assert wait_for(lambda: job.view().metrics)
    job.pause()
    assert job.view().state == "paused"
    time.sleep(0.3)
    steps = job.view().metrics[-1]["step"]
    time.sleep(0.7)
    assert job.view().metrics[-1]["step"] == steps
    job.resume()
    assert job.join(timeout=20) and job.view().state == "finished"


def test_cap_refuses_with_a_plain_sentence(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1, max_queued=0)
    first = manager.start(genlab.create_model("gmm", points_ds), points_ds, seconds=30)
    try:
        with pytest.raises(CapacityError, match="press Start again"):
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
    assert a.join(2) and a.view().state == "stopped"
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
    assert view.state == "failed" and "boom" in view.error


def test_job_single_steps_and_changes(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=3), points_ds, seconds=30)
    assert wait_for(lambda: job.view().metrics)
    job.pause()
    time.sleep(0.3)
    count = len(job.view().metrics)
    job.step(1)  # a granted run of steps ends with a report: now we know the exact step
    assert wait_for(lambda: len(job.view().metrics) > count)
    before = job.view().metrics[-1]["step"]
    job.change(learning_rate=-5)  # refused on the chart, the run goes on
    job.step(3)
    assert wait_for(lambda: job.view().metrics[-1]["step"] == before + 3)
    assert any("change refused" in m.get("event", "") for m in job.view().metrics)
    job.stop()
    assert job.join(2)


# ---- many users on one server: the queue, per-session limits, bounded memory -------------
def gmm(ds, seconds=30.0):
    return genlab.create_model("gmm", ds, num_components=2), ds, seconds


def queue_of(job):
    view = job.view()
    return view.state, view.queue_position, view.queue_length


def test_queued_jobs_start_in_order_when_a_slot_frees(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    first = manager.start(*gmm(points_ds, seconds=1.0), owner="a")
    second = manager.start(*gmm(points_ds), owner="b")
    third = manager.start(*gmm(points_ds, seconds=1.0), owner="c")
    try:
        assert queue_of(first) == ("running", None, 0)
        assert queue_of(second) == ("queued", 1, 2) and queue_of(third) == ("queued", 2, 2)
        assert first.join(20) and first.view().state == "finished"  # finishing hands its slot on
        assert wait_for(lambda: second.view().state == "running")
        assert queue_of(third) == ("queued", 1, 1)
        second.stop()  # so does stopping
        assert wait_for(lambda: third.view().state != "queued") and third.join(20) and third.view().state == "finished"
        assert manager.load() == {"training": 0, "queued": 0, "max_concurrent": 1, "max_queued": 16}
    finally:
        manager.shutdown()


def test_a_stopped_queued_job_leaves_the_queue_and_writes_nothing(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    running, *waiting = [manager.start(*gmm(points_ds), owner=owner) for owner in "abcd"]
    try:
        waiting[1].stop()
        assert queue_of(waiting[1]) == ("stopped", None, 0) and not waiting[1].folder.exists()
        assert queue_of(waiting[0]) == ("queued", 1, 2) and queue_of(waiting[2]) == ("queued", 2, 2)
        running.stop()
        assert wait_for(lambda: waiting[0].view().state == "running")
        assert queue_of(waiting[2]) == ("queued", 1, 1)
    finally:
        manager.shutdown()


def test_a_full_queue_refuses_with_a_plain_sentence(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1, max_queued=1)
    manager.start(*gmm(points_ds), owner="a")
    manager.start(*gmm(points_ds), owner="b")
    try:
        with pytest.raises(CapacityError, match="The server is busy.*1 are waiting.*press Start again"):
            manager.start(*gmm(points_ds), owner="c")
    finally:
        manager.shutdown()


def test_one_job_training_or_waiting_per_session(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    manager.start(*gmm(points_ds), owner="a")
    queued = manager.start(*gmm(points_ds), owner="b")
    try:
        for owner in "ab":
            with pytest.raises(CapacityError, match="You already have a job training or waiting"):
                manager.start(*gmm(points_ds), owner=owner)
        queued.stop()
        assert manager.start(*gmm(points_ds), owner="b").view().state == "queued"
    finally:
        manager.shutdown()


def test_a_session_may_keep_so_many_runs_and_megabytes(points_ds, runs_in_tmp):
    import shutil

    manager = JobManager(runs_in_tmp, max_runs_per_session=2, max_session_disk_mb=1e-4)

    def fit(owner):
        job = manager.start(genlab.create_model("gaussian", points_ds), points_ds, seconds=5, owner=owner)
        assert job.join(20) and job.view().state == "finished"
        return job

    with pytest.raises(CapacityError, match=r"runs take 0 MB on disk.*\(0.0001 MB\).*Compare page"):
        fit("a"), fit("a")
    manager.max_session_disk_mb = None
    first = manager.jobs("a")[0]
    fit("a")
    with pytest.raises(CapacityError, match=r"2 saved runs.*\(2\).*Delete some on the Compare page"):
        fit("a")
    fit("b")  # another session has its own count
    shutil.rmtree(first.folder)  # a deleted run no longer counts
    fit("a")


def test_stale_queued_jobs_are_stopped(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    running = manager.start(*gmm(points_ds), owner="a")
    queued = manager.start(*gmm(points_ds), owner="b")
    try:
        queued.heartbeat -= 100
        assert manager.stop_stale(max_silence=60) == 1
        assert queue_of(queued) == ("stopped", None, 0) and running.view().state == "running"
    finally:
        manager.shutdown()


def test_ended_jobs_are_forgotten_and_hold_no_weights(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, keep_finished=2)
    for _ in range(3):
        job = manager.start(genlab.create_model("gaussian", points_ds), points_ds, seconds=5, owner="a")
        assert job.join(20)
    assert manager.jobs("a")[-1] is job and len(manager.jobs("a")) == 2
    assert not isinstance(job.model, torch.nn.Module) and job.view().title == job.model.title
    running = manager.start(*gmm(points_ds), owner="a")
    manager.release_owner("a")  # the session went away
    assert running.join(5) and manager.jobs("a") == []


def test_shutdown_leaves_no_thread_and_an_empty_queue(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=1)
    jobs = [manager.start(*gmm(points_ds), owner=owner) for owner in "abc"]
    manager.shutdown(timeout=5)
    assert [j.view().state for j in jobs] == ["stopped"] * 3
    assert not [t.name for t in threading.enumerate() if t.name.startswith("genlab-")]
    assert manager.load()["queued"] == 0
    with pytest.raises(CapacityError, match="shutting down"):
        manager.start(*gmm(points_ds), owner="d")


def test_job_player_reset_and_slow_motion(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    model = genlab.create_model("gan", points_ds, hidden_units=16, hidden_layers=1, batch_size=32)
    job = manager.start(model, points_ds, seconds=60)
    try:
        assert wait_for(lambda: job.view().live)
        job.pause()
        job.change(player="discriminator")
        job.step(2)
        assert wait_for(lambda: any(m.get("event") == "training: discriminator only" for m in job.view().metrics))
        live = job.view().live
        job.reset()  # from the pause: reported, and the live picture redrawn, at once
        assert wait_for(lambda: job.view().metrics[-1].get("event") == "reset to initial weights")
        assert job.view().live["points"] is not live["points"]
        assert job.view().state == "paused"
        job.set_speed(5)
        reports = len(job.view().metrics)
        job.resume()
        assert wait_for(lambda: len(job.view().metrics) >= reports + 2, timeout=20)
        first, second = (m["step"] for m in job.view().metrics[reports:reports + 2])
        assert second - first == 5  # slow motion: a report (and a redraw) every 5 steps
    finally:
        job.stop()
    assert job.join(3)


# ---- the boundary a page reads: states, a frozen view, a card that outlives the model ----
def test_job_states_are_an_enum_equal_to_their_names():
    assert [s.value for s in JobState] == ["queued", "running", "paused", "finished", "stopped", "failed"]
    assert JobState.RUNNING == "running" and f"{JobState.PAUSED}" == "paused"
    assert [s for s in JobState if s.training] == [JobState.RUNNING, JobState.PAUSED]
    assert [s for s in JobState if s.active] == [JobState.QUEUED, JobState.RUNNING, JobState.PAUSED]


def test_the_view_is_frozen_and_does_not_follow_the_job(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    assert isinstance(manager, JobBackend)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=2), points_ds, seconds=30)
    try:
        assert isinstance(job, JobHandle)
        assert wait_for(lambda: job.view().metrics)
        view = job.view()
        assert isinstance(view, JobView) and view.state is JobState.RUNNING and view.active
        with pytest.raises(dataclasses.FrozenInstanceError):
            view.state = JobState.STOPPED
        with pytest.raises(TypeError):
            view.live["points"] = None
        assert isinstance(view.metrics, tuple) and view.elapsed == view.metrics[-1]["seconds"]
        assert not view.scoring  # still within its budget
        spent = dataclasses.replace(view, metrics=view.metrics + ({"step": 1, "seconds": 30.4},))
        assert spent.scoring  # the budget spent, still running: it scores the test set
        assert not dataclasses.replace(spent, state=JobState.FINISHED).scoring
        assert (view.family, view.trainable, view.changeable, view.players) == ("gmm", True, job.model.changeable, ())
        assert wait_for(lambda: len(job.view().metrics) > len(view.metrics))
        job.stop()
        assert job.join(5)
        assert view.state is JobState.RUNNING and view.summary == {}  # taken before: unchanged
        assert job.view().state is JobState.STOPPED and job.view().summary
    finally:
        job.stop()


def test_a_job_that_ends_between_check_and_read_still_has_its_capabilities(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp)
    model = genlab.create_model("gan", points_ds, hidden_units=16, hidden_layers=1, batch_size=32)
    job = manager.start(model, points_ds, seconds=30)
    assert wait_for(lambda: job.view().metrics)
    checked = job.active  # what a page checked ...
    job.stop()
    assert job.join(5)  # ... then the run ended and its model became a card
    assert checked and isinstance(job.model, ModelCard)
    assert job.model.changeable == model.changeable and job.model.players == model.players
    assert job.model.trainable and job.model.config.critic_steps == model.config.critic_steps
    view = job.view()
    assert (view.changeable, view.players, view.trainable) == (model.changeable, model.players, True)


def test_a_family_that_finishes_its_training_scores_once_its_steps_end(points_ds):
    model = genlab.create_model("gan", points_ds, sampler="ratio-critic rejection")
    card = ModelCard.of(model)
    assert (card.finishing_share, card.finishing) == (model.finishing_share, model.finishing)
    assert card.finishing_share > 0 and card.finishing
    view = JobView.of("j", card, points_ds, state=JobState.RUNNING, error="", seconds=15.0,
                      metrics=[{"step": 1, "seconds": 7.4}], live={}, summary={}, folder="", created=0.0,
                      queue_position=None, queue_length=0)
    assert view.steps_seconds == pytest.approx(15.0 * (1 - card.finishing_share)) and not view.scoring  # 7.4 < 7.5
    steps_done = dataclasses.replace(view, metrics=({"step": 2, "seconds": round(view.steps_seconds, 3)},))
    assert steps_done.scoring  # the steps stop early: the rest of the budget finishes, then the test set is scored
    assert ModelCard.of(genlab.create_model("gan", points_ds)).finishing_share == 0.0


def test_limits_come_from_the_environment(runs_in_tmp, monkeypatch):
    for name in ("GENLAB_MAX_JOBS", "GENLAB_MAX_QUEUE", "GENLAB_SESSION_RUNS", "GENLAB_SESSION_DISK_MB"):
        monkeypatch.delenv(name, raising=False)
    manager = JobManager.from_env(runs_in_tmp)
    assert (manager.runs_root, manager.max_concurrent, manager.max_queued) == (runs_in_tmp, 2, 16)
    assert (manager.max_runs_per_session, manager.max_session_disk_mb) == (50, 200.0)
    monkeypatch.setenv("GENLAB_MAX_JOBS", "none")
    monkeypatch.setenv("GENLAB_MAX_QUEUE", " None ")
    monkeypatch.setenv("GENLAB_SESSION_RUNS", "-3")
    monkeypatch.setenv("GENLAB_SESSION_DISK_MB", "12.5")
    manager = JobManager.from_env(runs_in_tmp)
    assert (manager.max_concurrent, manager.max_queued, manager.max_runs_per_session) == (2**31, None, 0)
    assert manager.max_session_disk_mb == 12.5
    monkeypatch.setenv("GENLAB_MAX_QUEUE", "many")
    with pytest.raises(ValueError, match=r"^GENLAB_MAX_QUEUE must be a whole number of waiting jobs, "
                                         r"or 'none' for no limit; got 'many'\.$"):
        JobManager.from_env(runs_in_tmp)


def test_without_a_ray_address_the_backend_is_local(runs_in_tmp, monkeypatch):
    from genlab.jobs import LocalBackend, backend_from_env

    monkeypatch.delenv("GENLAB_RAY_ADDRESS", raising=False)
    assert isinstance(backend_from_env(runs_in_tmp), LocalBackend)


def test_a_closed_tab_stops_only_the_jobs_it_started(points_ds, runs_in_tmp):
    manager = JobManager(runs_in_tmp, max_concurrent=2)
    try:
        mine = manager.start(*gmm(points_ds), owner="workspace-a", session="tab-1")
        other = manager.start(*gmm(points_ds), owner="workspace-b", session="tab-2", runs_root=runs_in_tmp / "b")
        assert manager.release_session("tab-1") == 1
        assert mine.join(10) and mine.view().state == "stopped" and other.active
        assert other.folder.parent == runs_in_tmp / "b"
    finally:
        manager.shutdown()


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are a Linux feature")
def test_a_training_thread_steps_back_for_the_pages_and_the_server_does_not(points_ds, runs_in_tmp):
    me = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, me)
    manager = JobManager(runs_in_tmp)
    job = manager.start(genlab.create_model("gmm", points_ds, num_components=4), points_ds, seconds=30)
    try:
        assert wait_for(lambda: job.view().metrics)
        assert os.getpriority(os.PRIO_PROCESS, job.thread.native_id) == max(before, TRAINING_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, me) == before  # the thread that serves pages keeps its priority
    finally:
        job.stop()
        job.join(timeout=5)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are a Linux feature")
def test_yield_to_pages_only_ever_lowers_and_reads_its_setting(monkeypatch):
    seen = {}

    def in_a_thread(niceness=None):
        seen[niceness] = yield_to_pages(niceness)

    for niceness in (3, None):
        monkeypatch.setenv("GENLAB_TRAINING_NICENESS", "0")
        worker = threading.Thread(target=in_a_thread, args=(niceness,))
        worker.start()
        worker.join()
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen == {3: max(base, 3), None: base}  # 0 in the environment leaves a thread as it was
    monkeypatch.setenv("GENLAB_TRAINING_NICENESS", "fast")
    with pytest.raises(ValueError, match="GENLAB_TRAINING_NICENESS"):
        yield_to_pages()


def test_the_queue_limit_counts_the_jobs_that_will_still_wait_when_a_slot_is_between_two_jobs():
    from genlab.jobs.base import CapacityError, check_queue

    check_queue(0, 0, 2, 0)  # a free slot: starts at once, even with no queue allowed
    check_queue(1, 16, 2, 16)  # one slot free on Ray, its next actor not placed yet: 15 will still wait
    for training, waiting in ((2, 16), (1, 17), (0, 18)):  # 16 still waiting once the slots are taken
        with pytest.raises(CapacityError, match="16 waiting"):
            check_queue(training, waiting, 2, 16)


def test_a_cluster_trains_one_run_per_gpu_when_runs_ask_for_gpus_else_one_per_cpu():
    from genlab.jobs.base import Capacity

    assert Capacity("Ray cluster", 2, 16, 16, gpus=1).slots(use_gpu=True) == 1  # the queue limit counts these
    assert Capacity("Ray cluster", 2, 16, 16, gpus=1).slots(use_gpu=False) == 16
    assert Capacity("Ray cluster", 1, 4, 4).slots(use_gpu=True) == 4  # asked for GPUs, none there: CPUs train
