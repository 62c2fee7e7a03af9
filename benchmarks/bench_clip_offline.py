"""`--verify clip` with no cached weights on a machine without internet: how long until the
error. Side by side, interleaved rounds: the whole CLI command today (weights looked up in the
caches first, `dedup/clip_weights.py`) and open_clip's own loading, the call the action made
before (download attempts and retries, then the error).

    python benchmarks/bench_clip_offline.py --rounds 2

Prints wall seconds and CPU seconds (user+sys of the child) per round, then medians. Run it
where the hub cannot be reached (HF_HUB_OFFLINE is left unset: the case of a user offline).
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

OPEN_CLIP_LOAD = ("from dataset_forge.dedup.torch_compat import import_torchvision; "
                  "import_torchvision(); import open_clip\n"
                  "try:\n    open_clip.create_model_and_transforms('ViT-B-32', "
                  "pretrained='laion2b_s34b_b79k')\nexcept Exception as e:\n    print(type(e).__name__)")


def timed(cmd: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import os
    work = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    (work / "in").mkdir()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(work / "in" / "a.png")
    shutil.copy(work / "in" / "a.png", work / "in" / "a_copy.png")
    (work / "home").mkdir()
    env = {**os.environ, "HOME": str(work / "home"), "HF_HOME": str(work / "home" / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    cli = [sys.executable, "-m", "dataset_forge", "--action", "dedup", "--input",
           str(work / "in"), "--method", "phash", "--verify", "clip", "--report-dir",
           str(work / "rep")]
    rows = {"CLI, caches checked first": [], "open_clip's own load": []}
    for _ in range(args.rounds):
        rows["CLI, caches checked first"].append(timed(cli, env))
        rows["open_clip's own load"].append(timed([sys.executable, "-c", OPEN_CLIP_LOAD], env))
    for name, runs in rows.items():
        print(f"{name:28s} wall {[f'{w:.1f}' for w, _, _ in runs]} s, cpu "
              f"{[f'{c:.2f}' for _, c, _ in runs]} s, exit {[r for _, _, r in runs]}")
    new, old = (statistics.median(w for w, _, _ in rows[k]) for k in rows)
    print(f"median wall: {new:.1f} s vs {old:.1f} s ({old / new:.0f}x sooner)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
