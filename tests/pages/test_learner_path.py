"""The learner's path: pickers say what each family answers, Home starts from a question, a run leads on."""
from pathlib import Path
from urllib.parse import parse_qs

from streamlit.testing.v1 import AppTest

import genlab
from pages._ui.capabilities import answers_all, family_label


def test_every_family_label_names_what_it_answers_from_its_class():
    families = genlab.families()
    assert family_label(families["vae"], "binary") == "VAE — density: bound · samples · latent"
    assert family_label(families["gan"], "binary") == "GAN — no density · samples"
    assert family_label(families["realnvp"], "continuous").startswith("RealNVP — density: exact")
    assert family_label(families["realnvp"], "binary").startswith("RealNVP — density: bound")
    assert "density: unnormalised" in family_label(families["ebm"], "continuous")
    for cls in families.values():
        assert len(family_label(cls, "binary")) <= 60  # short enough not to be cut off in the picker


def test_the_train_picker_shows_the_labels_and_images_start_on_a_family_that_answers_all_three(app: AppTest):
    app.selectbox(key="_widget_dataset").set_value("mnist5k").run()
    app.switch_page("pages/train.py").run()
    assert not app.exception
    picker = app.selectbox(key="_widget_train_family")
    families = genlab.families()
    assert answers_all(families[picker.value], "binary")
    assert picker.value == "vae"
    assert "VAE — density: bound · samples · latent" in picker.options


def test_a_question_on_home_sets_up_digits_and_a_family_then_opens_train(app: AppTest):
    (ask,) = [b for b in app.button if b.label == "Score my handwriting"]
    ask.click().run()
    assert not app.exception
    assert app.session_state["dataset"] == "mnist5k" and app.session_state["view"] == "binary"
    assert app.selectbox(key="_widget_train_family").value == "vae"
    assert app.query_params["family"] == "vae" and app.query_params["dataset"] == "mnist5k"
    assert any("Seconds of training" == n.label for n in app.number_input)


def test_a_finished_run_leads_on_to_its_three_questions_and_the_query_pages_open_it(app: AppTest):
    from pages._ui.jobs import job_manager
    from tests.pages.test_learner_controls import button, wait_until

    app.selectbox(key="_widget_dataset").set_value("digits").run()
    app.switch_page("pages/train.py").run()
    assert app.selectbox(key="_widget_train_family").value == "vae"
    assert hyper_parameters(app).expanded  # nothing trained yet: the settings are open
    app.number_input(key="hparam:vae:hidden_units").set_value(16)
    app.number_input(key="train_seconds").set_value(2)
    button(app, "Start").click().run()
    job = job_manager().get(app.session_state["job_id"])
    wait_until(lambda: not job.view().active, timeout=60)
    app.run()
    assert not app.exception
    assert not hyper_parameters(app).expanded  # the ended run's chart and numbers stay in view
    name = Path(job.view().folder).name
    links = {link.proto.label: link.proto for link in app.get("page_link")}
    shared = app.session_state["_run_links"][job.view().folder]  # the text the run picker names this run by
    for question in ("Density", "Samples", "Latent"):
        assert links[question].page == question.lower()
        assert parse_qs(links[question].query_string)["run"] == [shared]
    app.query_params["run"] = shared  # following "Next: Density": the picker reads the link back, no warning
    app.switch_page("pages/density.py").run()
    assert not app.exception and not app.warning
    assert app.selectbox(key="_widget_run").value == job.view().folder
    app.switch_page("pages/samples.py").run()
    assert not app.exception
    assert Path(app.selectbox(key="_widget_run").value).name == name
    label = app.selectbox(key="_widget_run").format_func(app.selectbox(key="_widget_run").value)
    assert label.startswith("VAE · hidden units 16 · ")  # what tells it apart from other VAE runs
    app.switch_page("pages/train.py").run()  # back on Train: the family and settings of the run it shows
    assert app.selectbox(key="_widget_train_family").value == "vae"
    assert app.number_input(key="hparam:vae:hidden_units").value == 16


def hyper_parameters(app: AppTest):
    (expander,) = [e.proto for e in app.expander if e.proto.label == "Hyper-parameters"]
    return expander


def test_workshop_mode_names_the_data_sets_with_pretrained_models_and_switches_to_one(app: AppTest, runs_in_tmp):
    app.sidebar.selectbox(key="_widget_dataset").set_value("toy:rings").run()
    (load,) = [b for b in app.button if b.label == "Load the pretrained models"]
    load.click().run()
    assert not app.exception
    message = app.success[0].value
    assert "MNIST 5k (bundled) (binary)" in message and "Digits 8×8" in message and "rings" not in message
    (switch,) = [b for b in app.button if b.label == "MNIST 5k (bundled) (binary)"]
    switch.click().run()
    assert app.sidebar.selectbox(key="_widget_dataset").value == "mnist5k"
    assert app.sidebar.radio(key="_widget_view").value == "binary"
