"""Training across processes with PyTorch's own launcher: `torchrun ... -m genlab train ...`.

torchrun starts one process per worker and tells each its place through the
environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). `train`
notices that, joins the process group (gloo on CPU, NCCL on GPUs, one GPU per
process by LOCAL_RANK) and trains data-parallel:

- every rank starts from rank 0's weights (broadcast after `initialize`), then
  draws its own batches and noise (seed + rank);
- after each backward pass, before each optimizer step, the gradients of that
  optimizer's parameters are averaged over the ranks (one all-reduce of a flat
  buffer), so every rank takes the same step and the weights stay identical —
  the same update as one process on the mean of the ranks' batch losses;
- rank 0 runs the ordinary trainer (`genlab.train_and_save`): its wall-clock
  budget, held-out reports, best-weights rule and run folder. The other ranks
  only follow: each gradient all-reduce carries a flag saying rank 0 is taking
  that step too, and when rank 0's loop ends it sends one all-reduce of zeros
  that tells them to stop. So the ranks take exactly the same steps, and none
  waits forever on a collective the others never reach.

Why averaged gradients at the optimizer step and not DistributedDataParallel:
DDP synchronises inside `module(...)`'s forward/backward, but GenLab families
are not driven through `forward` — a GAN steps its critic and its generator with
two optimizers, an EBM runs Langevin chains, a VAE calls `loss`. Every trainable
family does end each update with `optimizer.step()` on the torch optimizers that
`make_optimizer` returns, so an optimizer step pre-hook is one place that works
for all of them with no change to any family. The one difference from DDP: a
family clips each rank's gradient (at norm 100, a safety net) before the
average rather than after.

Closed-form families (a Gaussian, a KDE...) have nothing to share: rank 0 fits
and saves, the other ranks leave at once.

Example:
    torchrun --standalone --nproc-per-node 2 -m genlab train --model made --data digits --seconds 10
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from genlab.data.base import Dataset
from genlab.models.base import GenerativeModel
from genlab.runtime import resolve_device
from genlab.train import VALID_FRACTION, make_optimizer, prepare, torch_optimizers

__all__ = ["Group", "launched", "is_follower", "init", "finish", "GradientAverager", "average_gradients",
           "broadcast_state", "StopTraining", "train_and_save"]

# The longest the other ranks wait, idle, for rank 0: through a held-out report, and at the end
# through its test-set evaluation and saving (they are released only after it has saved).
TIMEOUT = timedelta(hours=2)


@dataclass
class Group:
    """This process's place in a torchrun launch."""

    rank: int
    world_size: int
    local_rank: int
    backend: str  # "gloo" | "nccl"
    device: torch.device


def launched() -> bool:
    """Whether torchrun (or any env:// launcher) started this process."""
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def is_follower() -> bool:
    """True on every rank but 0 of a launch: these ranks print nothing."""
    return launched() and int(os.environ["RANK"]) != 0


def init(device: str = "auto") -> Group:
    """Join the process group torchrun set up: NCCL with one GPU per process, else gloo.

    Arguments:
        device: "auto" | "cpu" | "cuda", as for the CLI's --device.
    """
    if not launched():
        raise ValueError("Not started by torchrun: RANK, WORLD_SIZE and LOCAL_RANK are not set. "
                         "Run: torchrun --standalone --nproc-per-node 2 -m genlab train ...")
    rank, world_size, local_rank = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"Process {local_rank} on this machine has no GPU of its own "
                             f"({torch.cuda.device_count()} visible); start at most that many processes per node.")
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=TIMEOUT)
    return Group(rank, world_size, local_rank, backend, chosen)


def finish() -> None:
    """Leave the process group once every rank is done with it (once training is over on this rank).

    The barrier keeps a rank from tearing down its connections while another still waits on a
    collective, which gloo answers by aborting the waiting process.
    """
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class StopTraining(Exception):
    """Raised on a rank other than 0 when rank 0 has ended its training loop."""


class GradientAverager:
    """Before each step of a family's torch optimizers, replace every gradient by its mean over the ranks.

    One all-reduce per optimizer step, of a flat float32 buffer
    `[rank 0 steps? | has-gradient flags | gradients | zero padding]`, padded to one length
    for every optimizer of the family. Rank 0 writes 1 in the first slot; when its loop
    is over, `stop_followers` sends a buffer of zeros, which matches whichever optimizer
    step the other ranks are waiting in, and they raise StopTraining instead of stepping.

    A parameter with no gradient on some rank counts as zero there (as in DDP); one with
    no gradient on any rank keeps None, so the optimizer skips it as it would alone.
    """

    def __init__(self, optimizer, group: Group):
        self.group = group
        self.optimizers = torch_optimizers(optimizer)
        if not self.optimizers:
            raise ValueError(f"make_optimizer returned {type(optimizer).__name__}, which holds no torch optimizer "
                             "to synchronise.")
        self.size = 1 + max(sum(1 + p.numel() for p in self.params(opt)) for opt in self.optimizers)
        self.handles = [opt.register_step_pre_hook(self._before_step) for opt in self.optimizers]

    @staticmethod
    def params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
        return [p for group in opt.param_groups for p in group["params"]]

    def _before_step(self, opt, args, kwargs) -> None:
        params = self.params(opt)
        device = self.group.device
        header = torch.tensor([1.0 if self.group.rank == 0 else 0.0] + [p.grad is not None for p in params],
                              device=device)
        grads = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float() for p in params]
        used = len(header) + sum(len(g) for g in grads)
        flat = torch.cat([header, *grads, torch.zeros(self.size - used, device=device)])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        if flat[0].item() == 0:  # rank 0 sent stop_followers' zeros, not a step
            raise StopTraining
        has_grad = flat[1:len(header)].tolist()
        offset = len(header)
        for p, count in zip(params, has_grad):
            n = p.numel()
            if count > 0:
                mean = flat[offset:offset + n].view_as(p).to(p.dtype) / self.group.world_size
                if p.grad is None:
                    p.grad = mean
                else:
                    p.grad.copy_(mean)
            offset += n

    def stop_followers(self) -> None:
        """On rank 0, after its last step: the other ranks' pending step raises StopTraining."""
        dist.all_reduce(torch.zeros(self.size, device=self.group.device), op=dist.ReduceOp.SUM)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def average_gradients(optimizer, group: Group) -> GradientAverager:
    """Average gradients over the ranks of `group` before every step of `optimizer`'s torch optimizers."""
    return GradientAverager(optimizer, group)


def broadcast_state(model: GenerativeModel, src: int = 0) -> None:
    """Copy rank `src`'s parameters and buffers into every rank's model."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_contiguous():
                dist.broadcast(tensor.data, src)
            else:
                copy = tensor.data.contiguous()
                dist.broadcast(copy, src)
                tensor.data.copy_(copy)


class _Synchroniser:
    """The trainer's `on_optimizer` hook on every rank: each optimizer it makes starts from rank 0's
    weights and averages its gradients over the ranks at every step."""

    def __init__(self, model: GenerativeModel, group: Group):
        self.model, self.group = model, group
        self.averagers: list[GradientAverager] = []  # one per optimizer made (a reset makes another)

    def __call__(self, optimizer) -> None:
        broadcast_state(self.model)
        self.averagers.append(average_gradients(optimizer, self.group))

    def remove(self) -> None:
        for averager in self.averagers:
            averager.remove()


def _follow(model: GenerativeModel, ds: Dataset, group: Group, seed: int, synchronise: _Synchroniser) -> int:
    """A rank other than 0: the trainer's set-up, then gradient steps on its own batches until
    rank 0 says stop. Returns the number of steps taken."""
    setup = prepare(model, ds, seed)  # the same as rank 0's, which genlab.train prepares the same way
    optimizer = make_optimizer(model, synchronise)  # receives rank 0's weights
    torch.manual_seed(seed + group.rank)  # from here on: this rank's own noise and batches
    generator = torch.Generator().manual_seed(seed + group.rank)
    batch_size = min(model.config.batch_size, len(setup.fit))
    steps = 0
    try:
        while True:
            index = torch.randint(len(setup.fit), (batch_size,), generator=generator)
            model.train_step(setup.fit[index].to(model.device), optimizer)
            steps += 1
    except StopTraining:
        pass
    model.eval()
    return steps


def train_and_save(model: GenerativeModel, ds: Dataset, folder, group: Group, seconds: float = 30.0, seed: int = 0,
                   on_metrics=None, **train_kwargs) -> dict | None:
    """`genlab.train_and_save` across the ranks of `group`: the summary on rank 0, None elsewhere.

    Rank 0 trains, reports and saves (the run's config records world_size and backend);
    the other ranks add their gradients to each of its steps. `on_metrics` is called on
    rank 0 only. Closed-form families are fitted by rank 0 alone.
    """
    from genlab.runs import train_and_save as train_and_save_locally

    if train_kwargs.get("valid_fraction", VALID_FRACTION) != VALID_FRACTION:
        raise ValueError(f"Distributed training holds out the default validation fraction ({VALID_FRACTION}).")
    if not model.trainable:
        if group.rank != 0:
            return None
        print(f"{model.title} is fitted in closed form: rank 0 fits it alone; "
              f"the other {group.world_size - 1} process(es) had nothing to do.", file=sys.stderr)
        return train_and_save_locally(model, ds, folder, seconds=seconds, seed=seed, on_metrics=on_metrics,
                                      **train_kwargs)
    synchronise = _Synchroniser(model, group)
    try:
        if group.rank != 0:
            _follow(model, ds, group, seed, synchronise)
            return None
        summary = train_and_save_locally(model, ds, folder, seconds=seconds, seed=seed, on_metrics=on_metrics,
                                         on_optimizer=synchronise, **train_kwargs)
        # The loop is over: release the other ranks. (If rank 0 raised instead, torchrun ends them.)
        synchronise.averagers[-1].stop_followers()
        return summary
    finally:
        synchronise.remove()
