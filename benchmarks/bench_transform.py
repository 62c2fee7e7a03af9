"""LQ generation (make-lq + realistic_lq.toml, x4) on real photographs: our parallel action vs a
plain serial loop over the same pipeline code, side by side in one run.

    .venv/bin/python benchmarks/bench_transform.py [--images 60] [--source /tmp/real-images]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from dataset_forge.actions.registry import get_action
from dataset_forge.transforms.engine import PipelineRun, apply_pipeline, make_jobs
from dataset_forge.io import iter_images
from dataset_forge.parallel import ParallelConfig
from dataset_forge.transforms.pipeline import load_pipeline
from dataset_forge.runner import run_action

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "assets" / "pipelines" / "realistic_lq.toml"


def sample(source: Path, count: int, into: Path) -> Path:
    paths = sorted(iter_images(source))
    step = max(1, len(paths) // count)
    for i, path in enumerate(paths[::step][:count]):
        os.symlink(path, into / f"{i:04d}{path.suffix.lower()}")
    return into


def serial_loop(folder: Path, out: Path) -> float:
    """The baseline: the same per-image work in a for loop, no parallel core, no journal."""
    pipeline = load_pipeline(PIPELINE)
    cfg = PipelineRun(pipeline, 1, out, mode="make_lq", scale=4)
    items = [(p, None, p.stem) for p in sorted(iter_images(folder))]
    t0 = time.perf_counter()
    for job in make_jobs(items, 1, "png"):
        apply_pipeline(cfg, job)
    return time.perf_counter() - t0


def action(folder: Path, out: Path, ptype: str, workers: int) -> float:
    config = ParallelConfig(processing_type=ptype, max_workers=workers)
    t0 = time.perf_counter()
    report = run_action(get_action("make-lq"), {"input": folder, "output": out, "scale": 4,
                        "pipeline": str(PIPELINE), "seed": 1}, config=config)
    assert not report.failures, report.failures[:3]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=60)
    ap.add_argument("--source", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "in").mkdir()
        folder = sample(args.source, args.images, Path(tmp) / "in")
        arms = {"serial loop": lambda o: serial_loop(folder, o),
                "make-lq serial": lambda o: action(folder, o, "serial", 1),
                f"make-lq thread x{cores}": lambda o: action(folder, o, "thread", cores),
                f"make-lq process x{cores}": lambda o: action(folder, o, "process", cores)}
        times: dict[str, list[float]] = {name: [] for name in arms}
        for r in range(args.repeat):
            for name, fn in arms.items():
                out = Path(tmp) / f"out-{r}-{name.replace(' ', '_')}"
                times[name].append(fn(out))
                if name != "serial loop":
                    same = all((out / "lq" / p.name).read_bytes() == p.read_bytes()
                               for p in (Path(tmp) / f"out-{r}-serial_loop" / "lq").iterdir())
                    assert same, f"{name}: outputs differ from the serial loop"
                    shutil.rmtree(out)
            shutil.rmtree(Path(tmp) / f"out-{r}-serial_loop")
    base = statistics.median(times["serial loop"])
    print(f"make-lq x4 + realistic_lq.toml on {args.images} photos from {args.source}, "
          f"{cores} cores, median of {args.repeat}")
    print(f"{'arm':<24}{'seconds':>10}{'images/s':>10}{'vs loop':>9}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<24}{med:>10.2f}{args.images / med:>10.2f}{base / med:>8.2f}x")


if __name__ == "__main__":
    main()
