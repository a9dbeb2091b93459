"""Training across processes: two CPU ranks under torchrun (gloo) share every gradient step.

One torchrun launch (2 processes) runs WORKER below, which checks three things in turn and
writes what it saw to files: one averaged step equals one step on the mean of the two
batch losses; a short distributed GAN run leaves both ranks with the same weights; the CLI's
`train` under torchrun prints one JSON object and saves a run.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).with_name("torchrun")

WORKER = r'''
import copy, hashlib, json, sys
from pathlib import Path

import torch

import genlab
from genlab import distributed
from genlab.cli import main
from genlab.data.base import from_tensors
from genlab.models.base import GRAD_CLIP_NORM

out = Path(sys.argv[1])
torch.set_num_threads(1)
group = distributed.init("cpu")
rank = group.rank


def digest(model):
    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# 1. One averaged step == one step on the mean of both ranks' batch losses.
g = torch.Generator().manual_seed(0)
data = (torch.rand(64, 1, 4, 4, generator=g) < 0.3).float()
ds = from_tensors(data[:48], data[48:], view="binary")
torch.manual_seed(0)
model = genlab.create_model("fvsbn", ds, learning_rate=0.05)
reference = copy.deepcopy(model)
initial = copy.deepcopy(model)
batches = [data[:16], data[16:32]]
optimizer = model.make_optimizer()
averager = distributed.average_gradients(optimizer, group)
model.train_step(batches[rank], optimizer)
averager.remove()
if rank == 0:
    opt = reference.make_optimizer()
    opt.zero_grad()
    loss = (reference.loss(batches[0])["loss"] + reference.loss(batches[1])["loss"]) / 2
    loss.backward()
    torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm=GRAD_CLIP_NORM)
    opt.step()
    alone = copy.deepcopy(initial)  # what rank 0 would have done on its own batch: a different step
    alone.train_step(batches[0], alone.make_optimizer())

    def gap(a, b):
        return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))

    (out / "average.json").write_text(json.dumps({"gap": gap(model, reference), "alone": gap(alone, reference),
                                                  "moved": gap(model, initial)}))

# 2. A short GAN run (two optimizers, a critic and a generator step each): both ranks end their
#    loop with the same weights, after the same number of steps.
ds = genlab.load_dataset("toy:8gaussians")
torch.manual_seed(0)
model = genlab.create_model("gan", ds)
steps = {"taken": 0}
step = model.train_step


def counted_step(*args, **kwargs):
    metrics = step(*args, **kwargs)  # the follower's last call raises StopTraining: not counted
    steps["taken"] += 1
    return metrics


model.train_step = counted_step
reports = {}
summary = distributed.train_and_save(model, ds, None, group, seconds=120, seed=0, max_steps=12,
                                     on_metrics=lambda record: reports.update({record["step"]: digest(model)}))
if rank == 0:
    (out / "rank0.json").write_text(json.dumps({"steps": summary["train"]["steps"], "taken": steps["taken"],
                                                "reports": reports}))
else:
    (out / f"rank{rank}.json").write_text(json.dumps({"taken": steps["taken"], "digest": digest(model)}))

# 3. The command line under torchrun: one JSON object on stdout (rank 0), a run folder.
sys.exit(main(["train", "--model", "made", "--data", "digits", "--hparam", "hidden_units=32", "--hparam",
               "num_masks=1", "--seconds", "120", "--max-steps", "8", "--out", str(out / "run"), "--json"]))
'''


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Run WORKER on two CPU processes under torchrun; returns (its folder, torchrun's result)."""
    if not TORCHRUN.exists():
        pytest.skip("torchrun is not installed beside this Python.")
    folder = tmp_path_factory.mktemp("ddp")
    script = folder / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", GENLAB_THREADS="1")
    proc = subprocess.run([str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(script), str(folder)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"torchrun exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return folder, proc


def test_averaged_step_equals_a_step_on_the_mean_loss(two_ranks):
    folder, _ = two_ranks
    average = json.loads((folder / "average.json").read_text())
    assert average["gap"] < 1e-6  # parameters after the averaged step vs. the mean-loss step
    assert average["moved"] > 1e-3 and average["alone"] > 1e-3  # the step moved, and one batch alone differs


def test_ranks_take_the_same_steps_and_end_with_the_same_weights(two_ranks):
    folder, _ = two_ranks
    rank0 = json.loads((folder / "rank0.json").read_text())
    rank1 = json.loads((folder / "rank1.json").read_text())
    assert rank0["steps"] == rank0["taken"] == rank1["taken"] == 12
    # rank 0's last report scores the weights after the last step, before any best-weights restore
    assert rank1["digest"] == rank0["reports"][str(rank0["steps"])]


def test_cli_under_torchrun_prints_once_and_saves_a_loadable_run(two_ranks):
    import genlab

    folder, proc = two_ranks
    result = json.loads(proc.stdout)  # one JSON object: rank 0's; the other rank prints nothing
    assert result["world_size"] == 2 and result["backend"] == "gloo" and result["train"]["steps"] == 8
    model, ds, info = genlab.load_run(folder / "run")
    assert info["config"]["world_size"] == 2 and info["config"]["backend"] == "gloo"
    assert model.name == "made" and ds.name == "digits"
    assert info["summary"]["test_nll_nats"] == pytest.approx(result["test_nll_nats"])
