"""The learner's path: pickers say what each family answers, Home starts from a question, a run leads on."""
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
    picker = app.selectbox(key="train_family")
    families = genlab.families()
    assert answers_all(families[picker.value], "binary")
    assert picker.value == "vae"
    assert "VAE — density: bound · samples · latent" in picker.options
