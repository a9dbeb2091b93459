"""The Train page's game and speed controls: who trains in a GAN, reset to initial weights, slow motion."""
from streamlit.testing.v1 import AppTest

from tests.pages.test_learner_controls import button, wait_until

TINY_GAN = {"hidden_units": 16, "hidden_layers": 1, "batch_size": 32}


def started(at: AppTest, family: str, hparams: dict | None = None, seconds: int = 120):
    """Start `family` on 8gaussians from the Train page; returns its job once it has reported."""
    from pages._ui.jobs import job_manager

    at.switch_page("pages/train.py").run()
    at.selectbox(key="_widget_train_family").set_value(family).run()
    for name, value in (hparams or {}).items():
        at.number_input(key=f"hparam:{family}:{name}").set_value(value)
    at.number_input(key="train_seconds").set_value(seconds)
    button(at, "Start").click().run()
    job = job_manager().get(at.session_state["job_id"])
    wait_until(lambda: len(job.view().metrics) >= 1)
    return job


def events(job) -> list[str]:
    return [r["event"] for r in job.view().metrics if "event" in r]


def step_once(at: AppTest, job) -> None:
    reports = len(job.view().metrics)
    button(at, "Step 1").click().run()
    wait_until(lambda: len(job.view().metrics) > reports)


def test_a_gan_offers_who_trains_critic_steps_reset_and_speed(app):
    job = started(app, "gan", TINY_GAN)
    try:
        button(app, "Pause").click().run()
        # The pause is reported (and marked) by the training thread; let that report land before stepping.
        wait_until(lambda: any("paused" in r.get("control", "") for r in job.view().metrics))
        players = app.radio(key=f"player:{job.id}")
        assert players.label == "Who trains" and players.value == "both"
        assert list(players.options) == ["both players", "the discriminator only", "the generator only"]
        assert app.number_input(key=f"change_critic_steps:{job.id}").value == 1
        players.set_value("generator").run()
        step_once(app, job)  # the change takes effect (and is marked) at the next step
        assert "training: generator only" in events(job)
        app.number_input(key=f"change_critic_steps:{job.id}").set_value(3)
        button(app, "Apply now").click().run()
        step_once(app, job)
        assert job.model.config.critic_steps == 3 and "critic_steps 1 → 3" in events(job)
        button(app, "Reset weights").click().run()
        wait_until(lambda: events(job)[-1:] == ["reset to initial weights"])
        assert job.view().state == "paused"
        app.select_slider(key=f"speed:{job.id}").set_value("10 steps per redraw").run()
        assert job.control.steps_per_report == 10
        app.select_slider(key=f"speed:{job.id}").set_value("full speed").run()
        assert job.control.steps_per_report is None
        assert not app.exception
        chart = app.get("plotly_chart")[0]
        assert "reset to initial weights" in chart.proto.spec  # marked on the training curves
        assert "by a Gaussian mixture fitted to 4,000 samples" in chart.proto.spec  # the KL's method, live
        assert "training objective (not always a divergence)" in chart.proto.spec
    finally:
        job.stop()
        job.join(10)


def test_a_single_objective_has_no_players_and_a_closed_form_no_reset(app):
    job = started(app, "gmm", {"num_components": 2})
    try:
        assert not [r for r in app.radio if r.label == "Who trains"], "a family with one objective has no players"
        assert not [n for n in app.number_input if n.key.startswith("change_critic_steps")]
        assert button(app, "Reset weights") and app.select_slider(key=f"speed:{job.id}").value == "full speed"
    finally:
        job.stop()
        job.join(10)
    app.run()
    assert button(app, "Reset weights").disabled  # the run is over
    job = started(app, "gaussian", seconds=1)
    assert job.join(10)
    app.run()
    assert not app.exception
    assert not [b for b in app.button if b.label == "Reset weights"]
    assert not [r for r in app.radio if r.label == "Who trains"]


def test_the_stop_click_itself_shows_the_run_stopped(app):
    job = started(app, "gmm", {"num_components": 4})
    button(app, "Stop").click().run()
    assert not app.exception, app.exception
    assert not job.view().active
    assert any("— **stopped**" in m.value for m in app.markdown)  # no wait for the next redraw


def test_the_live_heatmap_of_a_familys_field_says_which_network_it_shows(app, monkeypatch):
    from genlab.models.gan import GAN

    note = "The game's own discriminator D(x), with the R1 penalty; the ratio critic is not shown."
    monkeypatch.setattr(GAN, "field_notes", lambda self: {self.critic_field: note})
    job = started(app, "gan", {**TINY_GAN}, seconds=1)
    assert job.join(30)
    app.run()
    assert not app.exception, app.exception
    assert any('"discriminator now"' in chart.proto.spec for chart in app.get("plotly_chart"))
    assert note in [c.value for c in app.caption]
