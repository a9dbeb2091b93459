"""GenLab: a laboratory for deep generative models.

The whole field in one line (Stanford CS236): observe data D ~ p_data, pick a model
family M, look for min_θ d(p_data, p_θ), then ask the model for densities, samples and
features. This package is that line as code, usable without the app:

    >>> import genlab
    >>> ds = genlab.load_dataset("toy:8gaussians")
    >>> model = genlab.create_model("realnvp", ds)
    >>> run = genlab.train(model, ds, seconds=30, seed=0)
    >>> genlab.evaluate(model, ds)["kl_nats"]
"""
from genlab.data import dataset_names, from_tensors, load_dataset
from genlab.evaluate import evaluate
from genlab.models import create_model, families, fits
from genlab.runs import list_runs, load_run, save_run, train_and_save
from genlab.train import TrainControl, TrainResult, train

__all__ = [
    "load_dataset",
    "from_tensors",
    "dataset_names",
    "create_model",
    "families",
    "fits",
    "train",
    "TrainControl",
    "TrainResult",
    "evaluate",
    "train_and_save",
    "save_run",
    "load_run",
    "list_runs",
]

__version__ = "0.1.0"
