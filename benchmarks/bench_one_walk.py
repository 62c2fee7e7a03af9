"""One walk per run: the CLI before (the runner walked every input in full, then the action
walked it again) and after (the runner's walk stops at the first image and the action goes on
with it), side by side in interleaved rounds; medians of wall time and of CPU seconds
(user+sys of the CLI process and its children).

    git -C . archive e25ac1a dataset_forge | tar -x -C /tmp/forge-before   # the code before
    python benchmarks/bench_one_walk.py --before /tmp/forge-before --rounds 5

The tree (built once, in /tmp/forge-one-walk-tree): 400 folders of 5 tiny PNGs and 245 caption
files, 100,000 files in all; the captions are not image names, so every walk reads their first
bytes (the discovery rule), as a dataset with sidecar files makes it do.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def build_tree(root: Path, folders: int = 400, images: int = 5, captions: int = 245) -> Path:
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 140, 200)).save(buf, "PNG")
    png = buf.getvalue()
    for f in range(folders):
        folder = root / f"shard{f:04d}"
        folder.mkdir(parents=True)
        for i in range(images):
            (folder / f"img{i:02d}.png").write_bytes(png)
        for i in range(captions):
            (folder / f"img{i:03d}.txt").write_text("a caption\n")
    (root / ".complete").write_text("")
    return root


def run_cli(code: Path, tree: Path, home: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the CLI and its children) for one inventory run."""
    env = {**os.environ, "PYTHONPATH": str(code), "DATASET_FORGE_SETTINGS": str(home / "s.toml"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dataset_forge", "--action", "inventory",
                           "--input", str(tree), "--report-dir", str(home / "report")],
                          env=env, capture_output=True, text=True, cwd=home)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{code}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True,
                        help="a folder holding the dataset_forge package before the change")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=Path("/tmp/forge-one-walk-tree"))
    args = parser.parse_args()
    tree = build_tree(args.tree)
    codes = {"before (two walks)": args.before, "after (one walk)": REPO}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "s.toml").write_text(f'[logging]\ndir = "{home / "logs"}"\n')
        for _ in range(args.rounds):
            for name, code in codes.items():
                results[name].append(run_cli(code, tree, home))
    print(f"inventory of {tree} (100,000 files, 2,000 images), {args.rounds} interleaved rounds,"
          f" medians; load average {os.getloadavg()[0]:.1f} at the end")
    base_wall = statistics.median(w for w, _ in results["before (two walks)"])
    base_cpu = statistics.median(c for _, c in results["before (two walks)"])
    for name, rows in results.items():
        wall, cpu = statistics.median(w for w, _ in rows), statistics.median(c for _, c in rows)
        print(f"  {name:20s} wall {wall:6.2f} s (x{wall / base_wall:.2f})   "
              f"CPU {cpu:6.2f} s (x{cpu / base_cpu:.2f})")


if __name__ == "__main__":
    main()
