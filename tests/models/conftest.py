"""Fixtures the model tests share."""
import pytest
import torch

from genlab.data.base import from_tensors


@pytest.fixture(params=["binary", "gray8"])
def tiny_ds(request):
    """The same 4×4 images in both views: 5 grey levels, brighter towards the centre, or thresholded at 2."""
    g = torch.Generator().manual_seed(0)
    centre = torch.tensor([[0, 1, 1, 0], [1, 3, 3, 1], [1, 3, 3, 1], [0, 1, 1, 0]], dtype=torch.float32)
    train, test = ((centre + torch.randint(-1, 2, (n, 1, 4, 4), generator=g)).clamp(0, 4) for n in (300, 100))
    if request.param == "binary":
        return from_tensors((train >= 2).float(), (test >= 2).float(), view="binary")
    return from_tensors(train, test, view="gray8", levels=5)
