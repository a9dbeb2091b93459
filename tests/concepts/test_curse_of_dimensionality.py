"""Lesson 3: counting possible inputs, and downsampling images to a smaller resolution."""
import math

import pytest
import torch

import genlab
from genlab import concepts
from genlab.data.base import from_tensors


def test_the_notes_example_counted_correctly():
    log10 = concepts.log10_possible_inputs(**concepts.NOTES_IMAGE)
    assert math.floor(log10) == 7_080_225  # 256^2,940,000, not the notes' 10^800000
    mantissa, exponent = concepts.power_of_ten(log10)
    assert exponent == 7_080_225 and 3.1 < mantissa < 3.2
    assert concepts.format_power_of_ten(log10) == "3.15 × 10^7,080,225"


def test_binary_mnist_has_ten_to_the_236_possible_images():
    log10 = concepts.log10_possible_inputs(28, 28, 1, 2)
    assert f"{log10:.1f}" == "236.0"
    assert concepts.log10_possible_inputs(1, 1, 1, 10) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="levels"):
        concepts.log10_possible_inputs(28, 28, 1, 0)


@pytest.mark.parametrize("source,view,size",
                         [("digits", "binary", 4), ("digits", "gray8", 4), ("mnist5k", "gray8", 16)])
def test_downsampling_keeps_the_view_domain_labels_and_split(source, view, size):
    ds = genlab.load_dataset(source, view=view)
    small = concepts.downsample(ds, size)
    assert small.shape == (1, size, size) and small.view == view and small.levels == ds.levels
    for x in (small.train, small.test):
        assert ((x >= 0) & (x <= ds.levels - 1) & (x == x.round())).all()
    assert torch.equal(small.labels_train, ds.labels_train) and len(small.test) == len(ds.test)
    assert genlab.fits("kde", small.spec) is None


def test_downsampling_averages_blocks():
    block = torch.tensor([[0.0, 2.0], [4.0, 6.0]]).repeat(1, 1, 1, 1)  # one 2×2 gray8 image
    ds = from_tensors(block, block, view="gray8", levels=17)
    assert concepts.downsample(ds, 1).train.item() == 3.0
    with pytest.raises(ValueError, match="between 1 and 2"):
        concepts.downsample(ds, 3)
