"""Analysis speed on real photos, side by side in one run.

    .venv/bin/python benchmarks/bench_analysis.py [/tmp/real-images] [--workers 2]
        [--cleanvision PYTHON] [--repeats 3] [--quality-repeats 2] [--skip inventory,decode]

1. header inventory: our `inventory` action (threads) vs a serial loop of the same reader;
2. decoders: one full-resolution decode per file (pixels forced), Pillow vs libvips (pyvips),
   per format, rounds interleaved: the figures behind `analysis.loading.DECODERS`;
3. stages: CPU seconds (this process and libvips' threads) per format for each stage of the
   quality pass, one file at a time: the decode (with the reduced copy), tile choice, the
   native signals, the whole-image scores;
4. quality pass: the whole `quality` action (native-resolution signals, CSV, HTML with
   thumbnails and crops), against cleanvision (`pip install dataset-forge[bench]`; any Python
   with cleanvision via --cleanvision) on its comparable checks (dark, light, blurry,
   low_information, grayscale, odd_size, odd_aspect_ratio) and on its default run (all
   checks, duplicates included), rounds interleaved.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_forge.actions.registry import get_action  # noqa: E402
from dataset_forge.analysis import header, loading  # noqa: E402
from dataset_forge.io.discover import discover  # noqa: E402
from dataset_forge.parallel import ParallelConfig, ParallelProcessor, WorkKind  # noqa: E402
from dataset_forge.runner import run_action  # noqa: E402

CLEANVISION_SCRIPT = r"""
import json, sys, time
from cleanvision import Imagelab
paths = json.load(open(sys.argv[1]))
issues = {k: {} for k in ("dark", "light", "blurry", "low_information", "grayscale",
                          "odd_size", "odd_aspect_ratio")} if sys.argv[3] == "same" else None
t0 = time.perf_counter()
lab = Imagelab(filepaths=paths)
lab.find_issues(issues, n_jobs=int(sys.argv[2]), verbose=False)
elapsed = time.perf_counter() - t0
counts = {c[3:-6]: int(lab.issues[c].sum()) for c in lab.issues.columns
          if c.startswith("is_") and c.endswith("_issue")}
print(json.dumps({"elapsed": elapsed, "counts": counts}))
"""


class TreeCPU:
    """CPU seconds (user + system) of this process and every descendant, sampled every
    0.2 s while running: pool workers are children of a forkserver that is not reaped before
    the run ends, so RUSAGE_CHILDREN misses them."""

    def __enter__(self) -> "TreeCPU":
        import psutil
        import threading
        self._me, self._seen, self._stop = psutil.Process(), {}, threading.Event()
        self._base = self._sample_all()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _sample_all(self) -> dict[int, float]:
        import psutil
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                self._seen[(proc.pid, proc.create_time())] = times.user + times.system
            except psutil.Error:
                pass
        return dict(self._seen)

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self._sample_all()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_all()
        self.seconds = sum(v - self._base.get(k, 0.0) for k, v in self._seen.items())


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


def cleanvision(python: str, paths: list[Path], workers: int, checks: str) -> dict | None:
    """cleanvision's run in a subprocess: checks "same" (ours' counterparts) or "default"."""
    if not Path(python).exists():
        print(f"cleanvision: skipped ({python} not found; see benchmarks/RESULTS.md to install)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump([str(p) for p in paths], fh)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(CLEANVISION_SCRIPT)
    proc = subprocess.run([python, script.name, fh.name, str(workers), checks], capture_output=True,
                          text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        print("cleanvision failed:", proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def decode_pillow(path: Path):
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).shape


def decode_vips(path: Path):
    return loading._vips_pixels(path).shape


def decoders(paths: list[Path], modes: dict[Path, str], rounds: int) -> None:
    """Full decodes per format, Pillow vs libvips, on the files both read the same way."""
    by_format: dict[str, list[Path]] = {}
    for p in paths:
        fmt = modes[p][1] if modes[p] else None
        if fmt and modes[p][0] in loading.VIPS_MODES:
            by_format.setdefault(fmt, []).append(p)
    print(f"  {'format':<8}{'files':>6}{'Pillow s':>10}{'libvips s':>11}{'vips/Pillow':>13}  "
          f"(median of {rounds} interleaved rounds)")
    for fmt, files in sorted(by_format.items()):
        times = {"pillow": [], "vips": []}
        for _ in range(rounds):
            for name, fn in (("pillow", decode_pillow), ("vips", decode_vips)):
                t0 = time.perf_counter()
                serial(fn, files)
                times[name].append(time.perf_counter() - t0)
        t_pil, t_vips = statistics.median(times["pillow"]), statistics.median(times["vips"])
        print(f"  {fmt:<8}{len(files):>6}{t_pil:>10.2f}{t_vips:>11.2f}{t_vips / t_pil:>13.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default="/tmp/real-images")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality-repeats", type=int, default=2)
    ap.add_argument("--cleanvision", default=sys.executable)
    ap.add_argument("--skip", default="",
                    help="comma-separated: inventory, decode, stages, quality")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    folder = Path(args.folder)
    paths = discover(folder).images
    n = len(paths)
    print(f"{n} files under {folder}, {args.workers} workers, {os.cpu_count()} CPUs visible, "
          f"load average {os.getloadavg()[0]:.1f}")

    if "inventory" not in skip:
        inventory(paths, folder, args)
    headers = serial_safe(header.read_header, paths)
    modes = {p: (m.get("mode"), m.get("format")) if m else None for p, m in zip(paths, headers)}
    if "decode" not in skip:
        print("\n== full-resolution decode, Pillow vs libvips ==")
        decoders(paths, modes, args.repeats)
    if "stages" not in skip:
        stages(paths)
    if "quality" not in skip:
        quality_pass(paths, modes, args)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


def inventory(paths: list[Path], folder: Path, args) -> None:
    n = len(paths)
    print("\n== header inventory ==")
    t_serial, _ = timed(lambda: serial(header.read_header, paths), args.repeats)
    t_par, _ = timed(lambda: parallel(header.read_header, paths, args.workers * 4,
                                      WorkKind.IO), args.repeats)
    t_act, _ = timed(lambda: action("inventory", folder, 0, WorkKind.IO), args.repeats)
    for label, t in (("serial loop", t_serial), ("parallel core (threads)", t_par),
                     ("inventory action (CSV+HTML)", t_act)):
        print(f"  {label:<30} {t:7.2f} s  {n / t:8.0f} images/s  x{t_serial / t:.2f} vs serial")


def stages(paths: list[Path]) -> None:
    """CPU seconds per format and stage of the quality pass (serial, one process)."""
    from dataset_forge.analysis import native, quality
    print("\n== quality pass, CPU seconds per stage (serial) ==")
    cpu = time.process_time
    names = ("decode+reduce", "tiles", "signals", "whole-image", "total")
    table: dict[str, dict[str, float]] = {}
    files: dict[str, list[float]] = {}
    for path in paths:
        t0 = cpu()
        try:
            small = loading.load_native(path)
        except Exception:
            continue
        t1 = cpu()
        tiles = native.choose_tiles(small.pixels, native.luma_of(np.asarray(small.rgb)))
        t2 = cpu()
        native.signals(tiles)
        t3 = cpu()
        quality._whole_image_scores(small)
        t4 = cpu()
        row = table.setdefault(small.format or "?", dict.fromkeys(names, 0.0))
        for name, dt in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
            row[name] += dt
        count = files.setdefault(small.format or "?", [0, 0.0])
        count[0] += 1
        count[1] += small.pixels.shape[0] * small.pixels.shape[1] / 1e6
    print(f"  {'format':<7}{'files':>6}{'Mpx':>8}" + "".join(f"{n:>15}" for n in names))
    for fmt, row in sorted(table.items(), key=lambda kv: -kv[1]["total"]):
        print(f"  {fmt:<7}{files[fmt][0]:>6}{files[fmt][1]:>8.0f}"
              + "".join(f"{row[n]:>15.2f}" for n in names))
    print(f"  {'all':<7}{sum(f[0] for f in files.values()):>6}"
          f"{sum(f[1] for f in files.values()):>8.0f}"
          + "".join(f"{sum(r[n] for r in table.values()):>15.2f}" for n in names))


def quality_pass(paths: list[Path], modes: dict, args) -> None:
    print("\n== quality pass ==")
    # cleanvision crashes on grey+alpha images (IndexError in its brightness code), so both
    # tools get the files it can read; ours reads the others too (see the tests)
    usable = [p for p in paths if modes[p] and modes[p][0] not in ("LA", "La", "PA")]
    print(f"  {len(paths) - len(usable)} files left out for cleanvision's sake "
          "(grey+alpha or unreadable)")
    n = len(usable)
    subset = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    for p in usable:
        (subset / p.name).symlink_to(p)
    times: dict[str, list[float]] = {"ours": [], "same": [], "default": []}
    cpu: dict[str, list[float]] = {"ours": [], "same": [], "default": []}
    report, counts = None, {}
    for _ in range(args.quality_repeats):
        t0 = time.perf_counter()
        with TreeCPU() as used:
            report = action("quality", subset, args.workers, WorkKind.CPU)
        times["ours"].append(time.perf_counter() - t0)
        cpu["ours"].append(used.seconds)
        for checks in ("same", "default"):
            with TreeCPU() as used:
                cv = cleanvision(args.cleanvision, usable, args.workers, checks)
            if cv:
                times[checks].append(cv["elapsed"])
                cpu[checks].append(used.seconds)
                counts[checks] = cv["counts"]
    t_ours, c_ours = statistics.median(times["ours"]), statistics.median(cpu["ours"])
    print(f"  {'':<48} {'wall':>9} {'images/s':>9} {'CPU s':>8}  ratio (wall, CPU)")
    print(f"  {'quality action (native signals, CSV+HTML)':<48} {t_ours:7.2f} s "
          f"{n / t_ours:9.1f} {c_ours:8.1f}")
    for checks, label in (("same", "cleanvision, comparable checks"),
                          ("default", "cleanvision, default run (all checks)")):
        if times[checks]:
            t, c = statistics.median(times[checks]), statistics.median(cpu[checks])
            print(f"  {label:<48} {t:7.2f} s {n / t:9.1f} {c:8.1f}  "
                  f"ours x{t / t_ours:.1f} faster (wall), x{c / c_ours:.1f} (CPU)")
    print(f"  (medians of {args.quality_repeats} interleaved rounds)")
    print("  our flags:", report.summary["flags"])
    for checks, found in counts.items():
        print(f"  cleanvision flags ({checks}):", found)


if __name__ == "__main__":
    main()
