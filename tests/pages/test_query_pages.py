"""Density, Samples, Latent and Compare under AppTest, on tiny runs saved once for the module.

Each page asks the model what it can do, so the runs are chosen for their answers: a Gaussian
(a bound on images, encodes, no decoder), a MADE (per-pixel terms, steps), a VAE with a 2-D latent
(decodes), a GAN (no likelihood), and on a toy a Gaussian and a KDE (no latent space).
"""
import io
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

import genlab

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 60  # the first Density visit loads a second data set for the out-of-distribution panel
RUNS = {  # folder -> (family, dataset, hyper-parameters)
    "gaussian-digits": ("gaussian", "digits", {}),
    "made-digits": ("made", "digits", {"hidden_units": 64}),
    "vae-digits": ("vae", "digits", {"latent_dim": 2, "hidden_units": 32, "iw_samples": 4}),
    "gan-digits": ("gan", "digits", {}),
    "gaussian-moons": ("gaussian", "toy:moons", {}),
    "kde-moons": ("kde", "toy:moons", {"max_points": 500, "num_bandwidths": 4}),
}


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("query-runs")
    for folder, (family, dataset, hparams) in RUNS.items():
        ds = genlab.load_dataset(dataset)
        genlab.train_and_save(genlab.create_model(family, ds, **hparams), ds, root / folder, seconds=0.5, seed=0)
    return root


@pytest.fixture
def app(monkeypatch, tmp_path, saved_runs):
    monkeypatch.setenv("GENLAB_RUNS", str(saved_runs))
    monkeypatch.setenv("GENLAB_DATA_ROOT", str(tmp_path / "no-data-here"))
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def open_run(at: AppTest, page: str, run: str) -> AppTest:
    dataset = RUNS[run][1]
    at.switch_page("pages/home.py").run()
    at.sidebar.selectbox(key="_widget_dataset").set_value(dataset).run()
    at.switch_page(page).run()
    at.selectbox(key="_widget_run").set_value(str(at_runs(at) / run)).run()
    assert not at.exception, at.exception
    return at


def at_runs(at: AppTest) -> Path:
    import os

    return Path(os.environ["GENLAB_RUNS"])


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").replace("−", "-"))


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("page", ["pages/density.py", "pages/samples.py", "pages/latent.py"])
def test_without_runs_the_query_pages_point_to_train(page, monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page(page).run()
    assert not at.exception
    assert any("No trained model" in i.value for i in at.info)
    assert any("Train" in link.label for link in at.page_link)


def test_density_scores_a_perturbed_test_image_and_ranks_it(app):
    at = open_run(app, "pages/density.py", "gaussian-digits")
    at.segmented_control(key="_widget_density_source").set_value("test").run()
    shown = metrics(at)
    assert math.isfinite(number(shown["log p_θ(x), nats"]))
    assert number(shown["Bits per dim"]) == pytest.approx(-number(shown["log p_θ(x), nats"]) / (64 * math.log(2)),
                                                          abs=2e-3)
    assert 0 <= number(shown["Percentile among test images"]) <= 100
    assert any("lower bound" in m.value for m in at.markdown)  # the kind, spelled out
    clean = number(shown["log p_θ(x), nats"])
    at.selectbox(key="_widget_density_perturbation").set_value("noise").run()
    assert not at.exception
    assert number(metrics(at)["log p_θ(x), nats"]) < clean  # noise makes a digit less likely
    assert at.dataframe[-1].value["set"].tolist()[:2] == ["held-out test images", "uniform noise"]  # the OOD panel
    assert any("The lesson" in m.value for m in at.markdown)
    assert at.selectbox(key="_widget_run").value.endswith("gaussian-digits")


def test_density_uploads_score_good_files_and_name_bad_ones(app):
    at = open_run(app, "pages/density.py", "made-digits")
    digit = np.full((40, 30), 255)
    digit[8:32, 12:18] = 0  # dark ink on white paper, taller than wide
    at.file_uploader(key="density_uploads").set_value([
        ("digit.png", png(digit), "image/png"),
        ("empty.png", b"", "image/png"),
        ("notes.png", b"this is text, not a picture", "image/png"),
        ("cut.png", png(digit)[:60], "image/png"),
    ]).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "empty.png is empty" in errors and "notes.png could not be read" in errors and "cut.png" in errors
    assert math.isfinite(number(metrics(at)["log p_θ(x), nats"]))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for k in range(10):
            z.writestr(f"digits/{k}.png", png(np.roll(digit, k, axis=1)))
        z.writestr("digits/readme.txt", "not an image")
    at.file_uploader(key="density_uploads").set_value(("many.zip", archive.getvalue(), "application/zip")).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 10  # one row per image in the zip
    assert any("Skipped 1 file(s)" in w.value for w in at.warning)
    at.selectbox(key="_widget_density_closer").set_value(3).run()
    assert not at.exception
    assert any("factorises over pixels" in m.value for m in at.markdown)  # MADE has a per-pixel map
    assert at.selectbox(key="_widget_run").value.endswith("made-digits")  # nothing lost


def test_density_on_a_toy_scores_a_typed_point(app):
    at = open_run(app, "pages/density.py", "gaussian-moons")
    at.number_input(key="_widget_density_x").set_value(1.0).run()
    at.number_input(key="_widget_density_y").set_value(-0.5).run()
    assert not at.exception
    shown = metrics(at)
    assert math.isfinite(number(shown["log p_θ(x), nats"]))
    assert math.isfinite(number(shown["log p_data(x), the truth"]))
    at.number_input(key="_widget_density_x").set_value(9000.0).run()  # far outside the plot
    assert not at.exception
    assert any("outside the plotted box" in c.value for c in at.caption)


def test_density_without_a_likelihood_says_why(app):
    at = open_run(app, "pages/density.py", "gan-digits")
    assert any("not available" in m.value and "sampler" in m.value for m in at.markdown)
    assert not at.file_uploader and any("samples" in link.label for link in at.page_link)


def test_samples_grid_downloads_steps_and_regenerates(app):
    at = open_run(app, "pages/samples.py", "made-digits")
    assert at.get("download_button")
    [frame] = [s for s in at.slider if s.label == "Frame"]
    assert frame.value == frame.max  # it opens on the finished samples
    frame.set_value(1).run()
    assert any("Frame 1 of" in c.value for c in at.caption)
    seed = at.number_input(key="_widget_sample_seed").value
    [button] = [b for b in at.button if b.label == "New samples"]
    button.click().run()
    assert at.number_input(key="_widget_sample_seed").value == seed + 1
    assert not at.exception


def test_samples_interpolate_through_a_decoder(app):
    at = open_run(app, "pages/samples.py", "vae-digits")
    at.number_input(key="_widget_sample_to").set_value(5).run()
    assert not at.exception
    assert any("decoded" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # the grid and the interpolation


def test_latent_map_traversal_and_decoded_grid(app):
    at = open_run(app, "pages/latent.py", "vae-digits")
    assert len(at.get("plotly_chart")) == 3  # the map, the traversal, the decoded plane
    assert not at.main.radio  # a 2-D latent is its own map: no projection to choose
    assert any("no projection needed" in c.value for c in at.caption)
    at.selectbox(key="_widget_latent_direction").set_value("latent coordinate z2").run()
    assert not at.exception


def test_latent_without_a_decoder_traverses_real_items(app):
    at = open_run(app, "pages/latent.py", "gaussian-digits")
    assert any("real test items" in c.value for c in at.caption)
    assert any("no decoded latent grid" in c.value for c in at.caption)


def test_latent_without_a_latent_space_suggests_families(app):
    at = open_run(app, "pages/latent.py", "kde-moons")
    assert any("has no latent space" in i.value for i in at.info)
    suggestions = " ".join(m.value for m in at.markdown)
    assert "Gaussian" in suggestions and "Kernel" not in suggestions


def families(at: AppTest):
    [widget] = [m for m in at.multiselect if m.label == "Families"]
    return widget


def test_compare_filters_by_family_and_offers_csv(app):
    at = app.switch_page("pages/home.py").run()
    at.sidebar.selectbox(key="_widget_dataset").set_value("digits").run()
    at.switch_page("pages/compare.py").run()
    table = at.dataframe[0].value
    assert len(table) == 4 and "bits/dim" in table.columns
    families(at).set_value(["made", "vae"]).run()
    assert sorted(at.dataframe[0].value["family"].str.split(" ").str[0]) == ["MADE", "VAE"]
    assert at.get("download_button")
    [data] = [m for m in at.multiselect if m.label == "Data sets"]
    data.set_value([("digits", "binary"), ("toy:moons", "continuous")]).run()
    families(at).set_value(["gaussian"]).run()
    assert not at.exception
    assert sorted(at.dataframe[0].value["data"]) == ["Digits 8×8 (scikit-learn), binary", "moons (2-D toy)"]
    assert any("different data sets" in w.value for w in at.warning)
