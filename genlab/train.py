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
from genlab.models.base import GenerativeModel, schedule_factor

__all__ = ["train", "TrainControl", "TrainResult", "Setup", "prepare", "make_optimizer", "apply_changes",
           "choose_player", "torch_optimizers"]

VALID_ITEMS = 2000  # held-out items scored at each report
VALID_FRACTION = 0.1  # share of the training split held out for validation
REPORT_SHARE = 0.05  # one held-out report costs at most this share of the budget: its items are sized to fit
PROBE_ITEMS = 32  # validation items the first report scores alone, to measure what one costs
REPORT_COST_RATIO = 4.0  # train for at least this many times as long as the last report took
REDRAW_SECONDS = 1.0  # slow motion: the wait after each report, so a human sees every redraw


class TrainControl:
    """Switches another thread flips while `train` runs: pause, resume, stop, single steps,
    mid-run changes that take effect at the next step (learning rate, batch size, critic steps,
    which player trains), a reset to the initial weights, and slow motion (a report every few
    steps, then a wait, so a learner can watch each redraw). Pause, resume, single steps and speed
    are noted (`take_notes`) for the chart to mark where they happened."""

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
        self._notes: list[str] = []  # pause, resume, steps and speed since the trainer last took them
        self._begun = False  # set by the trainer at its first step: what comes before is the starting state

    def begin(self) -> None:
        """The trainer is about to take its first step: a pause or a speed from now on is noted."""
        with self._lock:
            self._begun = True

    def _note(self, text: str, before_the_start: bool = False) -> None:
        with self._lock:
            if self._begun or before_the_start:
                self._notes.append(text)

    def take_notes(self) -> list[str]:
        """What was asked of the playback (pause, resume, single steps, speed) since the last call."""
        with self._lock:
            notes, self._notes = self._notes, []
        return notes

    def step(self, n: int = 1) -> None:
        """From a pause: take exactly n more gradient steps, then pause again."""
        if n < 1:
            raise ValueError(f"Number of steps must be at least 1; got {n}.")
        with self._lock:
            self._granted += int(n)
        self._note(f"{int(n)} step{'s' if n > 1 else ''} from the pause", before_the_start=True)
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
        speed = (None if steps_per_report is None else int(steps_per_report), float(wait_seconds))
        with self._lock:
            changed, self._speed = speed[0] != self._speed[0], speed
        if changed:
            self._note("full speed" if speed[0] is None else f"slow motion: a redraw every {speed[0]} steps")

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
        if self._running.is_set():
            self._note("paused")
        self._running.clear()

    def resume(self) -> None:
        if not self._running.is_set():
            self._note("resumed")
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

    @property
    def progress(self) -> float | None:
        """The share of its own budget spent, for a control that sets one (the benchmark's CPU-time budget);
        None: the run's wall-clock budget counts (what a learning-rate schedule follows)."""
        return None

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
    finish: dict = field(default_factory=dict)  # what the family's finish_training reported

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


@dataclass
class Setup:
    """What training starts from; every rank of a distributed run makes the same one."""

    fit: torch.Tensor  # the training items left once the validation split is held out
    valid: torch.Tensor  # at most VALID_ITEMS held-out items, scored at each report
    generator: torch.Generator  # the batch order, seeded
    init_metrics: dict  # what the family's `initialize` reported


def prepare(model: GenerativeModel, ds: Dataset, seed: int, valid_fraction: float = VALID_FRACTION) -> Setup:
    """Seed, hold out the validation split and initialize the model (a closed-form family is fitted here)."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    fit, valid = ds.split_validation(valid_fraction, seed)
    valid = valid[:VALID_ITEMS]
    model.train()
    init_metrics = model.initialize(fit, valid, generator)
    return Setup(fit, valid, generator, init_metrics)


def make_optimizer(model: GenerativeModel, on_optimizer: Callable[[object], None] | None = None):
    """The family's optimizer, shown to `on_optimizer` before its first step.

    `on_optimizer` is where a caller joins in every step: it may register step pre-hooks on the
    torch optimizers inside (`torch_optimizers`); distributed.py averages gradients over the ranks there.
    """
    optimizer = model.make_optimizer()
    if on_optimizer is not None:
        on_optimizer(optimizer)
    return optimizer


class _Records:
    """A run's reports, each measured on the held-out split and passed to `on_metrics`, with the best
    weights by the held-out objective and what to mark at the next report: the events (changes, resets)
    under "event", the playback (pause, resume, single steps, speed) under "control"."""

    def __init__(self, model: GenerativeModel, ds: Dataset, valid: torch.Tensor,
                 on_metrics: Callable[[dict], None] | None, report_seconds: float | None = None):
        self.model, self.ds, self.valid, self.on_metrics = model, ds, valid, on_metrics
        self.report_seconds = report_seconds  # what one report may cost; None: score every validation item
        self.metrics: list[dict] = []
        self.events: list[str] = []
        self.controls: list[str] = []
        self.best_loss, self.best_step, self.best_state = math.inf, 0, None
        self.reported_step = 0

    def report(self, step: int, elapsed: float, train_metrics: dict) -> dict:
        record = {"step": step, "seconds": round(elapsed, 3)}
        if self.events:
            record["event"] = "; ".join(self.events)
            self.events.clear()
        if self.controls:
            record["control"] = "; ".join(self.controls)
            self.controls.clear()
        record.update({f"train_{k}": v for k, v in train_metrics.items()})
        if self.report_seconds is not None:
            self.size_validation()
        record.update(self.held_out(self.valid))
        self.metrics.append(record)
        if self.on_metrics is not None:
            self.on_metrics(record)
        return record

    def held_out(self, items: torch.Tensor) -> dict:
        return {"valid_loss": _valid_loss(self.model, items), **heldout_metrics(self.model, items, self.ds, "valid")}

    def size_validation(self) -> None:
        """Once, at the first report: keep as many validation items as one report can score in
        `report_seconds`, at the cost of PROBE_ITEMS scored alone (every report then uses the same items,
        so their objectives compare)."""
        self.report_seconds, budget = None, self.report_seconds
        if len(self.valid) <= PROBE_ITEMS:
            return
        began = time.perf_counter()
        self.held_out(self.valid[:PROBE_ITEMS])
        per_item = (time.perf_counter() - began) / PROBE_ITEMS
        self.valid = self.valid[:max(PROBE_ITEMS, min(len(self.valid), int(budget / max(per_item, 1e-9))))]

    def measure(self, step: int, elapsed: float, train_metrics: dict) -> None:
        """Report, and keep the weights if they are the best held-out so far."""
        record = self.report(step, elapsed, train_metrics)
        if record["valid_loss"] < self.best_loss:
            self.best_loss, self.best_step = record["valid_loss"], step
            self.best_state = copy.deepcopy(self.model.state_dict())
        self.reported_step = step

    def forget_best(self, step: int) -> None:
        """After a reset: the best weights are tracked afresh from `step`."""
        self.best_loss, self.best_step, self.best_state = math.inf, step, None

    def finish(self, step: int, elapsed: float, train_metrics: dict) -> None:
        """The last report; if the final weights are the best, they stay as they are."""
        record = self.report(step, elapsed, train_metrics)
        if record["valid_loss"] < self.best_loss:
            self.best_loss, self.best_step, self.best_state = record["valid_loss"], step, None

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)


class _Loop:
    """The gradient steps of one run under a TrainControl, and what they carry from step to step."""

    def __init__(self, model: GenerativeModel, setup: Setup, records: _Records, control: TrainControl,
                 seconds: float, max_steps: int | None, report_every: float,
                 on_optimizer: Callable[[object], None] | None, steps_share: float = 1.0):
        self.model, self.fit, self.generator = model, setup.fit, setup.generator
        self.records, self.control, self.on_optimizer = records, control, on_optimizer
        self.seconds, self.max_steps, self.report_every = seconds, max_steps, report_every
        self.steps_share = steps_share  # of a control's own budget (its `progress`), the part the steps may use
        self.optimizer = make_optimizer(model, on_optimizer)
        self.initial_state = copy.deepcopy(model.state_dict())  # what a reset goes back to
        self.player = {"player": model.players[0]} if model.players else {}  # adversarial families: who trains
        self.batch_size = min(model.config.batch_size, len(self.fit))
        self.step, self.paused_for, self.next_report = 0, 0.0, 0.0
        self.status, self.message, self.train_metrics = "finished", "", dict(setup.init_metrics)
        self.start = time.perf_counter()  # the budget counts gradient steps, not the set-up above

    def elapsed(self) -> float:
        """Seconds of training so far: pauses and slow motion's reports and waits do not count."""
        return time.perf_counter() - self.start - self.paused_for

    def run(self) -> None:
        """Step until the budget or `max_steps` is spent, the control stops it, or the loss diverges."""
        self.control.begin()
        while True:
            self.take_notes()
            if self.control.paused and self.records.controls and self.step > 0:
                self.report_pause()
            self.paused_for += self.control.wait_while_paused()
            self.take_notes()
            elapsed = self.elapsed()
            if self.control.stopped:
                self.status = "stopped"
                return
            if elapsed >= self.seconds or (self.max_steps is not None and self.step >= self.max_steps):
                return
            if self.control.progress is not None and self.control.progress >= self.steps_share:
                return  # the rest of the control's budget is the family's finish_training
            if self.control.take_reset():
                self.reset(elapsed)
                continue
            self.take_changes()
            self.follow_schedule(elapsed)
            granted_run_ended = self.gradient_step()  # then show where it got to
            if self.status == "diverged":
                return
            if granted_run_ended or self.report_due(elapsed):
                self.report(elapsed)

    def reset(self, elapsed: float) -> None:
        """Back to the weights right after `initialize` with a fresh optimizer; the step count and the clock go on."""
        self.model.load_state_dict(self.initial_state)
        self.optimizer = make_optimizer(self.model, self.on_optimizer)
        self.records.forget_best(self.step)
        self.records.events.append("reset to initial weights")
        self.train_metrics = {}
        self.records.measure(self.step, elapsed, self.train_metrics)  # shown at once, even from a pause

    def take_notes(self) -> None:
        self.records.controls.extend(self.control.take_notes())

    def report_pause(self) -> None:
        """A pause is reported where it happened (the chart marks it there); the report is not counted."""
        began = time.perf_counter()
        self.records.measure(self.step, self.elapsed(), self.train_metrics)
        self.paused_for += time.perf_counter() - began

    def take_changes(self) -> None:
        """Mid-run changes asked through the control: who trains, then settings; a refused one is marked on the
        chart and training goes on."""
        changes = self.control.take_changes()
        if not changes:
            return
        notes = []
        asked = changes.pop("player", self.player.get("player"))
        if asked != self.player.get("player"):
            try:
                notes.append(choose_player(self.model, asked))
                self.player = {"player": asked}
            except ValueError as exc:
                notes.append(f"change refused: {exc}")
        if changes:
            try:
                notes.append(apply_changes(self.model, self.optimizer, changes))
            except ValueError as exc:  # a bad value from a page: say so on the chart, keep training
                notes.append(f"change refused: {exc}")
        self.records.events.extend(note for note in notes if note)
        self.batch_size = min(self.model.config.batch_size, len(self.fit))

    def follow_schedule(self, elapsed: float) -> None:
        """Set the step size the family's learning-rate schedule asks for at this point of the budget (the
        configured rate times its share); a constant schedule leaves the optimizers alone."""
        schedule = self.model.learning_rate_schedule
        if schedule == "constant":
            return
        progress = self.control.progress
        progress = elapsed / self.seconds if progress is None else progress / self.steps_share
        if self.max_steps is not None:
            progress = max(progress, self.step / self.max_steps)
        lr = self.model.config.learning_rate * schedule_factor(schedule, progress)
        for opt in torch_optimizers(self.optimizer):
            for group in opt.param_groups:
                group["lr"] = lr

    def gradient_step(self) -> bool:
        """One step on a random batch; True when a granted run of single steps just ended (now paused).
        A non-finite loss marks the run diverged."""
        index = torch.randint(len(self.fit), (self.batch_size,), generator=self.generator)
        self.train_metrics = self.model.train_step(self.fit[index].to(self.model.device), self.optimizer,
                                                   **self.player)
        self.step += 1
        granted_run_ended = self.control.count_step()
        if not math.isfinite(self.train_metrics.get("loss", 0.0)):
            self.status = "diverged"
            self.message = (f"The loss became {self.train_metrics['loss']} at step {self.step}; kept the best "
                            f"weights so far. Try a smaller learning rate (now {self.model.config.learning_rate:g}).")
        return granted_run_ended

    def report_due(self, elapsed: float) -> bool:
        """In slow motion, every few steps; else by the clock."""
        every = self.control.steps_per_report
        return self.step - self.records.reported_step >= every if every else elapsed >= self.next_report

    def report(self, elapsed: float) -> None:
        """Measure on the held-out split; then slow motion's wait, or the time of the next report."""
        began = time.perf_counter()
        self.records.measure(self.step, elapsed, self.train_metrics)
        cost = time.perf_counter() - began
        if self.control.steps_per_report:  # slow motion: these reports and the waits after them are for the eye
            self.paused_for += cost + self.control.slow_motion_wait()
        else:  # held-out checks take at most ~1/(1 + REPORT_COST_RATIO) of the budget, however slow they are
            self.next_report = elapsed + cost + max(self.report_every, REPORT_COST_RATIO * cost)


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
    on_optimizer: Callable[[object], None] | None = None,
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
        on_optimizer: called with every optimizer the trainer makes (at the start, and after a
            reset) before its first step: the hook to join in each optimizer step (see `make_optimizer`).

    Returns:
        A TrainResult; `status` is "finished", "stopped" (by control), "diverged"
        (a non-finite loss; the best weights so far are kept) or "fitted" (closed form).
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"seconds must be a positive number; got {seconds}.")
    start = time.perf_counter()
    setup = prepare(model, ds, seed, valid_fraction)
    records = _Records(model, ds, setup.valid, on_metrics, REPORT_SHARE * seconds)
    if not model.trainable:
        record = records.report(0, time.perf_counter() - start, setup.init_metrics)
        return TrainResult("fitted", 0, time.perf_counter() - start, 0, record["valid_loss"], "", records.metrics)
    control = control or TrainControl()
    share = model.finishing_share  # of the budget, kept from the steps for finish_training
    loop = _Loop(model, setup, records, control, seconds * (1 - share), max_steps, report_every, on_optimizer,
                 steps_share=1 - share)
    loop.run()
    elapsed = loop.elapsed()
    if loop.status != "diverged":
        records.finish(loop.step, elapsed, loop.train_metrics)
    records.restore_best()
    finished, status = {}, loop.status
    if share and loop.status != "diverged":
        began, start, paused = time.perf_counter(), control.progress, 0.0

        def spent() -> bool:
            """Whether its share of the budget is spent, on the control's own clock if it has one (the bench's CPU);
            at once after a Stop (the last pass can be half of the budget); a pause waits here, uncounted."""
            nonlocal paused
            paused += control.wait_while_paused()
            if control.stopped:
                return True
            if start is not None:
                return control.progress - start >= share
            return time.perf_counter() - began - paused >= share * seconds

        finished = model.finish_training(setup.fit, spent, setup.generator)
        elapsed += time.perf_counter() - began - paused
        if control.stopped and status == "finished":  # stopped during the last pass: a stop, not a finish
            status = "stopped"
    model.eval()
    return TrainResult(status, loop.step, elapsed, records.best_step, records.best_loss, loop.message,
                       records.metrics, finished)
