"""The Train page's seconds: its status line, the sidebar and the run's summary count the same seconds, and a
family that keeps the end of its budget for a last pass (`finishing_share`) says what those seconds went to."""
import dataclasses

import genlab
from genlab.jobs import JobState, JobView, ModelCard
from pages._ui.jobs import clock_words, finishing_split
from tests.pages.test_pages import choose_dataset, click_start, wait_for_job


def gan_view(ds, **fields) -> JobView:
    """A view of a GAN sampling by rejection, 15 s budget, running unless `fields` say otherwise."""
    model = genlab.create_model("gan", ds, sampler="ratio-critic rejection")
    view = JobView.of("j", ModelCard.of(model), ds, state=JobState.RUNNING, error="", seconds=15.0, metrics=[],
                      live={}, summary={}, folder="", created=0.0, queue_position=None, queue_length=0)
    return dataclasses.replace(view, **fields)


def test_the_clock_says_when_the_steps_stop_and_what_the_rest_is_for(points_ds):
    view = gan_view(points_ds, metrics=({"step": 9, "seconds": 6.2},))
    what, steps = view.finishing, 15 * (1 - view.finishing_share)  # 7.5 s of steps with half kept for calibration
    assert 0 < view.finishing_share < 1
    assert clock_words(view) == f"**running**, 6.2 of 15 s: steps until {steps:.1f} s, then {what}"
    calibrating = dataclasses.replace(view, metrics=({"step": 99, "seconds": steps},))
    assert clock_words(calibrating) == f"{steps:.1f} s of steps done, **{what}, then scoring the held-out test set…**"
    ended = dataclasses.replace(calibrating, state=JobState.FINISHED, summary={"train_seconds": 15.02})
    split = f"{steps:.1f} s of steps, then {15.02 - steps:.1f} s {what}"
    assert finishing_split(ended) == split
    assert clock_words(ended) == f"**finished**, 15.0 of 15 s ({split})"


def test_the_status_line_and_the_summary_agree_on_a_gan_with_a_ratio_critic(app):
    at = choose_dataset(app, "toy:8gaussians", page="pages/train.py")
    at.selectbox(key="_widget_train_family").set_value("gan").run()
    at.selectbox(key="hparam:gan:sampler").set_value("ratio-critic rejection")
    at.number_input(key="train_seconds").set_value(2)
    job = wait_for_job(click_start(at), timeout=60)
    at.run()
    assert not at.exception, at.exception
    view = job.view()
    total = view.summary["train_seconds"]
    split = f"{view.elapsed:.1f} s of steps, then {total - view.elapsed:.1f} s {view.finishing}"
    assert view.elapsed < 2 <= total + 0.05  # the steps stopped early; the run spent its budget
    (status,) = [m.value for m in at.markdown if m.value.startswith(f"**{view.title}**")]
    assert status.endswith(f"**finished**, {total:.1f} of 2 s ({split})")
    assert any(f"parameters · {total:.1f} s ({split}) · " in c.value for c in at.caption)
