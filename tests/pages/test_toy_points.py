"""A generated toy's number of training points: chosen in the sidebar, carried by links, kept apart in the run lists."""
from streamlit.testing.v1 import AppTest

import genlab
from tests.pages.test_links import opened


def points_slider(at: AppTest):
    return at.sidebar.select_slider(key="_widget_toy_points")


def test_the_data_page_draws_the_chosen_number_and_the_link_carries_it(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:moons"}, "pages/data.py")
    assert points_slider(at).value == 20_000
    assert "20,000" in " ".join(m.value for m in at.metric)
    points_slider(at).set_value(1_000).run()
    assert not at.exception, at.exception
    assert "1,000" in " ".join(m.value for m in at.metric)
    box = next(code.value for code in at.sidebar.code)
    assert "points=1000" in box
    fresh = opened({"dataset": "toy:moons", "points": "1000"}, "pages/data.py")
    assert points_slider(fresh).value == 1_000


def test_a_link_with_a_number_the_sidebar_does_not_offer_warns_and_keeps_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    for asked in ("999999999999", "-3", "lots"):
        at = opened({"dataset": "toy:moons", "points": asked})
        assert points_slider(at).value == 20_000
        assert any("points" in w.value for w in at.warning), asked


def test_image_sets_have_no_points_control(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "digits"})
    assert not [s for s in at.sidebar.select_slider if s.key == "_widget_toy_points"]


def two_sizes(tmp_path) -> None:
    """A Gaussian on moons at the default number of training points, and one at 1,000."""
    for points in (None, 1_000):
        ds = genlab.load_dataset("toy:moons", points=points)
        model = genlab.create_model("gaussian", ds)
        genlab.train_and_save(model, ds, tmp_path / f"gaussian-{points or 'default'}", seconds=0.2)


def test_the_run_picker_lists_the_runs_at_the_chosen_number_of_points(monkeypatch, tmp_path):
    two_sizes(tmp_path)
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:moons"}, "pages/samples.py")
    (default,) = at.selectbox(key="_widget_run").options
    assert "gaussian-default" in default and "points" not in default
    at = opened({"dataset": "toy:moons", "points": "1000"}, "pages/samples.py")
    (small,) = at.selectbox(key="_widget_run").options
    assert "gaussian-1000" in small and "1,000 points" in small


def test_compare_shows_each_runs_training_points(monkeypatch, tmp_path):
    two_sizes(tmp_path)
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:moons"}, "pages/compare.py")
    table = at.dataframe[0].value
    assert sorted(table["training points"]) == [1_000, 20_000]
    spec = at.get("plotly_chart")[0].proto.spec
    assert "1,000 points" in spec and "20,000 points" in spec  # the bars say which is which


def test_train_says_how_many_training_points_a_run_gets(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "toy:moons", "points": "1000"}, "pages/train.py")
    assert any("1,000 training points" in c.value for c in at.caption)


def test_a_number_of_points_for_a_set_without_one_is_refused_up_front(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "digits", "points": "1000"})
    assert any("fixed number of training items" in w.value for w in at.sidebar.warning)
    assert "points" not in at.query_params
    at.sidebar.selectbox(key="_widget_dataset").set_value("toy:moons").run()
    assert points_slider(at).value == 20_000  # the refused number is not applied later


def test_a_preset_for_a_family_without_presets_here_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    at = opened({"dataset": "digits", "family": "nsf", "preset": "Hard edges"}, "pages/train.py")
    assert any("Hard edges" in w.value and "none here" in w.value for w in at.warning)


