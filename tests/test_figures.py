"""Figure builders: they draw what they are given, in the right place, without Streamlit."""
import math

import numpy as np
import torch

from genlab import figures

BOUNDS = (-2.0, 2.0, -1.0, 1.0)


def test_log_prob_on_grid_is_indexed_y_then_x():
    grid = figures.log_prob_on_grid(lambda p: p[:, 0] + 10 * p[:, 1], BOUNDS, n=5)
    assert grid.shape == (5, 5)
    assert grid[0, 0] == -2 - 10 and grid[0, -1] == 2 - 10 and grid[-1, 0] == -2 + 10


def test_density_heatmap_clips_to_a_range_below_the_peak():
    log_p = np.array([[0.0, -1.0], [-50.0, -np.inf]])
    fig = figures.density_heatmap(log_p, BOUNDS, points=torch.zeros(3, 2), log_p_range=5.0)
    z = np.asarray(fig.data[0].z)
    assert z.max() == 0.0 and z.min() == -5.0 and np.isfinite(z).all()
    assert len(fig.data) == 2  # the heatmap and the points on top
    shared = figures.density_heatmap(log_p, BOUNDS, top=2.0, log_p_range=5.0)
    assert shared.data[0].zmax == 2.0 and shared.data[0].zmin == -3.0


def test_image_grid_tiles_every_image_with_its_label():
    images = np.zeros((5, 1, 4, 3))
    images[2] = 1.0  # one white image
    fig = figures.image_grid(images, labels=list("abcde"), columns=2)
    canvas = np.asarray(fig.data[0].z)
    rows, gap = 3, max(2, 4 // 3)
    assert canvas.shape == (rows * (4 + gap), 2 * (3 + 1), 3)
    top = 1 * (4 + gap) + gap  # image 2 sits in row 1, column 0
    assert (canvas[top:top + 4, 0:3] == 255).all()
    assert [a.text for a in fig.layout.annotations] == list("abcde")


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


def test_format_number():
    assert figures.format_number(3209.58871) == "3,209.589"
    assert figures.format_number(None) == figures.format_number(math.inf) == "—"
    assert figures.format_number(1.5e-7) == "1.5e-07"


def test_metric_labels_read_as_words():
    assert figures.metric_label("valid_kl_nats") == "validation KL (nats)"
    assert figures.metric_label("train_recon_nats") == "recon (nats)"
    assert figures.metric_label("train_generator_loss") == "generator loss"


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


def test_one_image_and_pixel_map_keep_pixels_square_and_rows_in_order():
    image = np.zeros((1, 4, 8))
    image[0, 0, :] = 1.0  # the top row white
    fig = figures.one_image(image, size=160)
    assert np.asarray(fig.data[0].z).shape == (4, 8, 3) and (fig.layout.width, fig.layout.height) == (160, 80)
    assert (np.asarray(fig.data[0].z)[0] == 255).all()
    heat = figures.pixel_map(np.arange(12.0).reshape(3, 4))
    assert heat.layout.yaxis.autorange == "reversed" and heat.layout.yaxis.scaleanchor == "x"


def test_clickable_density_puts_a_selectable_grid_last_and_marks_the_point():
    fig = figures.clickable_density(np.zeros((5, 5)), BOUNDS, point=(0.5, 0.0), click_grid=7)
    assert fig.data[-1].marker.opacity == 0.0 and len(fig.data[-1].x) == 49
    assert any(t.name == "your point" and list(t.x) == [0.5] for t in fig.data)
    assert fig.layout.clickmode == "event+select"


def test_text_thumbnail_draws_an_image_in_block_characters():
    image = np.zeros((28, 28))
    image[:, 14:] = 1.0  # right half white
    rows = figures.text_thumbnail(image, max_side=14).split("<br>")
    assert len(rows) == 14 and all(len(r) == 28 for r in rows)
    assert rows[0] == " " * 14 + "█" * 14


def test_latent_scatter_carries_item_indices_for_a_selection():
    points = np.arange(12.0).reshape(6, 2)
    fig = figures.latent_scatter(points, labels=np.array([0, 1, 0, 1, 0, 1]), hover=list("abcdef"), selected=[4])
    by_label = {t.name: t for t in fig.data}
    assert list(by_label["0"].customdata) == [0, 2, 4] and list(by_label["1"].text) == ["b", "d", "f"]
    assert list(by_label["shown"].x) == [8.0]
