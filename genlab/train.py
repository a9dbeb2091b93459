"""The training loop: a plain, blocking function that any caller (CLI, job thread, test) drives."""
from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from genlab.data.base import Dataset
from genlab.evaluate import heldout_metrics
from genlab.models.base import GenerativeModel

__all__ = ["train", "TrainControl", "TrainResult", "apply_changes"]

VALID_ITEMS = 2000  # held-out items scored at each report
REPORT_COST_RATIO = 4.0  # train for at least this many times as long as the last report took


class TrainControl:
    """Switches another thread flips while `train` runs: pause, resume, stop, single steps,
    and learning-rate / batch-size changes that take effect at the next step."""

    CHANGEABLE = ("learning_rate", "batch_size")

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._granted = 0  # steps allowed before pausing again (single-step mode)
        self._changes: dict[str, float] = {}

    def step(self, n: int = 1) -> None:
        """From a pause: take exactly n more gradient steps, then pause again."""
        if n < 1:
            raise ValueError(f"Number of steps must be at least 1; got {n}.")
        with self._lock:
            self._granted += int(n)
        self._running.set()

    def change(self, **values) -> None:
        """Ask for new learning_rate and/or batch_size from the next step on."""
        unknown = sorted(set(values) - set(self.CHANGEABLE))
        if unknown:
            raise ValueError(f"Only {', '.join(self.CHANGEABLE)} can change during training; got {', '.join(unknown)}.")
        with self._lock:
            self._changes.update(values)

    def take_changes(self) -> dict[str, float]:
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def count_step(self) -> bool:
        """Called after each step; True when a granted run of steps just ended (now paused)."""
        with self._lock:
            if self._granted == 0:
                return False
            self._granted -= 1
            if self._granted == 0:
                self._running.clear()
                return True
        return False

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        while not self._running.wait(timeout=0.1):
            pass
        return time.perf_counter() - start


@dataclass
class TrainResult:
    """What a call to `train` did."""

    status: str  # "finished" | "stopped" | "diverged" | "fitted"
    steps: int
    seconds: float
    best_step: int
    best_valid_loss: float
    message: str = ""
    metrics: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "metrics"}


def _optimizers(optimizer) -> list[torch.optim.Optimizer]:
    """The torch optimizers inside whatever a family's make_optimizer returned."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return [optimizer]
    return [v for v in vars(optimizer).values() if isinstance(v, torch.optim.Optimizer)]


def apply_changes(model: GenerativeModel, optimizer, changes: dict) -> str:
    """Apply mid-run hyper-parameter changes (checked like create_model's); returns the chart note."""
    config = type(model.config).build(**{**model.config.to_json(), **changes})
    notes = []
    for name in changes:
        old, new = getattr(model.config, name), getattr(config, name)
        if old != new:
            setattr(model.config, name, new)
            notes.append(f"{name} {old:g} → {new:g}")
    for opt in _optimizers(optimizer):
        for group in opt.param_groups:
            group["lr"] = model.config.learning_rate
    return ", ".join(notes)


def _valid_loss(model: GenerativeModel, valid: torch.Tensor) -> float:
    """The family's own objective on held-out data (what picks the best weights)."""
    model.eval()
    with torch.no_grad():
        value = model.validation_loss(valid.to(model.device))
    model.train()
    return value


def train(
    model: GenerativeModel,
    ds: Dataset,
    seconds: float = 30.0,
    seed: int = 0,
    on_metrics: Callable[[dict], None] | None = None,
    control: TrainControl | None = None,
    max_steps: int | None = None,
    valid_fraction: float = 0.1,
    report_every: float = 0.5,
) -> TrainResult:
    """Fit `model` to `ds.train` for a wall-clock budget, keeping the best held-out weights.

    A validation split is held out of the training data; every `report_every` seconds the
    family's objective and the common yardstick (KL on toys, NLL / bits per dim on
    images) are measured on it and passed to `on_metrics`. The weights with the best
    validation objective are restored at the end. The test split is never touched.

    Arguments:
        seconds: training budget; time spent paused does not count.
        seed: fixes the validation split, the initialisation and the batch order.
        on_metrics: called with one flat dict per report (step, seconds, train_*, valid_*).
        control: a TrainControl to pause, resume or stop from another thread.
        max_steps: optional cap on gradient steps (tests use it).

    Returns:
        A TrainResult; `status` is "finished", "stopped" (by control), "diverged"
        (a non-finite loss; the best weights so far are kept) or "fitted" (closed form).
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number; got {seconds}.")
    control = control or TrainControl()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    fit, valid = ds.split_validation(valid_fraction, seed)
    valid = valid[:VALID_ITEMS]
    metrics: list[dict] = []

    pending_events: list[str] = []  # hyper-parameter changes to mark on the chart

    def report(step: int, elapsed: float, train_metrics: dict) -> dict:
        record = {"step": step, "seconds": round(elapsed, 3)}
        if pending_events:
            record["event"] = "; ".join(pending_events)
            pending_events.clear()
        record.update({f"train_{k}": v for k, v in train_metrics.items()})
        record["valid_loss"] = _valid_loss(model, valid)
        record.update(heldout_metrics(model, valid, ds, "valid"))
        metrics.append(record)
        if on_metrics is not None:
            on_metrics(record)
        return record

    model.train()
    start = time.perf_counter()
    init_metrics = model.initialize(fit, valid, generator)
    if not model.trainable:
        record = report(0, time.perf_counter() - start, init_metrics)
        return TrainResult("fitted", 0, time.perf_counter() - start, 0, record["valid_loss"], "", metrics)

    optimizer = model.make_optimizer()
    batch_size = min(model.config.batch_size, len(fit))
    best_loss, best_step, best_state = math.inf, 0, None
    step, paused_for, next_report = 0, 0.0, 0.0
    status, message, train_metrics = "finished", "", dict(init_metrics)
    start = time.perf_counter()  # the budget counts gradient steps, not the set-up above
    while True:
        paused_for += control.wait_while_paused()
        elapsed = time.perf_counter() - start - paused_for
        if control.stopped:
            status = "stopped"
            break
        if elapsed >= seconds or (max_steps is not None and step >= max_steps):
            break
        changes = control.take_changes()
        if changes:
            try:
                note = apply_changes(model, optimizer, changes)
            except ValueError as exc:  # a bad value from a page: say so on the chart, keep training
                note = f"change refused: {exc}"
            if note:
                pending_events.append(note)
            batch_size = min(model.config.batch_size, len(fit))
        index = torch.randint(len(fit), (batch_size,), generator=generator)
        train_metrics = model.train_step(fit[index].to(model.device), optimizer)
        step += 1
        if control.count_step():
            next_report = 0.0  # a granted run of steps ended: show where it got to
        if not math.isfinite(train_metrics.get("loss", 0.0)):
            status = "diverged"
            message = (
                f"The loss became {train_metrics['loss']} at step {step}; kept the best weights so far. "
                f"Try a smaller learning rate (now {model.config.learning_rate:g})."
            )
            break
        if elapsed >= next_report:
            began = time.perf_counter()
            record = report(step, elapsed, train_metrics)
            if record["valid_loss"] < best_loss:
                best_loss, best_step = record["valid_loss"], step
                best_state = copy.deepcopy(model.state_dict())
            cost = time.perf_counter() - began
            # held-out checks take at most ~1/(1 + REPORT_COST_RATIO) of the budget, however slow they are
            next_report = elapsed + cost + max(report_every, REPORT_COST_RATIO * cost)
    elapsed = time.perf_counter() - start - paused_for
    if status != "diverged":
        record = report(step, elapsed, train_metrics)
        if record["valid_loss"] < best_loss:  # the final weights are the best: keep them as they are
            best_loss, best_step, best_state = record["valid_loss"], step, None
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(status, step, elapsed, best_step, best_loss, message, metrics)
