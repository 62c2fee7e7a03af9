"""End-to-end speed of `dataset-forge --action dedup` (default settings: pHash with mirror,
turn and crop codes, aligned verification, groups, CSV/JSON/HTML) against imagededup's PHash
`find_duplicates`, side by side in one run, interleaved rounds, medians.

    flock /tmp/forge-bench.lock .venv/bin/python benchmarks/bench_dedup_speed.py \\
        [--input /tmp/real-images] [--rounds 3]

Both run as subprocesses, as users meet them. "Cold" = no feature cache for us (--cache off);
imagededup has none. The operating system's file cache is warm for both (one untimed read of
every file first). "Warm" = our second run with the feature cache filled by the first.
imagededup imports torch (its CNN methods) through dataset_forge.dedup.torch_compat, as on a
CPU-only torch it must; its own timer (encode + search, no imports) is printed as well.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGEDEDUP = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from dataset_forge.dedup.torch_compat import import_torchvision
import_torchvision()
from imagededup.methods import PHash
t0 = time.perf_counter()
dups = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1], max_distance_threshold=10)
print(json.dumps({"inner_s": time.perf_counter() - t0,
                  "pairs": sum(len(v) for v in dups.values()) // 2}))
"""


def ours(folder: Path, out: Path, cache: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dataset_forge", "--action", "dedup",
                           "--input", str(folder), "--cache", cache, "--output", str(out),
                           "--json"], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dedup failed: {proc.stderr[-400:]}")
    return wall, json.loads(proc.stdout)["summary"]


def imagededup(folder: Path) -> tuple[float, dict]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", IMAGEDEDUP, str(folder), str(REPO)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"imagededup failed: {proc.stderr[-400:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    files = [p for p in args.input.rglob("*") if p.is_file()]
    for p in files:                       # the OS file cache: warm for both tools
        p.read_bytes()
    print(f"{len(files)} files in {args.input}; load average before: "
          f"{open('/proc/loadavg').read().split()[:3]}")
    cold, idd, idd_inner, warm = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(args.rounds):
            order = ("ours", "idd") if r % 2 == 0 else ("idd", "ours")
            for who in order:
                if who == "ours":
                    wall, summary = ours(args.input, tmp / f"cold{r}", "off")
                    cold.append(wall)
                else:
                    wall, out = imagededup(args.input)
                    idd.append(wall)
                    idd_inner.append(out["inner_s"])
                print(f"round {r} {who}: {wall:.1f} s", flush=True)
            cache = str(tmp / f"cache{r}.sqlite")
            ours(args.input, tmp / f"fill{r}", cache)
            wall, warm_summary = ours(args.input, tmp / f"warm{r}", cache)
            warm.append(wall)
            print(f"round {r} ours warm: {wall:.1f} s (from cache {warm_summary['from_cache']})",
                  flush=True)
    m = {k: statistics.median(v) for k, v in
         (("cold", cold), ("idd", idd), ("idd_inner", idd_inner), ("warm", warm))}
    print(f"\nmedians of {args.rounds} rounds: ours cold {m['cold']:.1f} s, imagededup "
          f"{m['idd']:.1f} s (its own timer {m['idd_inner']:.1f} s), ours warm {m['warm']:.1f} s")
    print(f"imagededup / ours cold: {m['idd'] / m['cold']:.2f}x end to end, "
          f"{m['idd_inner'] / m['cold']:.2f}x against its inner timer")
    print(f"ours: {summary['candidate_pairs'] if 'candidate_pairs' in summary else 0} "
          f"candidates, {summary['pairs']} confirmed pairs, {summary['groups']} groups")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
    print("JSON " + json.dumps({"ours_cold": cold, "imagededup": idd,
                                "imagededup_inner": idd_inner, "ours_warm": warm}))


if __name__ == "__main__":
    main()
