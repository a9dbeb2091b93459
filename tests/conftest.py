"""Shared test set-up: one torch thread, runs written to a temporary folder, tiny data."""
import math

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def runs_in_tmp(tmp_path, monkeypatch):
    """No test writes into ./runs."""
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def eight_gaussians(n: int, seed: int) -> torch.Tensor:
    """A small 8-gaussians sample, independent of genlab's toy module."""
    g = torch.Generator().manual_seed(seed)
    angle = torch.randint(8, (n,), generator=g) * math.pi / 4
    centres = torch.stack([angle.cos(), angle.sin()], 1) * 4
    return (centres + 0.5 * torch.randn(n, 2, generator=g)) / 1.414


@pytest.fixture
def points_ds():
    from genlab.data.base import from_tensors

    return from_tensors(eight_gaussians(600, 0), eight_gaussians(200, 1), view="continuous")


@pytest.fixture
def binary_ds():
    from genlab.data.base import from_tensors

    g = torch.Generator().manual_seed(0)
    train = (torch.rand(300, 1, 4, 4, generator=g) < 0.3).float()
    test = (torch.rand(100, 1, 4, 4, generator=g) < 0.3).float()
    return from_tensors(train, test, view="binary")
