"""Command line: train, eval, list and bench over the genlab core.

With --json, stdout carries exactly one JSON object; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _print_json(obj) -> None:
    from genlab.runs import json_safe

    sys.stdout.write(json.dumps(json_safe(obj), indent=2) + "\n")


class Progress:
    """A one-line progress bar with ETA on stderr, redrawn in place on a terminal."""

    def __init__(self, total_seconds: float, stream=sys.stderr, width: int = 30):
        self.total, self.stream, self.width = total_seconds, stream, width
        self.tty = stream.isatty()
        self.last_print = 0.0

    def __call__(self, record: dict) -> None:
        elapsed = record["seconds"]
        fraction = min(1.0, elapsed / self.total)
        now = time.perf_counter()
        if not self.tty and now - self.last_print < 5 and fraction < 1:
            return
        self.last_print = now
        filled = int(fraction * self.width)
        yardstick = next((f"{k}={record[k]:.4f}" for k in ("valid_kl_nats", "valid_bits_per_dim", "valid_nll_nats")
                          if record.get(k) is not None), f"valid_loss={record['valid_loss']:.4f}")
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {elapsed:5.1f}/{self.total:.0f}s "
                f"ETA {max(0.0, self.total - elapsed):4.1f}s step {record['step']} {yardstick}")
        self.stream.write(("\r" if self.tty else "") + line + ("" if self.tty else "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _parse_hparams(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--hparam takes NAME=VALUE; got {pair!r}.")
        key, value = pair.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _ray_address(args) -> str | None:
    """The cluster of --ray-address, else of $GENLAB_RAY_ADDRESS; None: a Ray started for this command."""
    import os

    from genlab.jobs import RAY_ADDRESS

    return args.ray_address or os.environ.get(RAY_ADDRESS) or None


def _train_on_ray(args, model, ds) -> dict:
    """Train one run as an actor on a Ray cluster, its progress pulled here, the run saved into --out."""
    import tempfile

    from genlab.jobs import JobState

    out = Path(args.out) if args.out else None
    with tempfile.TemporaryDirectory(prefix="genlab-") as scratch:  # without --out the run is not kept
        from genlab.jobs.ray_backend import RayBackend

        backend = RayBackend(out.parent if out else scratch, address=_ray_address(args), max_queued=None,
                             max_runs_per_session=None, max_session_disk_mb=None, use_gpu=args.device != "cpu")
        if args.device == "cuda" and backend.capacity().gpus == 0:
            raise ValueError("--device cuda was asked for, but the Ray cluster has no GPU; use --device cpu or auto.")
        progress = Progress(args.seconds)
        job = backend.start(model, ds, seconds=args.seconds, seed=args.seed, name=out.name if out else None)
        shown = 0
        while not job.join(0.5):
            metrics = job.view().metrics
            for record in metrics[shown:]:
                progress(record)
            shown = len(metrics)
        progress.close()
        view = job.view()
        backend.shutdown()
    if view.state is JobState.FAILED:
        raise ValueError(f"The run failed on the Ray cluster: {view.error}")
    return {**view.summary, "run": str(out) if out else None, "seconds": view.summary["train_seconds"],
            "backend": "ray"}


def cmd_train(args) -> dict | None:
    """Train and save a run; under torchrun, data-parallel over its processes (None on ranks but 0);
    with --backend ray, as an actor on a Ray cluster."""
    import genlab
    from genlab import distributed
    from genlab.runtime import process_group, resolve_device, set_threads

    threads = set_threads(args.threads)
    if args.backend == "ray":
        if distributed.launched():
            raise ValueError("--backend ray trains one process per run; launch it with python, not torchrun.")
        if args.max_steps is not None:
            raise ValueError("--max-steps is not available with --backend ray; give a budget with --seconds.")
        ds = genlab.load_dataset(args.data, view=args.view, root=args.root, points=args.points)
        return _train_on_ray(args, genlab.create_model(args.model, ds, **_parse_hparams(args.hparam)), ds)
    group = distributed.init(args.device) if distributed.launched() else None
    try:
        device = group.device if group else resolve_device(args.device)
        ds = genlab.load_dataset(args.data, view=args.view, root=args.root, points=args.points)
        model = genlab.create_model(args.model, ds, **_parse_hparams(args.hparam)).to(device)
        out = Path(args.out) if args.out else None
        progress = Progress(args.seconds) if group is None or group.rank == 0 else None
        options = {"seconds": args.seconds, "seed": args.seed, "on_metrics": progress, "max_steps": args.max_steps}
        if group is None:
            summary = genlab.train_and_save(model, ds, out, full_evaluation=args.full_eval, **options)
        else:
            summary = distributed.train_and_save(model, ds, out, group, **options)
            if summary is None:  # another rank: rank 0 reports
                return None
        progress.close()
        summary.update({"run": str(out) if out else None, "seconds": summary["train_seconds"],
                        "torch_threads": threads, "device": str(model.device), **process_group()})
        return summary
    finally:
        if group is not None:
            distributed.finish()


def cmd_eval(args) -> dict:
    import genlab
    from genlab.runtime import set_threads

    set_threads(args.threads)
    model, ds, info = genlab.load_run(args.run)
    if ds is None:
        raise ValueError(f"{args.run} was trained on data it cannot rebuild (in-memory tensors, or a drawn density "
                         "saved before runs recorded their blobs); evaluate it from Python with its data.")
    result = genlab.evaluate(model, ds)
    return {"run": args.run, "family": model.name, "dataset": ds.name, "view": ds.view, **result}


def cmd_list(args) -> dict:
    from genlab.data import dataset_names, sources
    from genlab.models import families

    out = {"families": {}, "datasets": dataset_names(), "sources": {
        s.name: {"title": s.title_of(s.name), "kind": s.kind, "views": list(s.views), "offline": s.offline}
        for s in sources()
    }}
    for name, cls in families().items():
        out["families"][name] = {
            "title": cls.title,
            "views": list(cls.views),
            "objective": cls.objective,
            "summary": cls.summary,
        }
    return out


def _print_list(result: dict) -> None:
    print("Families:")
    for name, info in result["families"].items():
        print(f"  {name:10s} {info['title']}  [{', '.join(info['views'])}]")
    print("Datasets:")
    for name, info in result["sources"].items():
        where = "" if info["offline"] else ", needs a local folder"
        print(f"  {name:16s} {info['title']}  [{', '.join(info['views'])}{where}]")


def cmd_bench(args) -> dict:
    from genlab.bench import run_bench, run_preset_bench, write_benchmarks, write_measured

    path = args.write if isinstance(args.write, str) else None  # --write alone: the default file
    if args.presets and args.backend == "ray":
        raise ValueError("--backend ray fans out the family × data set grid; run --presets without it.")
    if args.presets:
        result = run_preset_bench(seconds=args.seconds or 15.0, seed=args.seed, families=args.models,
                                  kinds=args.kinds, threads=args.threads, repeats=args.repeats, seeds=args.seeds)
        if args.write:
            result["written"] = str(write_measured(result, path))
        return result
    if args.kinds or args.repeats != 1 or args.seeds:
        raise ValueError("--kinds, --repeats and --seeds belong to the preset benchmark; add --presets.")
    result = run_bench(seconds=args.seconds or 5.0, seed=args.seed, families=args.models, datasets=args.datasets,
                       threads=args.threads, backend=args.backend, ray_address=_ray_address(args))
    if args.write:
        result["written"] = str(write_benchmarks(result, path))
    return result


def dataset_and_view(text: str) -> tuple[str, str | None]:
    """ "mnist5k:binary" -> ("mnist5k", "binary"); "toy:moons" -> ("toy:moons", None): a view only if named one."""
    name, _, view = text.rpartition(":")
    return (name, view) if view in ("binary", "gray8", "continuous") else (text, None)


def cmd_zoo(args) -> dict:
    from genlab import zoo
    from genlab.runtime import set_threads

    set_threads(args.threads)
    if args.action == "build":
        datasets = [dataset_and_view(text) for text in args.datasets]
        return zoo.build(seconds=args.seconds, seed=args.seed, families=args.models, datasets=datasets or None)
    return {"installed": [str(p) for p in zoo.install(args.runs)]}


def cmd_export(args) -> dict:
    from genlab.export import export_run, script_name

    data = export_run(args.run)
    out = Path(args.out or f"{Path(args.run).name}-pytorch.zip")
    out.write_bytes(data)
    name = script_name(Path(args.run).name)
    return {"run": args.run, "out": str(out), "bytes": len(data), "script": f"{name}/{name}.py"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genlab", description="GenLab: train and query generative models.")
    sub = parser.add_subparsers(dest="command", required=True)

    def backend(p):
        p.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: train in this process; ray: as actors on a Ray cluster")
        p.add_argument("--ray-address", default=None, metavar="ADDRESS",
                       help="with --backend ray: the cluster (auto, HOST:6379, ray://HOST:10001; default "
                       "$GENLAB_RAY_ADDRESS, else a Ray started for this command)")

    def common(p):
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout, progress on stderr")
        p.add_argument("--threads", type=int, default=None,
                       help="torch intra-op threads (default 1, or $GENLAB_THREADS)")

    p = sub.add_parser("train", help="train a family on a dataset and save the run")
    p.add_argument("--model", required=True, help="family name (see `list`)")
    p.add_argument("--data", required=True, help="dataset name (see `list`)")
    p.add_argument("--view", default=None, help="binary | gray8 for image sets")
    p.add_argument("--root", default=None, help="local folder for mnist / fashion-mnist")
    p.add_argument("--points", type=int, default=None,
                   help="a 2-D toy's training points (100 to 1,000,000; default 20,000; same test split)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--full-eval", action="store_true",
                   help="score every test item after training, however long it takes (default: the evaluation "
                        "takes about a fifth of --seconds, on a seeded subset it reports as n_test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="run folder to write")
    p.add_argument("--hparam", action="append", default=[], metavar="NAME=VALUE", help="hyper-parameter (repeatable)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda (auto uses a GPU when torch sees one)")
    p.add_argument("--max-steps", type=int, default=None, help="also stop after this many gradient steps")
    backend(p)
    common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a saved run on its test split")
    p.add_argument("--run", required=True)
    common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("list", help="families and datasets")
    common(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("bench", help="every family x dataset at a fixed CPU budget")
    p.add_argument("--seconds", type=float, default=None, help="training budget per pair (default 5 s: the "
                   "whole default grid then fits in 20 minutes on 2 cores; 15 s per setting with --presets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--datasets", nargs="*", default=None)
    p.add_argument("--presets", action="store_true", help="benchmark each family's defaults, presets and nearby "
                   "alternatives side by side instead, one data set per kind of data")
    p.add_argument("--kinds", nargs="*", default=None, help="with --presets: toy, image-binary, image-gray8")
    p.add_argument("--write", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write the result as the generated section of docs/BENCHMARKS.md (or PATH); with "
                   "--presets, merge it into genlab/presets_measured.json (or PATH)")
    p.add_argument("--repeats", type=int, default=1, help="with --presets: seeds per setting, from --seed on; "
                   "the yardstick is their mean")
    backend(p)
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="with --presets: these seeds instead of "
                   "--seed and --repeats (e.g. 0 1 2 3 4, the seeds a class uses)")
    common(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("zoo", help="build the pretrained zoo, or install it into a runs folder")
    p.add_argument("action", choices=("build", "install"))
    p.add_argument("--seconds", type=float, default=20.0, help="training budget per checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="*", default=None)
    p.add_argument("--datasets", nargs="*", default=[],
                   help="data sets to build, as name:view (mnist5k:binary, toy:moons); the zoo's own by default")
    p.add_argument("--runs", default="runs", help="runs folder to install into")
    common(p)
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("export", help="write a run as a PyTorch script, its weights and data (a zip)")
    p.add_argument("run", help="run folder")
    p.add_argument("--out", default=None, help="zip to write (default: RUN-pytorch.zip here)")
    common(p)
    p.set_defaults(func=cmd_export)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        from genlab.distributed import is_follower

        if is_follower():  # under torchrun every rank meets the same error: rank 0 says it
            return 2
        if args.json:
            _print_json({"error": str(exc)})
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    if result is None:  # a torchrun rank other than 0: rank 0 prints the result
        return 0
    if args.json:
        _print_json(result)
    elif args.command == "list":
        _print_list(result)
    elif args.command == "bench":
        from genlab.bench import format_preset_table, format_table

        print(format_preset_table(result) if args.presets else format_table(result))
    elif args.command == "zoo":
        entries = result.get("entries", result.get("installed", []))
        print(f"{len(entries)} zoo checkpoint(s) {'built' if args.action == 'build' else 'installed'}.")
    else:
        for key, value in result.items():
            if key != "train":
                print(f"{key:18s} {value}")
    return 0
