"""Every preset names real hyper-parameters, builds on data of its kind and trains a few steps."""
import math

import pytest
import torch

import genlab
from genlab.presets import KINDS, PRESETS, dataset_kind, presets_for

DATASETS = {"toy": ("toy:8gaussians", None), "image-binary": ("digits", "binary"), "image-gray8": ("digits", "gray8")}


@pytest.fixture(scope="module")
def datasets():
    return {kind: genlab.load_dataset(name, view=view) for kind, (name, view) in DATASETS.items()}


def test_each_preset_names_only_its_familys_hyper_parameters():
    families = genlab.families()
    for preset in PRESETS:
        assert preset.family in families, preset.name
        assert preset.kind in KINDS, preset.name
        names = {f.name for f in families[preset.family].config_class.fields()}
        assert set(preset.hparams) <= names, (preset.family, preset.name, set(preset.hparams) - names)
        assert preset.why, preset.name


def test_names_are_unique_per_family_and_kind():
    keys = [(p.family, p.kind, p.name) for p in PRESETS]
    assert len(keys) == len(set(keys))


def test_broken_presets_say_what_to_look_for_and_come_last():
    broken = [p for p in PRESETS if p.broken]
    assert {p.family for p in broken} >= {"realnvp", "gan", "vae"}  # flow, mode collapse, posterior collapse
    for family, kind in {(p.family, p.kind) for p in PRESETS}:
        flags = [p.broken for p in presets_for(family, kind)]
        assert flags == sorted(flags)


def test_dataset_kind(datasets):
    for kind, ds in datasets.items():
        assert dataset_kind(ds) == kind


def test_unknown_kind_is_a_sentence():
    with pytest.raises(ValueError, match="Unknown kind"):
        presets_for("gmm", "video")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"{p.family}-{p.kind}-{p.name}")
def test_preset_builds_and_trains_a_few_steps(preset, datasets):
    torch.set_num_threads(1)
    ds = datasets[preset.kind]
    assert genlab.fits(preset.family, ds.spec) is None, preset.name
    model = genlab.create_model(preset.family, ds, **preset.hparams)
    for name, value in preset.hparams.items():
        assert getattr(model.config, name) == value
    result = genlab.train(model, ds, seconds=60, max_steps=3)
    assert result.status in ("finished", "fitted")
    assert math.isfinite(result.best_valid_loss)
