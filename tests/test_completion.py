"""Conditional completion: masks, observed pixels kept, seeded draws, and the exact conditional recovered.

The families are found by what they can do (`families_that("complete")`), never listed by name;
only their tiny sizes are.
"""
import itertools

import numpy as np
import pytest
import torch

from genlab import completion
from genlab.data.base import DataSpec
from genlab.models import create_model, families, families_that
from genlab.models._autoregressive import AutoregressiveModel

TINY = {"nade": {"hidden_units": 8}, "made": {"hidden_units": 32, "num_masks": 3},
        "pixelcnn": {"channels": 8, "residual_blocks": 1, "first_kernel": 3}}
CASES = [(name, view) for name, cls in families_that("complete").items() for view in ("binary", "gray8")
         if view in cls.views]
TV_TOLERANCE = 0.05  # total variation allowed between 1,500 completions and the exact conditional
ENUMERATED_SCALE = 1.5  # parameter noise that makes the 2×2 models' conditionals far from uniform


def tiny_model(name: str, spec: DataSpec, scale: float = 1.0, seed: int = 0, **hparams):
    """A tiny untrained model with every parameter moved off its initialisation, so its conditionals differ."""
    torch.manual_seed(seed)
    model = create_model(name, spec, **(TINY.get(name, {}) | hparams))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return model.eval()


def spec_for(view: str, side: int = 4) -> DataSpec:
    return DataSpec((1, side, side), view, 2 if view == "binary" else 3)


def an_image(spec: DataSpec, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(spec.levels, spec.shape, generator=g).float()


# ---- masks ------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [4, 7])
def test_every_preset_erases_some_pixels_and_keeps_others(side):
    shape = (1, side, side)
    masks = {preset: completion.erase_mask(preset, shape) for preset in completion.MASKS}
    for preset, mask in masks.items():
        assert mask.shape == shape and mask.dtype == torch.bool
        assert 0 < int(mask.sum()) < side * side, preset
    if side % 2 == 0:  # halves split an even side exactly, and opposite halves are complements
        assert torch.equal(masks["bottom half"], ~masks["top half"])
        assert torch.equal(masks["left half"], ~masks["right half"])
        assert int(masks["bottom half"].sum()) == side * side // 2
    assert masks["bottom half"][0, -1].all() and not masks["bottom half"][0, 0].any()
    assert masks["left half"][0, :, 0].all() and not masks["left half"][0, :, -1].any()
    assert masks["centre box"][0, side // 2, side // 2] and not masks["centre box"][0, 0, 0]


def test_the_random_box_follows_its_seed():
    shape = (1, 8, 8)
    boxes = [completion.erase_mask("random box", shape, seed) for seed in range(6)]
    assert torch.equal(boxes[0], completion.erase_mask("random box", shape, 0))
    assert any(not torch.equal(boxes[0], box) for box in boxes[1:])
    assert all(int(box.sum()) == 16 for box in boxes)  # a 4×4 box wherever it lands
    assert torch.equal(completion.erase_mask("bottom half", shape, 3), completion.erase_mask("bottom half", shape))


def test_masks_refuse_unknown_presets_and_non_images():
    with pytest.raises(ValueError, match="choose one of"):
        completion.erase_mask("a star", (1, 8, 8))
    with pytest.raises(ValueError, match="image"):
        completion.erase_mask("left half", (2,))


# ---- which families complete --------------------------------------------------------
def test_the_autoregressive_families_complete_and_no_other():
    completing = set(families_that("complete"))
    autoregressive = {name for name, cls in families().items() if issubclass(cls, AutoregressiveModel)}
    assert completing == autoregressive and len(completing) >= 4
    titles = completion.completing_families(spec_for("gray8"))
    assert set(titles) == {name for name in completing if "gray8" in families()[name].views}


def test_a_family_that_cannot_complete_is_refused_with_the_ones_that_can():
    spec = spec_for("binary")
    model = create_model("gaussian", spec)
    assert not model.can("complete")
    with pytest.raises(ValueError, match="cannot complete") as error:
        completion.complete(model, an_image(spec), completion.erase_mask("left half", spec.shape))
    assert all(title in str(error.value) for title in completion.completing_families(spec).values())


# ---- every completing family ----------------------------------------------------------
@pytest.mark.parametrize("name,view", CASES)
@pytest.mark.parametrize("proposals", [1, 4])
def test_observed_pixels_stay_and_missing_ones_are_drawn(name, view, proposals):
    spec = spec_for(view)
    model = tiny_model(name, spec, scale=0.2)
    missing = completion.erase_mask("left half", spec.shape)
    fill = 0.0
    x = an_image(spec).masked_fill(missing, fill)
    result = completion.complete(model, x, missing, n=16, proposals=proposals, seed=0)
    assert result.images.shape == (16, *spec.shape)
    assert torch.equal(result.images[:, ~missing], x[~missing].expand(16, -1))  # exactly, in every completion
    erased = result.images[:, missing]  # (16, number erased)
    assert (erased != fill).any()  # drawn, not left at the fill
    assert len(torch.unique(erased, dim=0)) > 1  # and not the same in every completion
    assert ((erased >= 0) & (erased < spec.levels) & (erased == erased.round())).all()  # values of the view


@pytest.mark.parametrize("name,view", CASES)
def test_completions_are_fixed_by_the_seed(name, view):
    spec = spec_for(view)
    model = tiny_model(name, spec, scale=0.2)
    x, missing = an_image(spec), completion.erase_mask("centre box", spec.shape)
    first, again, other = (completion.complete(model, x, missing, n=6, proposals=8, seed=seed) for seed in (3, 3, 4))
    assert torch.equal(first.images, again.images)
    assert torch.equal(first.effective_proposals, again.effective_proposals)
    assert not torch.equal(first.images, other.images)


@pytest.mark.parametrize("name", [name for name, view in CASES if view == "binary"])
def test_weights_are_equal_when_every_observed_pixel_comes_first(name):
    spec = spec_for("binary")
    model = tiny_model(name, spec, scale=0.2, **({"num_masks": 1} if "num_masks" in TINY.get(name, {}) else {}))
    x, bottom = an_image(spec), completion.erase_mask("bottom half", spec.shape)
    assert completion.observed_first(model, bottom)
    _, log_weights = model.complete(x, ~bottom, 32, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(log_weights, log_weights[0].expand(32))  # they depend on the kept pixels only
    assert not completion.observed_first(model, completion.erase_mask("top half", spec.shape))
    # keep the bottom half instead: kept pixels now come after erased ones, and the weights see the draws
    _, log_weights = model.complete(x, bottom, 32, generator=torch.Generator().manual_seed(0))
    assert log_weights.std() > 0
    assert completion.complete(model, x, bottom, n=2, proposals=16).proposals == 1  # exact: one draw suffices


def test_temperature_is_checked_and_nothing_erased_is_refused():
    spec = spec_for("binary")
    model = tiny_model(next(iter(families_that("complete"))), spec)
    x = an_image(spec)
    with pytest.raises(ValueError, match="temperature"):
        completion.complete(model, x, completion.erase_mask("left half", spec.shape), temperature=0.0)
    with pytest.raises(ValueError, match="Nothing is erased"):
        completion.complete(model, x, torch.zeros(spec.shape, dtype=torch.bool))
    with pytest.raises(ValueError, match="shaped"):
        completion.complete(model, x[0], completion.erase_mask("left half", spec.shape))


# ---- against the exact conditional, by enumeration ---------------------------------------
STATES = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4))).reshape(16, 1, 2, 2)  # every 2×2 binary image


def exact_conditional(model, x: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """p(state | kept pixels of x) over the 16 states, from the model's exact log p of each."""
    with torch.no_grad():
        log_p = model.log_prob(STATES).double()
    agrees = (STATES[:, ~missing] == x[~missing]).all(1)
    return torch.softmax(torch.where(agrees, log_p, -torch.inf), 0)


def empirical(images: torch.Tensor) -> torch.Tensor:
    index = (images.reshape(len(images), 1, -1) == STATES.reshape(1, 16, -1)).all(-1).float().argmax(1)
    return torch.bincount(index, minlength=16).double() / len(images)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    return 0.5 * float((p - q).abs().sum())


RASTER_AND_MIXTURE = [name for name in ("fvsbn", "made") if name in families_that("complete")]


@pytest.mark.parametrize("name", RASTER_AND_MIXTURE)
def test_resampling_recovers_the_exact_conditional_where_the_plain_draw_cannot(name):
    """Top row erased: the kept bottom row comes after it, so the plain draw ignores it; SIR does not."""
    spec = DataSpec((1, 2, 2), "binary", 2)
    model = tiny_model(name, spec, scale=ENUMERATED_SCALE)
    x = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])
    missing = completion.erase_mask("top half", spec.shape)
    exact = exact_conditional(model, x, missing)
    plain = completion.complete(model, x, missing, n=1500, proposals=1, seed=1)
    resampled = completion.complete(model, x, missing, n=1500, proposals=64, seed=1)
    assert not plain.conditions_on_all and resampled.conditions_on_all
    assert total_variation(empirical(resampled.images), exact) < TV_TOLERANCE
    assert total_variation(empirical(plain.images), exact) > 3 * TV_TOLERANCE
    assert (resampled.effective_proposals >= 1).all() and (resampled.effective_proposals <= 64 + 1e-9).all()


@pytest.mark.parametrize("name", RASTER_AND_MIXTURE)
def test_the_plain_draw_is_exact_with_the_bottom_half_erased(name):
    spec = DataSpec((1, 2, 2), "binary", 2)
    model = tiny_model(name, spec, scale=ENUMERATED_SCALE, **({"num_masks": 1} if name == "made" else {}))
    x = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    missing = completion.erase_mask("bottom half", spec.shape)
    result = completion.complete(model, x, missing, n=1500, seed=2)
    assert result.exact and result.proposals == 1
    assert total_variation(empirical(result.images), exact_conditional(model, x, missing)) < TV_TOLERANCE


# ---- what the page draws ------------------------------------------------------------------
def test_erased_tiles_paint_the_erased_pixels_red_and_keep_the_rest_grey():
    original = np.full((1, 4, 4), 0.5)
    missing = completion.erase_mask("right half", (1, 4, 4)).numpy()
    completions = np.zeros((3, 1, 4, 4))
    tiles = completion.erased_tiles(original, missing, completions)
    assert tiles.shape == (5, 3, 4, 4)
    assert np.allclose(tiles[0], 0.5) and np.allclose(tiles[2:], 0.0)
    assert np.allclose(tiles[1][:, missing[0]], np.asarray(completion.ERASED_RGB)[:, None])
    assert np.allclose(tiles[1][:, ~missing[0]], 0.5)
