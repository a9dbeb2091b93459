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
