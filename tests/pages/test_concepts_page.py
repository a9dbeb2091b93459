"""The Concepts page under AppTest: every panel runs and shows its key numbers.

The page is run directly (app.py's navigation does not list it yet), marked as entered through
the entrypoint as app.py would; each panel is opened through its tab's session-state key, which
is what a click on the tab (or the `concepts_tab` query parameter of a shared link) sets.
Training budgets are lowered through their widgets' keys so the panels answer in seconds.
"""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import genlab

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "concepts.py")
TIMEOUT = 60


def open_panel(tab: str, **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["_entered_through_app"] = True  # what app.py's mark_entrypoint() sets
    at.session_state["concepts_tab"] = tab
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def messages(at: AppTest) -> str:
    return " ".join(m.value for m in list(at.info) + list(at.success))


def test_generative_vs_discriminative_on_two_moons():
    at = open_panel("Generative vs. discriminative")
    shown = metrics(at)
    for title in ("Logistic regression", "Gaussian naive Bayes", "Per-class Kernel density estimate"):
        assert 0.5 < percent(shown[title]) <= 1.0, title
    assert percent(shown["Per-class Kernel density estimate"]) > percent(shown["Logistic regression"])  # moons bend
    assert float(shown["Novelty threshold (nats)"]) < 0
    # five boundaries, two class densities, samples, the novelty map, the learning curve
    assert len(at.get("plotly_chart")) == 10
    assert "curves" in messages(at) and "labelled examples per class" in messages(at)
    point = at.dataframe[0].value  # the far-away default input: the generative side says it fits no class
    assert point["fits no class"].iloc[-1]
    at.run()  # the sidebar is drawn by the page itself, so it survives a rerun
    assert at.sidebar.selectbox(key="_widget_dataset").value == "toy:8gaussians"


def test_generative_vs_discriminative_on_digits_samples_each_class_and_flags_noise():
    at = open_panel("Generative vs. discriminative", concepts_class_data="digits")
    assert 0.8 < percent(metrics(at)["Logistic regression"]) <= 1.0
    novelty = at.dataframe[0].value.set_index("inputs")
    assert novelty.loc["uniform noise", "flagged (fits no class)"] == 1.0
    assert novelty.loc["held-out test images", "flagged (fits no class)"] < 0.2


def test_a_family_fitted_per_class_joins_the_comparison():
    at = open_panel("Generative vs. discriminative", concepts_family="gmm", concepts_family_seconds=0.5)
    at.button(key="concepts_family_button").click().run()
    assert not at.exception, at.exception
    assert 0.5 < percent(metrics(at)["Per-class Gaussian mixture"]) <= 1.0


def test_parametric_vs_nonparametric_shows_what_each_stores():
    at = open_panel("Parametric vs. non-parametric")
    shown = metrics(at)
    assert shown["Gaussian · stored"] == "6"  # a 2-D mean and a Cholesky factor, whatever n is
    assert shown["KDE · stored"] == f"{2700 * 2 + 1:,}"  # 3,000 points less the validation tenth, and h
    assert float(shown["KDE · NLL (nats)"]) < float(shown["Gaussian · NLL (nats)"])  # 8 blobs, one Gaussian
    assert "Gaussian" in messages(at) and "KDE" in messages(at)


def test_parametric_vs_nonparametric_on_images_says_its_numbers_are_bounds():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["_entered_through_app"] = True
    at.session_state["concepts_tab"] = "Parametric vs. non-parametric"
    at.run()
    at.sidebar.selectbox(key="_widget_dataset").set_value("digits").run()
    assert not at.exception, at.exception
    assert {"Gaussian · bits/dim (upper bound)", "KDE · bits/dim (upper bound)"} <= set(metrics(at))


def test_curse_of_dimensionality_counts_and_measures():
    at = open_panel("Curse of dimensionality", concepts_gap_seconds=0.5)
    shown = metrics(at)
    assert shown["Possible 700×1400×3 8-bit images"] == "10^7,080,225"
    assert shown["Possible inputs"] == "10^236.0"  # binary MNIST by default
    assert any("800{,}000" in m.value for m in at.markdown)  # the notes' misprint, named
    assert any("even 15 million training images" in m.value for m in at.markdown)  # not cited as a data set's size
    assert any("two data sets" in m.value for m in at.markdown)  # digits and MNIST 5k, said so
    assert "bits per image" in messages(at)
    at.button(key="concepts_shape_notes").click().run()
    assert metrics(at)["Possible inputs"] == "10^7,080,225.5"


@pytest.mark.parametrize("saved_run", [False, True])
def test_downstream_inference_probes_features(saved_run, runs_in_tmp):
    if saved_run:
        ds = genlab.load_dataset("digits")
        genlab.train_and_save(genlab.create_model("gaussian", ds), ds, runs_in_tmp / "gaussian-digits", seconds=1)
    at = open_panel("Downstream inference", concepts_probe_seconds=1.0)
    values = [percent(m.value) for m in at.metric]  # raw pixels, then features: 10, 100, all labels per class
    assert len(values) == 6 and all(0.0 <= v <= 1.0 for v in values)
    assert at.metric[2].label == "all labels" and values[2] > 0.5  # raw pixels; chance is 0.1
    chosen = at.selectbox(key="_widget_concepts_probe_source").value
    assert chosen.endswith("gaussian-digits") if saved_run else chosen == "__fresh__"
