"""Analysis speed on real photos, side by side in one run.

    .venv/bin/python benchmarks/bench_analysis.py [/tmp/real-images] [--workers 2]
        [--cleanvision /tmp/cv-venv/bin/python] [--repeats 3] [--quality-repeats 1]

1. header inventory: our `inventory` action (threads) vs a serial loop of the same reader;
2. quality pass: our scores on the parallel core, the whole `quality` action (CSV, HTML with
   thumbnails), a serial loop, and cleanvision's comparable checks (dark, light, blurry,
   low_information, grayscale, odd_size, odd_aspect_ratio) run in its own venv via subprocess.
Prints medians and ratios; figures go to benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_forge.actions.registry import get_action  # noqa: E402
from dataset_forge.analysis import header, quality  # noqa: E402
from dataset_forge.io.discover import discover  # noqa: E402
from dataset_forge.parallel import ParallelConfig, ParallelProcessor, WorkKind  # noqa: E402
from dataset_forge.runner import run_action  # noqa: E402

CLEANVISION_SCRIPT = r"""
import json, sys, time
from cleanvision import Imagelab
paths = json.load(open(sys.argv[1]))
issues = {k: {} for k in ("dark", "light", "blurry", "low_information", "grayscale",
                          "odd_size", "odd_aspect_ratio")}
t0 = time.perf_counter()
lab = Imagelab(filepaths=paths)
lab.find_issues(issues, n_jobs=int(sys.argv[2]), verbose=False)
elapsed = time.perf_counter() - t0
counts = {k: int(lab.issues[f"is_{k}_issue"].sum()) for k in issues}
print(json.dumps({"elapsed": elapsed, "counts": counts}))
"""


def timed(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def serial(fn, paths):
    out = []
    for p in paths:
        try:
            out.append(fn(p))
        except Exception:
            pass
    return out


def serial_safe(fn, paths):
    """fn(p) for each path, {} where it fails."""
    out = []
    for p in paths:
        try:
            out.append(fn(p))
        except Exception:
            out.append({})
    return out


def parallel(fn, paths, workers: int, kind: WorkKind):
    with ParallelProcessor(ParallelConfig(max_workers=workers), kind) as proc:
        return [o.value for o in proc.map(fn, paths) if o.ok]


def action(name: str, folder: Path, workers: int, kind: WorkKind):
    config = ParallelConfig(max_workers=workers)
    with tempfile.TemporaryDirectory() as out:
        return run_action(get_action(name), {"input": str(folder)}, config=config,
                          report_dir=Path(out))


def cleanvision(python: str, paths: list[Path], workers: int) -> dict | None:
    if not Path(python).exists():
        print(f"cleanvision: skipped ({python} not found; see benchmarks/RESULTS.md to install)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([str(p) for p in paths], fh)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(CLEANVISION_SCRIPT)
    proc = subprocess.run([python, script.name, fh.name, str(workers)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        print("cleanvision failed:", proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default="/tmp/real-images")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality-repeats", type=int, default=1)
    ap.add_argument("--cleanvision", default="/tmp/cv-venv/bin/python")
    args = ap.parse_args()
    folder = Path(args.folder)
    paths = discover(folder).images
    n = len(paths)
    print(f"{n} files under {folder}, {args.workers} workers, {os.cpu_count()} CPUs visible, "
          f"median of {args.repeats}")

    print("\n== header inventory ==")
    t_serial, _ = timed(lambda: serial(header.read_header, paths), args.repeats)
    t_par, _ = timed(lambda: parallel(header.read_header, paths, args.workers * 4,
                                      WorkKind.IO), args.repeats)
    t_act, _ = timed(lambda: action("inventory", folder, 0, WorkKind.IO), args.repeats)
    for label, t in (("serial loop", t_serial), ("parallel core (threads)", t_par),
                     ("inventory action (CSV+HTML)", t_act)):
        print(f"  {label:<30} {t:7.2f} s  {n / t:8.0f} images/s  x{t_serial / t:.2f} vs serial")

    print("\n== quality pass ==")
    # cleanvision crashes on grey+alpha images (IndexError in its brightness code), so both
    # tools get the files it can read; ours reads the others too (see the tests)
    modes = {p: m.get("mode") for p, m in zip(paths, serial_safe(header.read_header, paths))}
    usable = [p for p in paths if modes[p] and modes[p] not in ("LA", "La", "PA")]
    print(f"  {n - len(usable)} files left out for cleanvision's sake (grey+alpha or unreadable)")
    n = len(usable)
    subset = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    for p in usable:
        (subset / p.name).symlink_to(p)
    t_qserial, rows = timed(lambda: serial(quality.measure, usable), 1)
    t_qpar, _ = timed(lambda: parallel(quality.measure, usable, args.workers, WorkKind.CPU),
                      args.quality_repeats)
    t_qact, report = timed(lambda: action("quality", subset, args.workers, WorkKind.CPU),
                           args.quality_repeats)
    cv = cleanvision(args.cleanvision, usable, args.workers)
    t_cv = cv["elapsed"] if cv else None
    for label, t in (("serial loop", t_qserial), ("parallel core (processes)", t_qpar),
                     ("quality action (CSV+HTML)", t_qact), ("cleanvision", t_cv)):
        if t is None:
            continue
        ratio = f"x{t_cv / t:.1f} faster than cleanvision" if t_cv else ""
        print(f"  {label:<30} {t:7.2f} s  {n / t:8.1f} images/s  {ratio}")
    print("  our flags:", report.summary["flags"])
    if cv:
        print("  cleanvision flags:", cv["counts"])


if __name__ == "__main__":
    main()
