"""CPU of dedup's verification pass: two source trees side by side (before and after a change to
the verifier), interleaved rounds, medians.

    flock /tmp/forge-bench.lock .venv/bin/python benchmarks/bench_dedup_verify.py \\
        --before /path/to/old/checkout [--after .] [--input /tmp/real-images] [--rounds 3]

Per round, each tree in turn, in fresh processes:
- "pass": the verification alone, serial, in one process: the files are hashed (untimed, into a
  scratch store, as `--cache off` does), then every candidate pair the action verifies is
  scored from the stored signatures (`verifying.score_pairs`, what the action calls): its
  process CPU seconds, and how many pairs reach the bound (0.92);
- "serial" / "parallel": the CLI end to end (`--cache off`; serial, then the default
  processing type): the 'verifying pairs' pass as the report times it (wall) and CPU seconds
  of the whole process tree (`bench_dedup_speed.timed`: workers included).
The confirmed pairs of both trees are compared (dedup_pairs.csv of the serial runs).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_dedup_speed import timed  # noqa: E402

PASS = """
import json, sys, tempfile, time
from pathlib import Path
from dataset_forge.context import RunContext
from dataset_forge.parallel import ParallelConfig
from dataset_forge.parallel.config import ProcessingType
from dataset_forge.dedup.aligned import AlignedVerifier
from dataset_forge.dedup.cache import RunStores
from dataset_forge.dedup.catalog import build_catalog
from dataset_forge.dedup.features import encode_all
from dataset_forge.dedup.perceptual import PerceptualHash
from dataset_forge.dedup.verifying import score_pairs
catalog = build_catalog(input=Path(sys.argv[1]))
ctx = RunContext(ParallelConfig(processing_type=ProcessingType.SERIAL), Path(tempfile.mkdtemp()))
method = PerceptualHash("phash", 8, None, True, True, verified=True, signatures=True)
with RunStores.open("off") as stores:
    enc = encode_all(method, ctx, catalog.paths, stores.features, stores.scratch)
    found = method.find_pairs(enc.features)
    rows = list(zip(enc.rows[found.i].tolist(), enc.rows[found.j].tolist()))
    t0 = time.process_time()
    scored = score_pairs(ctx, AlignedVerifier(), stores, catalog.paths, rows)
    cpu = time.process_time() - t0
print(json.dumps({"cpu": cpu, "pairs": len(rows), "confirmed": int((scored.scores >= 0.92).sum())}))
"""


def run_pass(tree: Path, images: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}     # and run in it: '' leads sys.path
    out = subprocess.run([sys.executable, "-c", PASS, str(images)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_cli(tree: Path, images: Path, out: Path, serial: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "dataset_forge", "--action", "dedup", "--input", str(images),
           "--cache", "off", "--output", str(out), "--json"]
    cmd += ["--processing-type", "serial"] if serial else []
    wall, cpu, proc = timed(cmd, env=env, cwd=tree)     # the tree's package, not the caller's
    summary = json.loads(proc.stdout)["summary"]
    return {"wall": wall, "cpu": cpu, "verify_wall": summary["pass_seconds"]["verifying pairs"],
            "pairs": summary["pairs"], "groups": summary["groups"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, required=True)
    ap.add_argument("--after", type=Path, default=REPO)
    ap.add_argument("--input", type=Path, default=Path("/tmp/real-images"))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():   # byte-compile, untimed
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "dataset_forge")])
    rows: dict[str, dict[str, list]] = {t: {} for t in trees}
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    for r in range(args.rounds):
        for name, tree in trees.items():
            p = run_pass(tree, args.input)
            s = run_cli(tree, args.input, work / f"{name}-serial", serial=True)
            q = run_cli(tree, args.input, work / f"{name}-parallel", serial=False)
            got = {"pass cpu": p["cpu"], "serial verify wall": s["verify_wall"],
                   "serial cpu": s["cpu"], "parallel verify wall": q["verify_wall"],
                   "parallel cpu": q["cpu"]}
            for k, v in got.items():
                rows[name].setdefault(k, []).append(v)
            print(f"round {r} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in got.items()) +
                  f"; {p['pairs']} candidates, {p['confirmed']} >= 0.92, {s['pairs']} pairs, "
                  f"{s['groups']} groups", flush=True)
    print("\nmedians (s)      " + "  ".join(f"{k:>20}" for k in rows["before"]))
    for name in trees:
        print(f"{name:16} " + "  ".join(f"{statistics.median(v):20.2f}"
                                        for v in rows[name].values()))
    print(f"{'before / after':16} " + "  ".join(
        f"{statistics.median(rows['before'][k]) / statistics.median(rows['after'][k]):20.2f}"
        for k in rows["before"]))
    same = all((work / f"{n}-serial" / f).read_bytes() == (work / "after-serial" / f).read_bytes()
               for n in ("before",) for f in ("dedup_pairs.csv", "dedup_groups.csv",
                                              "dedup_related.csv"))
    print(f"confirmed pairs, groups and related pairs identical: {same}")


if __name__ == "__main__":
    main()
