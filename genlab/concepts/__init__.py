"""The notes' first ideas as computations, one module per lesson of the Concepts page:

1. `generative_vs_discriminative` (with `classifiers` and `learning_curves`): classify by p(y|x)
   directly or by p(x|y) p(y) and Bayes' rule; what only the generative side can do.
2. `parametric_vs_nonparametric`: a fixed-size model against one that keeps the data, as n grows.
3. `curse_of_dimensionality`: how many inputs there are, and a KDE's shortfall as D grows.
4. `downstream_inference`: a linear probe on a model's features (completion is `genlab.completion`).

`common` holds what the lessons share. Every function takes plain tensors or a `Dataset` and returns
numbers or rows; the figures are in `genlab.figures.concepts`, and nothing here imports Streamlit.
Every public name is re-exported here, so `from genlab import concepts; concepts.labelled_set(...)`.

Example:
    >>> ds = labelled_set("toy:moons")
    >>> model = make_classifier("kde", ds.spec).fit(ds.train, ds.labels_train, num_classes=2)
    >>> accuracy(model, ds.test, ds.labels_test)
"""
from genlab.concepts import (
                             classifiers,
                             common,
                             curse_of_dimensionality,
                             downstream_inference,
                             generative_vs_discriminative,
                             learning_curves,
                             parametric_vs_nonparametric,
)
from genlab.concepts.classifiers import *  # noqa: F403
from genlab.concepts.common import *  # noqa: F403
from genlab.concepts.curse_of_dimensionality import *  # noqa: F403
from genlab.concepts.downstream_inference import *  # noqa: F403
from genlab.concepts.generative_vs_discriminative import *  # noqa: F403
from genlab.concepts.learning_curves import *  # noqa: F403
from genlab.concepts.parametric_vs_nonparametric import *  # noqa: F403

__all__ = (classifiers.__all__ + common.__all__ + generative_vs_discriminative.__all__ + learning_curves.__all__
           + parametric_vs_nonparametric.__all__ + curse_of_dimensionality.__all__ + downstream_inference.__all__)
