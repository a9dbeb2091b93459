"""Every preset names real hyper-parameters, builds on data of its kind and trains a few steps."""
import math

import pytest
import torch

import genlab
from genlab.presets import (
    ALTERNATIVES,
    BENCH_DATASETS,
    KINDS,
    PRESETS,
    PROMOTION_MARGIN,
    UNITS,
    Preset,
    dataset_kind,
    measured,
    measured_note,
    presets_for,
    read_measured,
    settings_note,
    view_kind,
)

DATASETS = {"toy": ("toy:8gaussians", None), "image-binary": ("digits", "binary"), "image-gray8": ("digits", "gray8")}


@pytest.fixture(scope="module")
def datasets():
    return {kind: genlab.load_dataset(name, view=view) for kind, (name, view) in DATASETS.items()}


def test_each_preset_names_only_its_familys_hyper_parameters():
    families = genlab.families()
    for preset in PRESETS + ALTERNATIVES:
        assert preset.family in families, preset.name
        assert preset.kind in KINDS, preset.name
        names = {f.name for f in families[preset.family].config_class.fields()}
        assert set(preset.hparams) <= names, (preset.family, preset.name, set(preset.hparams) - names)
        assert preset.why, preset.name


def test_names_are_unique_per_family_and_kind():
    keys = [(p.family, p.kind, p.name) for p in PRESETS + ALTERNATIVES]
    assert len(keys) == len(set(keys)) and not any(p.broken for p in ALTERNATIVES)


def test_broken_presets_say_what_to_look_for_and_come_last():
    broken = [p for p in PRESETS if p.broken]
    assert {p.family for p in broken} >= {"realnvp", "gan", "vae"}  # flow, mode collapse, posterior collapse
    for family, kind in {(p.family, p.kind) for p in PRESETS}:
        flags = [p.broken for p in presets_for(family, kind)]
        assert flags == sorted(flags)


def test_dataset_kind(datasets):
    for kind, ds in datasets.items():
        assert dataset_kind(ds) == kind


def test_dataset_kind_and_view_kind_agree(datasets):
    for kind, ds in datasets.items():
        assert view_kind(ds.view) == kind


def test_settings_note_names_the_preset_or_what_differs_from_the_defaults():
    def note(family, view="continuous", **hparams):
        return settings_note(family, view, full(family, hparams))

    assert note("gan") == "defaults"
    assert note("gan", sampler="ratio-critic rejection") == "Rejection by a ratio critic"
    # a preset and one change: nearer the preset than the defaults (two changes)
    assert note("gan", sampler="ratio-critic rejection", learning_rate=0.001) == \
        "Rejection by a ratio critic, with learning rate 0.001"
    assert note("gan", r1_weight=0.0, generator_average=0.99) == "generator average 0.99, r1 weight 0"
    # only the presets of the run's kind of data: the toy preset is no name for a run on images
    assert note("gan", "binary", sampler="ratio-critic rejection") == "sampler ratio-critic rejection"
    broken = next(p for p in presets_for("gan", "toy") if p.broken)
    assert note("gan", **broken.hparams) == broken.name
    assert note("vae", "gray8", gray_decoder="categorical", iw_samples=16, latent_dim=8) == \
        "Categorical decoder, with latent dim 8"


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


# ---- the benchmark's measurements (genlab/presets_measured.json) ----------------------
def full(family, hparams):
    return genlab.families()[family].config_class.build(**hparams).to_json()


def test_measured_file_names_real_families_presets_and_their_current_settings():
    named = {(p.family, p.kind, p.name): p for p in PRESETS + ALTERNATIVES}
    groups = read_measured()["groups"]
    assert groups, "run `python -m genlab bench --presets --write`"
    assert len({(g["family"], g["kind"]) for g in groups}) == len(groups)
    for g in groups:
        assert g["family"] in genlab.families() and g["kind"] in KINDS, g["family"]
        assert g["dataset"] == BENCH_DATASETS[g["kind"]][0] and g["yardstick"] in UNITS
        assert g["seconds_budget"] > 0 and g["torch_threads"] >= 1 and g["date"]
        defaults = [c for c in g["candidates"] if c["role"] == "defaults"]
        assert len(defaults) == 1 and defaults[0]["hparams"] == full(g["family"], {})
        for c in g["candidates"]:
            for name in c["names"]:
                if name != "defaults":  # a preset or alternative of this family and kind, with these settings
                    assert full(g["family"], named[g["family"], g["kind"], name].hparams) == c["hparams"], name
        values = [c["value"] for c in g["candidates"] if c["value"] is not None]
        assert [c["winner"] for c in g["candidates"]].count(True) >= 1
        assert all(c["value"] == min(values) for c in g["candidates"] if c["winner"])


def test_every_working_preset_is_measured_and_did_at_least_as_well_as_the_defaults_or_says_so():
    for preset in PRESETS:
        if preset.broken:
            continue
        m = preset.measured
        assert m is not None, f"{preset.family}/{preset.kind}/{preset.name}: run bench --presets --write"
        if not m.beat_defaults:  # kept for something other than the yardstick: it must say so
            assert preset.trade_off, (preset.name, m.value, m.defaults_value)


def test_an_alternative_that_clearly_beat_the_presets_and_the_defaults_was_promoted():
    """The table keeps what the benchmark chose: no alternative is left ahead by more than the margin."""
    for g in read_measured()["groups"]:
        kept = [c["value"] for c in g["candidates"] if c["role"] != "alternative" and c["value"] is not None]
        bar = min(kept) - PROMOTION_MARGIN * abs(min(kept))
        for c in g["candidates"]:
            if c["role"] == "alternative" and c["value"] is not None:
                assert c["value"] >= bar, (g["family"], g["kind"], c["names"], c["value"], min(kept))


def test_measured_note_reads_like_a_sentence():
    preset = Preset("Wide", "gmm", "toy", {"num_components": 32})
    group = {"family": "gmm", "kind": "toy", "dataset": "toy:8gaussians", "yardstick": "kl_nats",
             "date": "2026-11-25", "seconds_budget": 15.0, "seed": 0, "torch_threads": 1, "candidates": [
                 {"names": ["defaults"], "role": "defaults", "hparams": full("gmm", {}), "value": 0.45,
                  "winner": False},
                 {"names": ["Wide"], "role": "preset", "hparams": full("gmm", preset.hparams), "value": 0.11,
                  "winner": True}]}
    data = {"groups": [group]}
    m = measured(preset, data)
    assert m.beat_defaults and not m.same_as_defaults and (m.value, m.defaults_value) == (0.11, 0.45)
    assert measured_note(preset, data) == ("measured: KL 0.110 nats after 15 CPU-seconds vs 0.450 nats for the "
                                           "defaults, best of 2 settings tried (bench 2026-11-25, toy:8gaussians, "
                                           "1 thread)")
    assert measured(Preset("Other", "gmm", "toy", {"num_components": 3}), data) is None
    assert "these are the defaults" in measured_note(Preset("Plain", "gmm", "toy", {}), data)
