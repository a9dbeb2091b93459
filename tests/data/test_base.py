"""Users' own tensors: checked once, with messages that say how to fix them."""
import pytest
import torch

import genlab


def test_from_tensors_images_get_a_channel_axis():
    ds = genlab.from_tensors(torch.zeros(10, 5, 5), torch.ones(4, 5, 5), view="binary", labels_train=list(range(10)))
    assert ds.shape == (1, 5, 5) and ds.levels == 2 and ds.labels_train.dtype == torch.long


@pytest.mark.parametrize(
    "train, view, message",
    [
        (torch.full((4, 2), float("nan")), "continuous", "NaN"),
        (torch.full((4, 3, 3), 0.5), "binary", "only 0 and 1"),
        (torch.full((4, 3, 3), 300.0), "gray8", "integers 0..255"),
        (torch.zeros(4, 2), "colour", "Unknown view"),
    ],
)
def test_bad_tensors_are_refused(train, view, message):
    with pytest.raises(ValueError, match=message):
        genlab.from_tensors(train, train, view=view)


def test_labels_must_match():
    with pytest.raises(ValueError, match="labels_train has 3 entries"):
        genlab.from_tensors(torch.zeros(4, 2), torch.zeros(2, 2), view="continuous", labels_train=[0, 1, 2])


def test_validation_split_is_deterministic_and_disjoint():
    ds = genlab.from_tensors(torch.arange(100.0).reshape(50, 2), torch.zeros(5, 2), view="continuous")
    fit, valid = ds.split_validation(0.2, seed=1)
    fit2, valid2 = ds.split_validation(0.2, seed=1)
    assert torch.equal(valid, valid2) and len(valid) == 10 and len(fit) == 40
    assert not set(fit[:, 0].tolist()) & set(valid[:, 0].tolist())
    assert not torch.equal(ds.split_validation(0.2, seed=2)[1], valid)


def test_unknown_dataset_names_list_the_choices():
    with pytest.raises(ValueError, match="digits"):
        genlab.load_dataset("cifar-100")
    with pytest.raises(ValueError, match="only view is 'continuous'"):
        genlab.load_dataset("toy:moons", view="binary")
