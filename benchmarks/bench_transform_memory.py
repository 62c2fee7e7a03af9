"""Peak memory of make-lq on one very large JPEG, for one or more source trees side by side.

Each round runs `dataset-forge --action make-lq --scale 4` (serial, so the one process holds
every buffer) in a fresh subprocess per tree, interleaved, and reads the child's peak RSS from
getrusage. Give an older checkout with --tree to compare before and after.

    .venv/bin/python benchmarks/bench_transform_memory.py --image /tmp/forge-mem/big.jpg \\
        --tree . --tree /tmp/forge-before [--rounds 3] [--extra "--no-write-hq"]

Without --image, a 12580x7080 (89 MP) JPEG is made from the largest photo in /tmp/real-images.
"""
from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def make_big_jpeg(source: Path, into: Path, size=(12580, 7080)) -> Path:
    """An 89 MP JPEG upscaled from the largest JPEG photo under `source`."""
    Image.MAX_IMAGE_PIXELS = None
    best = max(source.glob("*.jpg"), key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    with Image.open(best) as im:
        im.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(into, quality=92)
    return into


def run_once(tree: Path, folder: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one make-lq run in a new process (os.wait4: that child's
    own rusage)."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "dataset_forge", "--action", "make-lq",
                                 "--input", str(folder), "--output", str(out), "--scale", "4",
                                 "--processing-type", "serial", *extra],
                                stdout=subprocess.DEVNULL, stderr=err, env=env,
                                cwd=out.parent)  # not the repo: `-m` puts the cwd first
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{tree}: exit {proc.returncode}: {err.read()[-500:].decode()}")
    return usage.ru_maxrss / 1024, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", type=Path)
    ap.add_argument("--source", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--tree", type=Path, action="append", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--extra", default="", help="more make-lq flags, e.g. '--no-write-hq'")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        image = args.image or make_big_jpeg(args.source, Path(tmp) / "big.jpg")
        os.symlink(image.resolve(), folder / image.name)
        with Image.open(image) as im:
            print(f"image: {image} {im.width}x{im.height} ({im.width * im.height / 1e6:.1f} MP)")
        results: dict[Path, list[tuple[float, float]]] = {t: [] for t in args.tree}
        for r in range(args.rounds):
            for i, tree in enumerate(args.tree):
                out = Path(tmp) / f"out_{r}_{i}"
                results[tree].append(run_once(tree, folder, out, shlex.split(args.extra)))
        for tree, rows in results.items():
            rss = statistics.median(r[0] for r in rows)
            secs = statistics.median(r[1] for r in rows)
            print(f"{str(tree):40} peak RSS {rss:7.0f} MB   wall {secs:6.1f} s   ({len(rows)} runs)")


if __name__ == "__main__":
    main()
