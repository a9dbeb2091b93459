"""The three queries: ranks and histograms, perturbations, drawings, OOD sets, projections, decoders."""
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab import figures, queries
from genlab.data.base import DataSpec, from_tensors
from genlab.data.imagefiles import UploadError
from genlab.models import families_that

BINARY = DataSpec((1, 4, 4), "binary", 2)
GRAY = DataSpec((1, 6, 6), "gray8", 17)


@pytest.fixture
def fitted_gaussian(binary_ds):
    model = genlab.create_model("gaussian", binary_ds)
    genlab.train(model, binary_ds, seconds=1, seed=0)
    return model.eval()


# ---- what a log p is ------------------------------------------------------------------
@pytest.mark.parametrize("family, data, short", [
    ("gaussian", "points_ds", "exact"), ("gaussian", "binary_ds", "lower bound"),
    ("ebm", "points_ds", "unnormalised"), ("gan", "points_ds", "not available"),
])
def test_describe_kind_names_every_kind_and_says_why(family, data, short, request):
    model = genlab.create_model(family, request.getfixturevalue(data))
    name, sentence = queries.describe_kind(model)
    assert name == short and sentence
    assert queries.has_comparable_log_prob(model) == (short in ("exact", "lower bound"))
    if short == "lower bound":  # one draw for one input can land above log p_θ(x): it holds on average
        assert "stochastic lower bound" in sentence and "on average" in sentence
    if short == "not available":
        assert model.title in sentence
        with pytest.raises(ValueError):
            queries.log_likelihoods(model, torch.zeros(1, 2))


def test_log_likelihoods_and_bits_per_dim_agree_with_the_model(fitted_gaussian, binary_ds):
    log_p = queries.log_likelihoods(fitted_gaussian, binary_ds.test)
    assert log_p.shape == (len(binary_ds.test),) and log_p.dtype == np.float64
    np.testing.assert_allclose(queries.bits_per_dim(log_p, 16), -log_p / (16 * math.log(2)))
    report = genlab.evaluate(fitted_gaussian, binary_ds)
    assert np.mean(queries.bits_per_dim(log_p, 16)) == pytest.approx(report["bits_per_dim"], rel=1e-6)


# ---- ranks and histograms -----------------------------------------------------------
def test_percentile_counts_values_below_and_ties_half():
    reference = [1.0, 2.0, 3.0, 4.0]
    np.testing.assert_allclose(queries.percentile([0.0, 2.5, 5.0, 2.0], reference), [0, 50, 100, 37.5])
    assert queries.percentile([-np.inf], reference)[0] == 0
    assert queries.percentile([0.0], [-np.inf, 1.0])[0] == 50  # −inf sits below every finite value
    assert np.isnan(queries.percentile([np.nan], reference)[0])
    assert queries.percentile([2.5], [1.0, np.nan, 4.0])[0] == 50  # NaN references are ignored
    with pytest.raises(ValueError, match="empty"):
        queries.percentile([1.0], [np.nan])


def test_histogram_counts_every_finite_value_once():
    values = np.concatenate([np.random.default_rng(0).normal(size=500), [-np.inf, np.nan]])
    edges, counts, off = queries.histogram(values, bins=20)
    assert len(edges) == 21 and counts.sum() == 500 and off == 2
    assert edges[0] == pytest.approx(np.min(values[np.isfinite(values)]))
    edges, counts, _ = queries.histogram([3.0, 3.0, 3.0], bins=5)
    assert counts.sum() == 3 and edges[0] < 3.0 < edges[-1]
    assert queries.histogram([np.inf], bins=5)[2] == 1
    for broken in ([3e38, -3e38, 1.0], [1e30, 1e30], [1e30, 1e30 * (1 + 1e-12)], [-1.7e308, 1.7e308]):
        edges, counts, _ = queries.histogram(broken, bins=40)  # a crafted model's numbers: binned, not refused
        assert counts.sum() == len(broken) and np.isfinite(edges).all()


def test_focus_range_keeps_the_reference_in_view_and_leaves_far_sets_out():
    reference, noise = np.linspace(-20, -10, 50), np.linspace(-300, -200, 50)
    low, high = queries.focus_range(reference, [noise, [-5.0]])
    assert low == pytest.approx(-30.0) and high > -5.0
    assert queries.focus_range(reference, [reference - 1]) is None  # nothing far away: no focus needed


@pytest.mark.parametrize("point, message", [
    ((float("nan"), 0.0), "finite"), ((0.0, float("inf")), "finite"), ((1e300, 0.0), "absurdly far"),
    ((1.0,), "exactly two"), ("ab", "two numbers"), (None, "two numbers"),
])
def test_check_point_refuses_bad_numbers_plainly(point, message):
    with pytest.raises(ValueError, match=message):
        queries.check_point(point)


def test_check_point_accepts_a_point():
    assert queries.check_point((1, -2.5)).tolist() == [[1.0, -2.5]]


# ---- perturbations and drawings ------------------------------------------------------
def corner_image(spec=BINARY) -> torch.Tensor:
    x = torch.zeros(spec.shape)
    x[0, 0, -1] = spec.levels - 1  # the top-right pixel lit
    return x


def test_invert_shift_and_rotate_move_pixels_where_they_should():
    x = corner_image()
    assert queries.perturb(x, "none", 0, BINARY).equal(x)
    assert queries.perturb(x, "invert", 0, BINARY).sum() == 15
    assert queries.perturb(queries.perturb(x, "invert", 0, BINARY), "invert", 0, BINARY).equal(x)
    left = queries.perturb(x, "shift", -3, BINARY)
    assert left[0, 0, 0] == 1 and left.sum() == 1
    assert queries.perturb(x, "shift", 1, BINARY).sum() == 0  # pushed off the right edge, background fills in
    assert queries.perturb(x, "rotate", 90, BINARY).equal(torch.rot90(x, 1, (1, 2)))  # anticlockwise on screen
    assert queries.perturb(x, "rotate", 0, BINARY).equal(x)
    gray = queries.perturb(corner_image(GRAY), "rotate", 33, GRAY)
    assert ((gray == gray.round()) & (gray >= 0) & (gray <= 16)).all()  # still in the view


def test_noise_replaces_the_asked_share_of_pixels_with_values_of_the_view():
    x = torch.zeros(1, 40, 40)
    spec = DataSpec((1, 40, 40), "gray8", 17)
    assert queries.perturb(x, "noise", 0.0, spec).equal(x)
    noisy = queries.perturb(x, "noise", 0.5, spec, seed=1)
    changed = (noisy != x).float().mean()
    assert 0.4 < changed < 0.5  # half replaced, and 1 in 17 replacements draws the old value again
    assert ((noisy == noisy.round()) & (noisy >= 0) & (noisy <= 16)).all()
    assert queries.perturb(x, "noise", 0.5, spec, seed=1).equal(noisy)  # seeded


@pytest.mark.parametrize("kind, amount, spec, message", [
    ("noise", 1.5, BINARY, "between 0 and 1"), ("rotate", float("nan"), BINARY, "finite"),
    ("blur", 1, BINARY, "Unknown perturbation"), ("invert", 0, DataSpec((2,), "continuous"), "work on images"),
])
def test_bad_perturbations_are_refused_plainly(kind, amount, spec, message):
    with pytest.raises(ValueError, match=message):
        queries.perturb(torch.zeros(spec.shape), kind, amount, spec)


def test_resize_note_speaks_up_only_far_from_the_model_size():
    assert queries.resize_note("a.png", (28, 28), (1, 28, 28)) is None
    assert queries.resize_note("a.png", (200, 150), (1, 28, 28)) is None
    assert "enlarged" in queries.resize_note("a.png", (5, 6), (1, 8, 8))
    assert "shrunk to 8×8" in queries.resize_note("a.png", (3000, 4000), (1, 8, 8))


def test_canvas_image_puts_strokes_on_black_and_refuses_junk():
    rgba = np.zeros((20, 20, 4), np.uint8)
    with pytest.raises(UploadError, match="empty"):
        queries.canvas_image(rgba)
    rgba[5:15, 9:11] = (255, 255, 255, 255)  # a white stroke on a transparent canvas
    image = queries.canvas_image(rgba)
    assert image.pixels.dtype == np.uint8 and image.pixels[10, 10] == 255 and image.pixels[0, 0] == 0
    with pytest.raises(UploadError, match="NaN"):
        queries.canvas_image(np.full((20, 20, 4), np.nan))
    with pytest.raises(UploadError, match="RGBA"):
        queries.canvas_image(np.zeros((20, 20)))
    with pytest.raises(UploadError, match="0..255"):
        queries.canvas_image(np.full((20, 20, 4), 1e9))
    with pytest.raises(UploadError, match="pixel numbers"):
        queries.canvas_image(np.full((20, 20, 4), "a"))


# ---- out-of-distribution sets ---------------------------------------------------------
def test_ood_sets_are_in_the_view_and_shape_of_the_data(binary_ds):
    big = torch.zeros(10, 1, 28, 28)
    big[:, :, 7:21, 7:21] = 255  # a square, light on dark
    other = from_tensors(big[:5], big[5:], view="gray8", name="bars")
    sets = queries.ood_sets(binary_ds, 30, seed=0, other=other)
    assert list(sets) == ["held-out test images", "uniform noise", "bars, resized to 4×4"]
    for x in sets.values():
        assert x.shape[1:] == (1, 4, 4) and ((x == 0) | (x == 1)).all()
    assert sets["bars, resized to 4×4"][0, 0, 1:3, 1:3].eq(1).all()  # the square survives the resize
    assert queries.blank_image(BINARY).shape == (1, 1, 4, 4)
    noise = queries.uniform_noise(200, GRAY)
    assert noise.min() == 0 and noise.max() == 16


# ---- representation -------------------------------------------------------------------
def test_pca_keeps_the_widest_direction_first_and_is_deterministic():
    g = np.random.default_rng(0)
    codes = g.normal(size=(300, 5)) * [5.0, 1.0, 0.1, 0.1, 0.1]
    projection = queries.project(codes, "PCA")
    assert projection.points.shape == (300, 2)
    assert projection.points[:, 0].std() > 4 * projection.points[:, 1].std()
    assert "%" in projection.note
    np.testing.assert_array_equal(queries.project(codes, "PCA").points, projection.points)
    flat = queries.project(codes[:, :1], "PCA").points
    assert flat.shape == (300, 2) and (flat[:, 1] == 0).all()


def test_pca_names_its_axes_and_never_rounds_a_share_to_a_false_0_or_100_percent():
    g = np.random.default_rng(0)
    codes = g.normal(size=(300, 3)) * [30.0, 0.5, 0.2]  # nearly all the variance along the first direction
    projection = queries.project(codes, "PCA")
    assert projection.axes == ("PC 1", "PC 2")
    assert "100%" not in projection.note and " 0%" not in projection.note
    assert "(PC 1 " in projection.note
    assert queries.project(codes[:, :2], "PCA").axes == ("z₁", "z₂")
    fig = figures.latent_scatter(projection.points, axes=projection.axes)
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("PC 1", "PC 2")


def test_a_two_dimensional_latent_is_shown_as_it_is():
    codes = np.random.default_rng(0).normal(size=(20, 2))
    for method in ("PCA", "t-SNE"):
        np.testing.assert_array_equal(queries.project(codes, method).points, codes)


def test_tsne_gives_one_point_per_item():
    codes = np.random.default_rng(0).normal(size=(40, 6))
    assert queries.project(codes, "t-SNE", seed=0).points.shape == (40, 2)


def test_projection_refuses_non_finite_codes_and_unknown_methods():
    codes = np.zeros((10, 3))
    codes[2, 1] = np.inf
    assert queries.finite_rows(codes).tolist() == [True, True, False] + [True] * 7
    with pytest.raises(ValueError, match="finite"):
        queries.project(codes)
    with pytest.raises(ValueError, match="Unknown projection"):
        queries.project(np.zeros((10, 3)), "Isomap")
    with pytest.raises(ValueError, match="at least"):
        queries.project(np.zeros((3, 3)), "t-SNE")
    assert "PCA" in queries.projections() and "t-SNE" in queries.projections()
    assert ("UMAP" in queries.projections()) == queries.umap_available()


def test_principal_directions_are_orthonormal_and_ordered_along_sorts():
    codes = np.random.default_rng(1).normal(size=(200, 4)) * [3.0, 2.0, 1.0, 0.5]
    mean, directions, spread = queries.principal_directions(codes, k=3)
    np.testing.assert_allclose(directions @ directions.T, np.eye(3), atol=1e-9)
    assert list(spread) == sorted(spread, reverse=True)
    order = queries.ordered_along(codes, directions[0], count=9)
    coordinate = codes[order] @ directions[0]
    assert len(order) == 9 and (np.diff(coordinate) >= 0).all()
    assert coordinate[0] == pytest.approx((codes @ directions[0]).min())


def test_encode_gives_one_code_per_item_and_repeats(fitted_gaussian, binary_ds):
    codes = queries.encode(fitted_gaussian, binary_ds.test)
    assert codes.shape == (len(binary_ds.test), 16) and codes.dtype == np.float64
    np.testing.assert_array_equal(queries.encode(fitted_gaussian, binary_ds.test), codes)
    assert fitted_gaussian.training is False


def test_decoder_queries_interpolate_traverse_and_grid(binary_ds):
    vae = genlab.create_model("vae", binary_ds, latent_dim=2, hidden_units=16, iw_samples=2).eval()
    assert queries.decodes(vae)
    x_a, x_b = binary_ds.test[0], binary_ds.test[1]
    path = queries.interpolate(vae, x_a, x_b, steps=5)
    assert path.shape == (5, 1, 4, 4) and path.min() >= 0 and path.max() <= 1
    ends = queries.decode_images(vae, queries.encode(vae, torch.stack([x_a, x_b])))
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)
    codes = queries.encode(vae, binary_ds.test)
    assert queries.traverse(vae, codes[0], np.array([1.0, 0.0]), scale=1.0, steps=7).shape == (7, 1, 4, 4)
    images, z1, z2 = queries.latent_grid(vae, codes, n=3)
    assert images.shape == (9, 1, 4, 4) and z1[0] < z1[-1] and z2[0] > z2[-1]  # top row at the largest z₂
    with pytest.raises(ValueError, match="2-D latent"):
        queries.latent_grid(vae, np.zeros((5, 3)))


def test_families_without_a_decoder_say_so(fitted_gaussian):
    assert fitted_gaussian.can("encode") and not queries.decodes(fitted_gaussian)
    with pytest.raises(ValueError, match="no decoder"):
        queries.decode_images(fitted_gaussian, np.zeros((1, 16)))


def test_latent_families_come_from_the_registry_decoders_first():
    found = queries.latent_families(BINARY)
    names = [name for name, _, _ in found]
    assert set(names) == {n for n in families_that("encode") if genlab.fits(n, BINARY) is None}
    decoders = [decoder for _, _, decoder in found]
    assert decoders == sorted(decoders, reverse=True)
    assert "gan" not in names


def test_families_that_asks_the_class_not_an_instance():
    encoders = families_that("encode")
    assert "vae" in encoders and "gan" not in encoders
    for name, cls in families_that("pixels").items():
        assert cls.pixel_log_prob is not genlab.models.GenerativeModel.pixel_log_prob, name
    with pytest.raises(ValueError, match="Unknown capability"):
        families_that("telepathy")


@pytest.mark.parametrize("name", sorted(families_that("pixels")))
def test_per_pixel_terms_sum_to_log_p(name, binary_ds):
    """What the Density page's per-pixel map shows adds up to the number it shows."""
    if genlab.fits(name, binary_ds.spec) is not None:
        pytest.skip(f"{name} does not fit binary images")
    model = genlab.create_model(name, binary_ds).eval()
    with torch.no_grad():
        model.initialize(binary_ds.train, binary_ds.train[:10], torch.Generator().manual_seed(0))
        pixels = model.pixel_log_prob(binary_ds.test[:8])
        total = model.log_prob(binary_ds.test[:8])
    assert pixels.shape == (8, 1, 4, 4)
    torch.testing.assert_close(pixels.reshape(8, -1).sum(1), total, atol=1e-4, rtol=1e-5)


# ---- export --------------------------------------------------------------------------
def test_grid_png_tiles_images_with_sharp_pixels():
    images = np.zeros((3, 1, 2, 2))
    images[1] = 1.0
    data = queries.grid_png(images, columns=2, tile_pixels=4)
    picture = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    zoom = 2  # 4 pixels per tile over 2 pixels per image
    assert picture.shape == ((2 * 3 - 1) * zoom, (2 * 3 - 1) * zoom, 3)
    assert (picture[0:4, 6:10] == 255).all() and (picture[0:4, 0:4] == 0).all()  # image 1 white, image 0 black
    with pytest.raises(ValueError, match="shaped"):
        queries.grid_png(np.zeros((2, 2)))
