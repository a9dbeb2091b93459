"""The Data, Compare and Concepts pages' links reopen the same view: set each control, open the link in a
fresh session (another browser: only the link's query), compare the controls and what the page shows.

The runs and helpers are test_share_roundtrip.py's: a tiny VAE and MADE on the digits, a Gaussian on moons.
"""
import json
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

import genlab
from genlab.data.packed import pack_pixels
from genlab.text import SHOWN_CHARACTERS as ECHO_CHARACTERS
from tests.pages.test_hosting_pages import server, visit  # noqa: F401 (a fixture)
from tests.pages.test_share_roundtrip import at_runs, link_of, on_page, runs, saved_runs  # noqa: F401

CONCEPTS = "pages/concepts.py"


def value(at: AppTest, kind: str, key: str):
    return getattr(at, kind)(key=f"_widget_{key}").value


def same_view(at: AppTest, page: str, controls: list[tuple[str, str]], press: tuple[str, ...] = ()) -> AppTest:
    """Open `at`'s link in a fresh session; each (kind, key) control, every metric and chart title agree. A link
    never trains by itself: the fresh session says so, and its visitor presses the buttons keyed `press` first."""
    other = on_page(page, link_of(at))
    assert [w.value for w in other.warning] == [w.value for w in at.warning]  # no complaint about the link
    if press:
        assert any("never starts training by itself" in i.value for i in other.info)  # shown only until pressed
        for key in press:
            next(b for b in other.button if b.key == key).click().run()
    for kind, key in controls:
        assert value(other, kind, key) == value(at, kind, key), key
    assert metrics(other) == metrics(at)
    assert chart_titles(other) == chart_titles(at)
    return other


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"].get("title", {}).get("text", "") for chart in at.get("plotly_chart")]


def keyed(at: AppTest, prefix: str) -> str:
    """The key of the one control whose key (data-dependent) starts with `prefix`."""
    keys = [key for key in at.session_state if str(key).startswith(prefix)]
    assert len(keys) == 1, keys
    return keys[0]


def set_control(at: AppTest, kind: str, key: str, to) -> None:
    getattr(at, kind)(key=f"_widget_{key}").set_value(to).run()
    assert not at.exception, at.exception


def share_notes(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_a_data_link_carries_the_drawing_switch_the_blob_width_and_the_unsaved_table():
    at = on_page("pages/data.py", {"dataset": "toy:moons"})
    set_control(at, "toggle", "drawing", True)
    set_control(at, "slider", "drawn_new_std", 0.55)
    assert "draft" not in at.query_params  # the table is the density in use: nothing more to carry
    draft = [(-1.0, 0.5, 2.0, 0.3), (1.5, -1.0, 1.0, 0.7)]
    other = same_view(on_page("pages/data.py", {**link_of(at), "draft": "-1,0.5,2,0.3;1.5,-1,1,0.7"}), "pages/data.py",
                      [("toggle", "drawing"), ("slider", "drawn_new_std")])
    assert other.session_state["drawn_table"] == draft
    assert other.query_params["draft"] == "-1,0.5,2,0.3;1.5,-1,1,0.7"  # and its own link carries it on
    broken = on_page("pages/data.py", {**link_of(at), "draft": "9,9,1,0.3", "blob_std": "nan"})
    warnings = " ".join(w.value for w in broken.warning)
    assert "blob table cannot be shown" in warnings and "blob_std" in warnings
    assert value(broken, "slider", "drawn_new_std") == 0.3
    assert "drawn_table" not in broken.session_state or broken.session_state["drawn_table"] != [(9.0, 9.0, 1.0, 0.3)]
    switch = on_page("pages/data.py", {**link_of(at), "drawing": "maybe"})
    assert any("drawing = 'maybe'" in w.value for w in switch.warning) and value(switch, "toggle", "drawing") is False


def test_a_compare_link_carries_the_filters_and_the_yardstick():
    at = on_page("pages/compare.py", {"dataset": "digits", "view": "binary"})
    both = [("digits", "binary"), ("toy:moons", "continuous")]
    set_control(at, "multiselect", "compare_data:('digits', 'binary')", both)
    families = value(at, "multiselect", "compare_families:['gaussian', 'made', 'vae']")
    assert families == ["gaussian", "made", "vae"]
    set_control(at, "multiselect", "compare_families:['gaussian', 'made', 'vae']", ["gaussian", "vae"])
    yardsticks = at.selectbox(key="_widget_compare_yardstick").options
    set_control(at, "selectbox", "compare_yardstick", yardsticks[-1])
    set_control(at, "selectbox", "checkpoint_run", str(Path(at_runs()) / "made-digits"))
    other = same_view(at, "pages/compare.py", [
        ("multiselect", "compare_data:('digits', 'binary')"),
        ("multiselect", "compare_families:['gaussian', 'made', 'vae']"),
        ("selectbox", "compare_yardstick"), ("selectbox", "checkpoint_run")])
    assert other.dataframe[0].value.equals(at.dataframe[0].value)
    assert len(at.dataframe[0].value) == 2  # the VAE on digits and the Gaussian on moons
    bad = on_page("pages/compare.py", {**link_of(at), "yardstick": "nonsense", "families": "vae~nope"})
    warnings = " ".join(w.value for w in bad.warning)
    assert "yardstick" in warnings and "families" in warnings


def concepts(tab: str, query: dict | None = None) -> AppTest:
    return on_page(CONCEPTS, {"concepts_tab": tab, **(query or {})})


def test_a_generative_vs_discriminative_link_carries_every_control_and_the_fitted_family():
    at = concepts("Generative vs. discriminative")
    set_control(at, "radio", "concepts_class_data", "blobs")
    assert not genlab.families()["gaussian"].trainable  # fitted per class in closed form: the test stays quick
    set_control(at, "selectbox", "concepts_family", "gaussian")
    at.button(key="concepts_family_button").click().run()
    set_control(at, "selectbox", "concepts_generative", "naive_bayes")
    set_control(at, "selectbox", "concepts_sample_class", 2)
    set_control(at, "slider", "concepts_percentile", 2.5)
    set_control(at, "number_input", "concepts_point_x", 1.5)
    set_control(at, "number_input", "concepts_point_y", -1.0)
    lineup = keyed(at, "concepts_curve_lineup:blobs:")
    set_control(at, "multiselect", lineup, value(at, "multiselect", lineup)[1:])
    set_control(at, "number_input", "concepts_curve_repeats", 2)
    assert at.query_params["class_fitted"] == "true"
    same_view(at, CONCEPTS, [("radio", "concepts_class_data"), ("selectbox", "concepts_family"),
                             ("selectbox", "concepts_generative"), ("selectbox", "concepts_sample_class"),
                             ("slider", "concepts_percentile"), ("number_input", "concepts_point_x"),
                             ("number_input", "concepts_point_y"), ("multiselect", lineup),
                             ("number_input", "concepts_curve_repeats")], press=("concepts_family_button",))
    bad = concepts("Generative vs. discriminative", {"percentile": "99", "class_fitted": "maybe", "point_x": "nan"})
    warnings = " ".join(w.value for w in bad.warning)
    assert "percentile" in warnings and "class_fitted" in warnings and "point_x" in warnings


def test_a_parametric_link_carries_the_largest_n_and_the_deep_model():
    at = concepts("Parametric vs. non-parametric")
    key = keyed(at, "concepts_growth_largest:")
    options = at.select_slider(key=f"_widget_{key}").options
    set_control(at, "select_slider", key, int(options[1].replace(",", "")))
    set_control(at, "number_input", "concepts_growth_seconds", 0.5)
    next(b for b in at.button if b.key == "concepts_growth_button").click().run()
    assert at.query_params["growth_deep"] == "true"
    same_view(at, CONCEPTS, [("select_slider", key), ("number_input", "concepts_growth_seconds")],
              press=("concepts_growth_button",))


def test_a_curse_of_dimensionality_link_carries_the_shape_and_the_resolutions():
    at = concepts("Curse of dimensionality")
    for key, to in (("concepts_height", 10), ("concepts_width", 12), ("concepts_channels", 3),
                    ("concepts_levels", 16)):
        set_control(at, "slider", key, to)
    set_control(at, "multiselect", "concepts_resolutions", ["4×4 (digits)"])
    set_control(at, "number_input", "concepts_gap_seconds", 0.5)
    assert metrics(at)["Possible inputs"] == "10^433.5"  # 16^(10·12·3)
    same_view(at, CONCEPTS, [("slider", "concepts_height"), ("slider", "concepts_width"),
                             ("slider", "concepts_channels"), ("slider", "concepts_levels"),
                             ("multiselect", "concepts_resolutions"), ("number_input", "concepts_gap_seconds")])


def test_a_concepts_link_keeps_the_tab_a_click_opened_and_names_an_unknown_tab():
    at = concepts("Generative vs. discriminative")
    at.session_state["concepts_tab"] = "Curse of dimensionality"  # what a click on the tab sets
    at.run()
    assert link_of(at)["concepts_tab"] == "Curse of dimensionality"
    assert "Possible inputs" in metrics(same_view(at, CONCEPTS, []))
    odd = concepts("<b>no such tab</b>")
    assert not odd.exception and odd.session_state["concepts_tab"] == "Generative vs. discriminative"
    assert any("concepts_tab" in w.value and "cannot show" in w.value for w in odd.warning)


def test_a_crafted_long_link_value_is_echoed_only_in_part():
    crafted = "<b>" + "x" * 500 + "</b>"
    odd = concepts(crafted)
    warning = next(w.value for w in odd.warning if "concepts_tab" in w.value)
    assert "x" * ECHO_CHARACTERS not in warning and "x" * (ECHO_CHARACTERS - 4) in warning and "…" in warning
    assert "<b>" not in warning  # the markup is shown as text, never rendered


def downstream(query: dict | None = None) -> AppTest:
    return concepts("Downstream inference", {"dataset": "digits", "view": "binary", **(query or {})})


def test_a_downstream_link_carries_the_runs_the_image_and_the_completion_settings():
    at = downstream()
    set_control(at, "selectbox", "concepts_probe_source", str(Path(at_runs()) / "vae-digits"))
    set_control(at, "selectbox", "concepts_completion_source", str(Path(at_runs()) / "made-digits"))
    set_control(at, "number_input", "concepts_completion_index", 3)
    set_control(at, "selectbox", "concepts_completion_mask", "left half")
    set_control(at, "slider", "concepts_completion_temperature", 0.8)
    if not at.select_slider(key="_widget_concepts_completion_proposals").disabled:
        set_control(at, "select_slider", "concepts_completion_proposals", 8)
    other = same_view(at, CONCEPTS, [
        ("selectbox", "concepts_probe_source"), ("selectbox", "concepts_completion_source"),
        ("radio", "concepts_completion_input"), ("number_input", "concepts_completion_index"),
        ("selectbox", "concepts_completion_mask"), ("slider", "concepts_completion_temperature"),
        ("select_slider", "concepts_completion_proposals")])
    erased = [c.value for c in at.caption if "erased (red)" in c.value]
    assert erased and [c.value for c in other.caption if "erased (red)" in c.value] == erased
    set_control(at, "radio", "concepts_completion_input", "upload")
    assert "Not in the link: the uploaded image to complete" in share_notes(at)


def test_a_drawing_to_complete_travels_in_the_link():
    ds = genlab.load_dataset("digits", view="binary")
    drawing = torch.zeros(ds.shape)
    drawing[0, 1:7, 3:5] = 1
    packed = pack_pixels(drawing, ds.levels)
    at = downstream({"completion_input": "draw", "completion_drawing": packed, "completion_run": "made-digits"})
    assert any("drawing the link carries" in i.value for i in at.info)
    assert at.query_params["completion_drawing"] == packed
    assert any("the linked drawing" in c.value and "erased (red)" in c.value for c in at.caption)
    broken = downstream({"completion_input": "draw", "completion_drawing": "not-a-drawing"})
    assert any("drawing cannot be shown" in w.value for w in broken.warning)


def test_a_compare_link_shows_the_private_runs_of_its_table_to_whoever_opens_it(server, monkeypatch):  # noqa: F811
    """Visitor A's Compare table holds A's own run: A's link names it by a share token, so a stranger sees it too."""
    root, token, private = server
    monkeypatch.setenv("GENLAB_RUNS", str(root))  # this server's runs, not the module's (its fixture is autouse)
    mine = visit(token, {"dataset": "toy:moons"}, "pages/compare.py")
    assert len(mine.dataframe[0].value) == 2
    link = link_of(mine)
    assert link["runs"] and private.name not in link["runs"]  # a token, never the private folder's name
    stranger = visit(None, link, "pages/compare.py")
    assert stranger.dataframe[0].value.equals(mine.dataframe[0].value)
    assert visit(None, {"dataset": "toy:moons"}, "pages/compare.py").dataframe[0].value.shape[0] == 1  # not without


def test_concepts_links_are_followed_every_time_and_the_tab_is_kept_across_pages():
    at = concepts("Generative vs. discriminative")
    for tab in ("Curse of dimensionality", "Downstream inference"):  # Home's links to a lesson, one after the other
        at.query_params["concepts_tab"] = tab
        at.switch_page(CONCEPTS).run()
        assert at.session_state["concepts_tab"] == tab and link_of(at)["concepts_tab"] == tab
    at.session_state["concepts_tab"] = "Parametric vs. non-parametric"  # a click on the tab
    at.run()
    assert link_of(at)["concepts_tab"] == "Parametric vs. non-parametric"
    at.switch_page("pages/data.py").run()
    at.query_params.clear()  # back through the navigation: no query
    at.switch_page(CONCEPTS).run()
    assert not at.exception and at.session_state["concepts_tab"] == "Parametric vs. non-parametric"
