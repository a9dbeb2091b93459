"""Lesson 1: what only the generative side can do — sample a class, flag inputs that fit no class."""

import numpy as np
import torch

from genlab import concepts


def test_the_generative_side_samples_a_class_and_flags_inputs_that_fit_no_class():
    ds = concepts.gaussian_blobs(600, 300, seed=0)
    model = concepts.make_classifier("naive_bayes", ds.spec).fit(ds.train, ds.labels_train, num_classes=3)
    samples = model.sample(2, 500, torch.Generator().manual_seed(0))
    assert samples.shape == (500, 2)
    assert torch.allclose(samples.mean(0), ds.train[ds.labels_train == 2].mean(0), atol=0.15)
    cut = concepts.novelty_threshold(model, ds.train, percentile=1.0)
    flagged_test = concepts.fits_no_class(model, ds.test, cut).mean()
    assert flagged_test < 0.05  # about 1 % of held-out points, as for the training points
    far = torch.tensor([[30.0, 30.0], [-25.0, 0.0]])
    assert concepts.fits_no_class(model, far, cut).all()
    assert np.exp(model.predict_log_proba(far).max(1)).min() > 0.5  # yet p(y|x) still picks a class
