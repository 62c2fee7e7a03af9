"""Parallel core benchmark: serial vs thread vs process, side by side in one run.

    python benchmarks/bench_parallel.py [IMAGES_DIR] [--limit N] [--repeat R]
    python benchmarks/bench_parallel.py --compare-with OLD_TREE [--rounds R]

Workloads on real photographs (default /tmp/real-images, built by shared/data/real-images.sh):
  cpu: decode, resize to 512 px, encode JPEG to memory (CPU-bound)
  io:  read the file's bytes and parse its header (I/O-bound)
and the core's own overhead per item with a trivial function. Prints medians and ratios.

`--compare-with` measures only the core's overhead per item, for two copies of the engine side
by side: OLD_TREE (a folder holding another `dataset_forge/`, e.g. `git archive REV
dataset_forge | tar -x -C OLD_TREE`) and this checkout, alternating in interleaved rounds, each
round a fresh process per tree; prints medians and new/old ratios.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if "--tree" in sys.argv:  # import the engine from another checkout (see --compare-with)
    sys.path.insert(0, sys.argv[sys.argv.index("--tree") + 1])
else:
    sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from dataset_forge.io import iter_images  # noqa: E402
from dataset_forge.parallel import ParallelConfig, ParallelProcessor, WorkKind  # noqa: E402


def cpu_task(path: Path) -> int:
    with Image.open(path) as im:
        im.draft("RGB", (1024, 1024))
        im = im.convert("RGB")
        im.thumbnail((512, 512), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        return buf.tell()


def io_task(path: Path) -> str:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        return f"{im.format}:{im.size}:{hashlib.md5(data).hexdigest()[:8]}"


def trivial(x: int) -> int:
    return x


def timed(fn, items, kind: str, workers: int, work: WorkKind, chunk: int = 0) -> float:
    config = ParallelConfig(processing_type=kind, max_workers=workers, chunk_size=chunk)
    with ParallelProcessor(config, work) as proc:
        if kind == "process":  # start the pool outside the timing, as a long run amortises it
            list(proc.map(trivial, range(workers * 4)))
        start = time.perf_counter()
        failures = sum(1 for o in proc.map(fn, items) if not o.ok)
        elapsed = time.perf_counter() - start
    assert failures == 0 or fn is not trivial
    return elapsed


def median_time(repeat: int, *args, **kwargs) -> float:
    return statistics.median(timed(*args, **kwargs) for _ in range(repeat))


#: (name, mode, items, chunk size): the per-item overhead cases; chunk 1 shows per-task cost
OVERHEAD_CASES = [("serial", "serial", 200_000, 0), ("thread", "thread", 200_000, 0),
                  ("process", "process", 200_000, 0), ("thread, chunk 1", "thread", 20_000, 1),
                  ("process, chunk 1", "process", 5_000, 1)]


def overhead() -> dict[str, float]:
    """Microseconds per item of a trivial function, each case once (2 workers)."""
    return {name: timed(trivial, range(n), mode, 2, WorkKind.CPU, chunk) / n * 1e6
            for name, mode, n, chunk in OVERHEAD_CASES}


def compare(old_tree: str, rounds: int) -> None:
    """Interleaved rounds of `overhead()` in fresh processes, old tree vs this checkout."""
    import json
    import subprocess
    trees = {"old": old_tree, "new": str(REPO)}
    runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for r in range(rounds):
        for label in (("old", "new") if r % 2 == 0 else ("new", "old")):
            out = subprocess.run([sys.executable, __file__, "--overhead-json", "--tree",
                                  trees[label]], capture_output=True, text=True, check=True)
            runs[label].append(json.loads(out.stdout.splitlines()[-1]))
    print(f"overhead per item (us), trivial function, 2 workers, median of {rounds} "
          f"interleaved rounds\nold: {old_tree}\nnew: {REPO}")
    print(f"{'case':<18} {'old':>8} {'new':>8} {'new/old':>8}")
    for name, *_ in OVERHEAD_CASES:
        old = statistics.median(run[name] for run in runs["old"])
        new = statistics.median(run[name] for run in runs["new"])
        print(f"{name:<18} {old:>8.2f} {new:>8.2f} {new / old:>7.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("images", nargs="?", default="/tmp/real-images")
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare-with", metavar="OLD_TREE")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--overhead-json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.overhead_json:
        import json
        print(json.dumps(overhead()))
        return
    if args.compare_with:
        compare(args.compare_with, args.rounds)
        return
    paths = list(iter_images(args.images))[: args.limit]
    if not paths:
        sys.exit(f"no images under {args.images}: run shared/data/real-images.sh first")
    cores = len(os.sched_getaffinity(0))
    print(f"{len(paths)} images from {args.images}; {cores} cores; median of {args.repeat}")
    print(f"{'workload':<10} {'mode':<8} {'workers':>7} {'seconds':>8} {'items/s':>9} {'vs serial':>9}")
    for name, fn, work in (("cpu", cpu_task, WorkKind.CPU), ("io", io_task, WorkKind.IO)):
        base = median_time(args.repeat, fn, paths, "serial", 1, work)
        print(f"{name:<10} {'serial':<8} {1:>7} {base:>8.2f} {len(paths) / base:>9.1f} {1.0:>8.2f}x")
        for mode in ("thread", "process"):
            t = median_time(args.repeat, fn, paths, mode, cores, work)
            print(f"{name:<10} {mode:<8} {cores:>7} {t:>8.2f} {len(paths) / t:>9.1f} {base / t:>8.2f}x")
    n = 200_000
    print(f"\noverhead per item, trivial function, {n:,} items (auto chunking)")
    base = median_time(args.repeat, trivial, range(n), "serial", 1, WorkKind.CPU)
    print(f"{'serial':<8} {base / n * 1e6:>7.2f} us/item")
    for mode in ("thread", "process"):
        t = median_time(args.repeat, trivial, range(n), mode, cores, WorkKind.CPU)
        print(f"{mode:<8} {t / n * 1e6:>7.2f} us/item")
    t = median_time(args.repeat, trivial, range(20_000), "thread", cores, WorkKind.CPU, chunk=1)
    print(f"{'thread, chunk 1':<8} {t / 20_000 * 1e6:>7.2f} us/item (no batching: the floor "
          "that auto-chunking removes)")


if __name__ == "__main__":
    main()
