"""The noise rule: draws come from the generator's own device and land on the device asked for."""
import pytest
import torch

from genlab.models._noise import (
    categorical,
    random_index,
    source_device,
    standard_normal,
    uniform,
)

DRAWS = {
    "standard_normal": lambda g, device: standard_normal((4, 3), g, device),
    "uniform": lambda g, device: uniform((4, 3), g, device),
    "random_index": lambda g, device: random_index(5, (4, 3), g, device),
    "categorical": lambda g, device: categorical(torch.tensor([0.2, 0.3, 0.5]), 12, g, device),
}


@pytest.mark.parametrize("draw", DRAWS.values(), ids=DRAWS.keys())
def test_a_seed_fixes_the_draws_and_they_land_on_the_device_asked_for(draw):
    first, again = (draw(torch.Generator().manual_seed(7), "cpu") for _ in range(2))
    assert torch.equal(first, again)
    assert not torch.equal(first, draw(torch.Generator().manual_seed(8), "cpu"))
    # a CPU generator for tensors elsewhere: drawn on the CPU, then moved ("meta" stands in for a GPU here)
    assert draw(torch.Generator().manual_seed(7), "meta").device.type == "meta"


def test_without_a_generator_draws_come_from_the_global_stream_on_the_device():
    assert source_device(None, "cpu") == torch.device("cpu")
    torch.manual_seed(3)
    first = standard_normal((5,), None, "cpu")
    torch.manual_seed(3)
    assert torch.equal(first, standard_normal((5,), None, "cpu"))
