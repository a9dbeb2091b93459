"""Charts of runs and scores: missing values left out, marks drawn."""
import math

import numpy as np

from genlab import figures


def test_training_curves_skip_missing_and_infinite_values():
    metrics = [{"seconds": 0.0, "train_loss": 3.0, "valid_loss": math.inf},
               {"seconds": 1.0, "train_loss": 2.0, "valid_loss": 2.5, "valid_kl_nats": 0.1}]
    fig = figures.training_curves(metrics, [["train_loss", "valid_loss"], "valid_kl_nats"], ["objective", "KL"])
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name["train"].y) == [3.0, 2.0]
    assert list(by_name["validation"].y) == [2.5]
    assert list(by_name[figures.metric_label("valid_kl_nats")].x) == [1.0]


def test_each_panel_has_its_own_legend_unit_and_a_zoom_past_the_first_point():
    metrics = [{"seconds": float(t), "train_loss": 540.0 if t == 0 else 100.0 - t, "valid_loss": 99.0 - t,
                "train_a": 1.0 + t, "train_b": 2.0} for t in range(5)]
    fig = figures.training_curves(metrics, [["train_loss", "valid_loss"], ["train_a", "train_b"]], ["d", "others"],
                                  units=["−ELBO, nats per image", "each in its own unit"], zoom=True)
    legends = {trace.legend for trace in fig.data}
    assert legends == {"legend", "legend2"}
    assert fig.layout.legend.x < fig.layout.legend2.x
    assert fig.layout.yaxis.title.text == "−ELBO, nats per image"
    low, high = fig.layout.yaxis.range
    assert high < 540.0 and low < 95.0 < high  # the late values fill the panel, the first point is off it


def test_zoom_waits_for_enough_points_to_show_late_progress():
    two = [{"seconds": 0.0, "train_loss": 540.0, "valid_loss": 530.0},
           {"seconds": 1.0, "train_loss": 300.0, "valid_loss": 301.0}]
    keys = [["train_loss", "valid_loss"]]
    assert figures.training_curves(two, keys, ["d"], zoom=True).layout.yaxis.range is None  # all of both in view
    three = two + [{"seconds": 2.0, "train_loss": 298.0, "valid_loss": 299.0}]  # a short run's third report: a GAN's
    assert figures.training_curves(three, keys, ["d"], zoom=True).layout.yaxis.range[1] < 530.0  # first KL hid it


def test_a_chart_title_is_the_objectives_name_with_its_unit():
    assert figures.objective_name("−ELBO (nats) = KL(p_data‖p_θ) + H(p_data) ≥ NLL", "image") == \
        "−ELBO, nats per image"
    assert figures.objective_name("NLL (nats), minimised in closed form", "point") == "NLL, nats per point"
    assert figures.objective_name("loss ‖ε − ε_θ(z_t, t)‖², mean per coordinate") == "loss ‖ε − ε_θ(z_t, t)‖²"
    assert figures.objective_name("MMD² between samples (unbiased): picks the best") == "MMD² between samples"


def test_compare_bars_leave_out_missing_values():
    fig = figures.compare_bars(["#1 a", "#2 b", "#3 a"], [1.0, None, 2.0], groups=["a", "b", "a"])
    assert [trace.x[0] for trace in fig.data] == ["#1 a", "#3 a"]
    assert [trace.showlegend for trace in fig.data] == [True, False]


def test_histograms_overlay_sets_mark_values_and_count_what_is_not_drawn():
    reference = np.linspace(-20, -10, 100)
    noise = np.concatenate([np.linspace(-300, -200, 99), [-np.inf]])
    fig = figures.histograms({"test": reference, "noise": noise}, [("this input", -12.0), ("nowhere", float("nan"))],
                             x_range=(-30.0, -5.0))
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 and sum(bars[0].y) == 100 and sum(bars[1].y) == 99
    assert "1 at −∞" in bars[1].name and "99 left of the view" in bars[1].name
    assert [a.text for a in fig.layout.annotations] == ["this input"]  # the NaN mark is left out
    assert fig.layout.annotations[0].xanchor == "right"  # right of centre: the label leans inwards
    assert list(fig.layout.xaxis.range) == [-30.0, -5.0]


def test_close_marks_stay_legible_and_playback_is_marked():
    metrics = [{"seconds": 1.0 + 0.01 * i, "train_loss": 1.0, "event" if i % 2 else "control": f"change number {i}"}
               for i in range(6)]
    fig = figures.training_curves(metrics, ["train_loss", "train_loss"], ["a", "b"], events=True)
    labels = [a for a in fig.layout.annotations if a.hovertext]
    assert [a.text for a in labels] == ["1", "2", "3", "4", "5", "6"]  # short labels, the text on hover
    assert [a.hovertext for a in labels] == [f"change number {i}" for i in range(6)]
    assert len({a.y for a in labels[:3]}) == 3  # neighbours at different heights
    assert {shape.line.dash for shape in fig.layout.shapes} == {"dot", "dash"}  # changes and playback differ
    assert len(fig.layout.shapes) == 12  # a line per mark in each panel
    assert [(n, text, kind) for n, _, text, kind in figures.training_marks(metrics)][:2] == [
        (1, "change number 0", "control"), (2, "change number 1", "event")]


def test_compare_bars_show_names_and_notes_from_runs_as_text_never_markup():
    crafted = "<a href='https://evil.example'>x</a><b>bold</b> %{y}"
    fig = figures.compare_bars([f"#1 {crafted}"], [1.0], groups=[crafted], notes=[(crafted, "log p: exact")])
    (bar,) = fig.data
    for text in (bar.x[0], bar.name, bar.hovertemplate):
        assert "<a " not in text and "<b>" not in text and "%{y}" not in text.replace("%{y:.4g}", "")
    assert "&lt;b&gt;bold&lt;/b&gt;" in bar.hovertemplate and "<br>log p: exact" in bar.hovertemplate  # the lines
