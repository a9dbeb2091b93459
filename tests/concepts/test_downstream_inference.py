"""Lesson 4: a linear probe on learned features."""

import pytest

import genlab
from genlab import concepts


def test_a_linear_probe_on_learned_features_beats_chance_on_digits():
    ds = genlab.load_dataset("digits")
    model = genlab.create_model("gaussian", ds)  # encode(x) is the whitened code L⁻¹(x − μ)
    genlab.train(model, ds, seconds=5, seed=0)
    rows = concepts.probe_comparison(model, ds, per_class=(10, None), repeats=1, seed=0)
    assert {r["features"] for r in rows} == {"raw pixels", f"{model.title} features"}
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert all(r["accuracy"] > 0.5 for r in rows if r["per_class"] is None)  # chance is 0.1
    assert "raw pixels" in concepts.probe_summary(rows)


def test_a_probe_needs_a_model_that_encodes():
    ds = genlab.load_dataset("digits")
    with pytest.raises(ValueError, match="encode"):
        concepts.probe_comparison(genlab.create_model("kde", ds), ds)
