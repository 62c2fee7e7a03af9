"""Memory of a Curation plan: the SQLite plan store against the same plan held in a list.

    .venv/bin/python benchmarks/bench_curation_plan.py --sizes 100000,1000000 --rounds 3

Each variant runs in a fresh subprocess (its peak RSS is its own): build N planned moves, check
them for collisions (duplicate destinations, existing destinations, missing sources: the files
do not exist, so every source counts as missing and the check walks all N), then walk the
pending operations once as an apply would. Rounds are interleaved; medians are printed side by
side with the ratio.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, os, resource, sys, time, tempfile
from pathlib import Path
n, variant = int(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
src = "/nonexistent/dataset/sub{:03d}/image_{:08d}.png"
dst = "/nonexistent/quarantine/sub{:03d}/image_{:08d}.png"
if variant == "plan":
    from dataset_forge.curation.plan import Plan
    with tempfile.TemporaryDirectory() as tmp:
        plan = Plan.create(Path(tmp) / "p.sqlite", "bench", "fp")
        for i in range(n):
            plan.add("move", src.format(i % 997, i), dst.format(i % 997, i), unit=str(i),
                     info={"rules": "blurry"})
        plan.finish_building()
        count, shown = plan.problems()
        walked = sum(1 for _ in plan.pending())
        plan.remove()
else:
    ops = [("move", src.format(i % 997, i), dst.format(i % 997, i), str(i), {"rules": "blurry"})
           for i in range(n)]
    seen, dup = set(), 0
    for op in ops:
        dup += op[2] in seen
        seen.add(op[2])
    count = sum(1 for op in ops if not os.path.lexists(op[1])) + dup
    walked = sum(1 for _ in ops)
print(json.dumps({"seconds": time.perf_counter() - t0, "problems": count, "walked": walked,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(n: int, variant: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), variant], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[int, str], list[dict]] = {}
    for _ in range(args.rounds):
        for n in sizes:
            for variant in ("plan", "list"):
                results.setdefault((n, variant), []).append(run(n, variant))
    print(f"{'planned moves':>14} {'variant':>8} {'peak MB':>9} {'seconds':>9}  problems")
    for n in sizes:
        med = {}
        for variant in ("plan", "list"):
            rs = results[(n, variant)]
            med[variant] = (statistics.median(r["peak_mb"] for r in rs),
                            statistics.median(r["seconds"] for r in rs))
            print(f"{n:>14,} {variant:>8} {med[variant][0]:>9.0f} {med[variant][1]:>9.2f}  "
                  f"{rs[0]['problems']:,}")
        print(f"{'':>14} {'ratio':>8} {med['list'][0] / med['plan'][0]:>8.1f}x "
              f"{med['plan'][1] / med['list'][1]:>8.1f}x  (list/plan memory, plan/list time)")


if __name__ == "__main__":
    main()
