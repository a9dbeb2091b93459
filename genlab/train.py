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

__all__ = ["train", "TrainControl", "TrainResult", "apply_changes", "choose_player"]

VALID_ITEMS = 2000  # held-out items scored at each report
VALID_FRACTION = 0.1  # share of the training split held out for validation
REPORT_COST_RATIO = 4.0  # train for at least this many times as long as the last report took
REDRAW_SECONDS = 1.0  # slow motion: the wait after each report, so a human sees every redraw


class TrainControl:
    """Switches another thread flips while `train` runs: pause, resume, stop, single steps,
    mid-run changes that take effect at the next step (learning rate, batch size, critic steps,
    which player trains), a reset to the initial weights, and slow motion (a report every few
    steps, then a wait, so a learner can watch each redraw)."""

    # what a page may ask to change; the model says which of these it takes (`changeable`, `players`)
    CHANGEABLE = ("learning_rate", "batch_size", "critic_steps", "player")

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._reset = threading.Event()
        self._wake = threading.Event()  # ends a slow-motion wait early (stop, reset)
        self._lock = threading.Lock()
        self._granted = 0  # steps allowed before pausing again (single-step mode)
        self._changes: dict[str, float] = {}
        self._speed: tuple[int | None, float] = (None, 0.0)  # (steps per report, seconds of wait after it)

    def step(self, n: int = 1) -> None:
        """From a pause: take exactly n more gradient steps, then pause again."""
        if n < 1:
            raise ValueError(f"Number of steps must be at least 1; got {n}.")
        with self._lock:
            self._granted += int(n)
        self._running.set()

    def change(self, **values) -> None:
        """Ask for new values of CHANGEABLE settings from the next step on (e.g. player="generator")."""
        unknown = sorted(set(values) - set(self.CHANGEABLE))
        if unknown:
            raise ValueError(f"Only {', '.join(self.CHANGEABLE)} can change during training; got {', '.join(unknown)}.")
        with self._lock:
            self._changes.update(values)

    def take_changes(self) -> dict[str, float]:
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def reset(self) -> None:
        """Put the model back to its initial weights with a fresh optimizer (also while paused)."""
        self._reset.set()
        self._wake.set()

    def take_reset(self) -> bool:
        """True once after each `reset()`."""
        asked = self._reset.is_set()
        if asked:
            self._reset.clear()
            self._wake.clear()  # it has been seen: the next slow-motion wait is a full one
        return asked

    def set_speed(self, steps_per_report: int | None, wait_seconds: float = REDRAW_SECONDS) -> None:
        """Slow motion: report every `steps_per_report` steps and wait `wait_seconds` after each
        report (neither counts against the budget); None is full speed (reports by the clock)."""
        if steps_per_report is not None and int(steps_per_report) < 1:
            raise ValueError(f"Steps per report must be at least 1; got {steps_per_report}.")
        if not wait_seconds >= 0:
            raise ValueError(f"The wait between reports must be zero or more seconds; got {wait_seconds}.")
        with self._lock:
            self._speed = (None if steps_per_report is None else int(steps_per_report), float(wait_seconds))

    @property
    def steps_per_report(self) -> int | None:
        """None at full speed."""
        return self._speed[0]

    def slow_motion_wait(self) -> float:
        """After a report in slow motion: wait so a redraw can show it; returns the seconds waited."""
        steps, wait = self._speed
        if steps is None or wait <= 0 or self.stopped:
            return 0.0
        start = time.perf_counter()
        self._wake.wait(wait)
        self._wake.clear()
        return time.perf_counter() - start

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
        self._wake.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused (a reset ends the wait, to be shown at once); returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        while not self._running.wait(timeout=0.1):
            if self._reset.is_set():
                break
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


def torch_optimizers(optimizer) -> list[torch.optim.Optimizer]:
    """The torch optimizers inside whatever a family's make_optimizer returned (a GAN has two)."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return [optimizer]
    parts = optimizer if isinstance(optimizer, (tuple, list)) else vars(optimizer).values()  # a GAN's PlayerOptimizers
    return [v for v in parts if isinstance(v, torch.optim.Optimizer)]


def apply_changes(model: GenerativeModel, optimizer, changes: dict) -> str:
    """Apply mid-run hyper-parameter changes (checked like create_model's); returns the chart note."""
    fixed = sorted(set(changes) - set(model.changeable))
    if fixed:
        raise ValueError(f"{model.title} cannot change {', '.join(fixed)} during training; "
                         f"it can change {', '.join(model.changeable)}.")
    config = type(model.config).build(**{**model.config.to_json(), **changes})
    notes = []
    for name in changes:
        old, new = getattr(model.config, name), getattr(config, name)
        if old != new:
            setattr(model.config, name, new)
            notes.append(f"{name} {old:g} → {new:g}")
    for opt in torch_optimizers(optimizer):
        for group in opt.param_groups:
            group["lr"] = model.config.learning_rate
    return ", ".join(notes)


def choose_player(model: GenerativeModel, player: str) -> str:
    """Check a player asked for (an adversarial family's `players`); returns the chart note."""
    if player not in model.players:
        offered = ", ".join(model.players) if model.players else "none, it has a single objective"
        raise ValueError(f"{model.title} has no player {player!r} to train; choose one of: {offered}.")
    return "training: both players" if player == model.players[0] else f"training: {player} only"


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
    valid_fraction: float = VALID_FRACTION,
    report_every: float = 0.5,
) -> TrainResult:
    """Fit `model` to `ds.train` for a wall-clock budget, keeping the best held-out weights.

    A validation split is held out of the training data; every `report_every` seconds the
    family's objective and the common yardstick (KL on toys, NLL / bits per dim on
    images) are measured on it and passed to `on_metrics`. The weights with the best
    validation objective are restored at the end. The test split is never touched.

    Arguments:
        seconds: training budget; time spent paused, and slow motion's reports and waits, do not count.
        seed: fixes the validation split, the initialisation and the batch order.
        on_metrics: called with one flat dict per report (step, seconds, train_*, valid_*).
        control: a TrainControl to pause, resume, stop, step, change settings, reset to the
            initial weights or slow down from another thread (see TrainControl).
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
    initial_state = copy.deepcopy(model.state_dict())  # what a reset goes back to
    player = {"player": model.players[0]} if model.players else {}  # adversarial families: who trains
    batch_size = min(model.config.batch_size, len(fit))
    best_loss, best_step, best_state = math.inf, 0, None
    step, paused_for, next_report, reported_step = 0, 0.0, 0.0, 0
    status, message, train_metrics = "finished", "", dict(init_metrics)

    def measure(step: int, elapsed: float, train_metrics: dict) -> None:
        """Report, and keep the weights if they are the best held-out so far."""
        nonlocal best_loss, best_step, best_state, reported_step
        record = report(step, elapsed, train_metrics)
        if record["valid_loss"] < best_loss:
            best_loss, best_step = record["valid_loss"], step
            best_state = copy.deepcopy(model.state_dict())
        reported_step = step

    start = time.perf_counter()  # the budget counts gradient steps, not the set-up above
    while True:
        paused_for += control.wait_while_paused()
        elapsed = time.perf_counter() - start - paused_for
        if control.stopped:
            status = "stopped"
            break
        if elapsed >= seconds or (max_steps is not None and step >= max_steps):
            break
        if control.take_reset():  # the weights right after `initialize`; the step count and the clock go on
            model.load_state_dict(initial_state)
            optimizer = model.make_optimizer()
            best_loss, best_step, best_state = math.inf, step, None  # best-weight tracking starts again
            pending_events.append("reset to initial weights")
            train_metrics = {}
            measure(step, elapsed, train_metrics)  # shown at once, even from a pause
            continue
        changes = control.take_changes()
        if changes:
            notes = []
            asked = changes.pop("player", player.get("player"))
            if asked != player.get("player"):
                try:
                    notes.append(choose_player(model, asked))
                    player = {"player": asked}
                except ValueError as exc:
                    notes.append(f"change refused: {exc}")
            if changes:
                try:
                    notes.append(apply_changes(model, optimizer, changes))
                except ValueError as exc:  # a bad value from a page: say so on the chart, keep training
                    notes.append(f"change refused: {exc}")
            pending_events.extend(note for note in notes if note)
            batch_size = min(model.config.batch_size, len(fit))
        index = torch.randint(len(fit), (batch_size,), generator=generator)
        train_metrics = model.train_step(fit[index].to(model.device), optimizer, **player)
        step += 1
        granted_run_ended = control.count_step()  # then show where it got to
        if not math.isfinite(train_metrics.get("loss", 0.0)):
            status = "diverged"
            message = (
                f"The loss became {train_metrics['loss']} at step {step}; kept the best weights so far. "
                f"Try a smaller learning rate (now {model.config.learning_rate:g})."
            )
            break
        every = control.steps_per_report
        if granted_run_ended or (step - reported_step >= every if every else elapsed >= next_report):
            began = time.perf_counter()
            measure(step, elapsed, train_metrics)
            cost = time.perf_counter() - began
            if every:  # slow motion: these reports and the waits after them are for the eye, not the budget
                paused_for += cost + control.slow_motion_wait()
            else:  # held-out checks take at most ~1/(1 + REPORT_COST_RATIO) of the budget, however slow they are
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
