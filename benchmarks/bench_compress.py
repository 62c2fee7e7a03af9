"""Compression benchmark on real photographs: ours vs a plain serial Pillow loop, side by side.

    .venv/bin/python benchmarks/bench_compress.py [--images DIR] [--count 120] [--rounds 2]
                                                  [--search-count 30]

1. Throughput: the same WebP conversion (quality 85, method 4) by a serial Pillow loop and by
   `convert` at 1 and 2 workers; medians over rounds, ratios against the loop.
2. Quality search: fixed quality vs --target-ssim on a smaller sample: encodes per image,
   bytes, SSIM (mean and min).
The sample is every k-th file of the sorted folder (deterministic), symlinked into a temp folder.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

from dataset_forge.actions.registry import get_action
from dataset_forge.io import iter_images
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action

QUALITY, EFFORT = 85, 4


def sample(folder: Path, count: int, dest: Path, max_pixels: int = 0) -> list[Path]:
    paths = list(iter_images(folder))
    if max_pixels:
        paths = [p for p in paths if _pixels(p) <= max_pixels]
    step = max(1, len(paths) // count)
    chosen = paths[::step][:count]
    dest.mkdir(parents=True)
    for i, path in enumerate(chosen):
        (dest / f"{i:04d}_{path.name}").symlink_to(path)
    return chosen


def _pixels(path: Path) -> int:
    with Image.open(path) as im:
        return im.width * im.height


def pillow_loop(paths: list[Path], out: Path) -> float:
    """What a user would write by hand: open, orient, fix the mode, save as WebP."""
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                icc = im.info.get("icc_profile")
                im = ImageOps.exif_transpose(im)
                if im.mode not in ("RGB", "RGBA"):
                    im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info
                                    else "RGB")
                im.save(out / f"{i:04d}_{path.stem}.webp", "WEBP", quality=QUALITY,
                        method=EFFORT, icc_profile=icc)
        except Exception:  # noqa: BLE001 - the loop skips what it cannot read, as ours does
            pass
    return time.perf_counter() - t0


def ours(src: Path, out: Path, workers: int, **extra) -> tuple[float, dict]:
    params = {"input": str(src), "output": str(out), "format": "webp", "quality": QUALITY,
              "effort": EFFORT, **extra}
    t0 = time.perf_counter()
    report = run_action(get_action("convert"), params, config=ParallelConfig(max_workers=workers))
    return time.perf_counter() - t0, report.summary | {"rows": report.files["rows_csv"]}


def ssim_stats(rows_csv: str) -> tuple[float, float, float]:
    with open(rows_csv, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["ssim"]]
    scores = [float(r["ssim"]) for r in rows]
    encodes = [int(r["encodes"]) for r in rows]
    return statistics.mean(scores), min(scores), statistics.mean(encodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="/tmp/real-images")
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--search-count", type=int, default=30)
    parser.add_argument("--target-ssim", type=float, default=0.95)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-compress-"))
    paths = sample(Path(args.images), args.count, work / "in")
    megapixels = sum(map(_pixels, paths)) / 1e6
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; sample: {len(paths)} images, {megapixels:.0f} Mpx, "
          f"{sum(p.stat().st_size for p in paths) / 1e6:.0f} MB")

    times: dict[str, list[float]] = {"pillow loop": [], "ours 1 worker": [], "ours 2 workers": []}
    runs = {"pillow loop": lambda r: pillow_loop(paths, work / f"loop{r}"),
            "ours 1 worker": lambda r: ours(work / "in", work / f"one{r}", 1)[0],
            "ours 2 workers": lambda r: ours(work / "in", work / f"two{r}", 2)[0]}
    order = list(runs)
    for r in range(args.rounds):  # rotate the order so load spikes do not favour one run
        for name in order[r % 3:] + order[:r % 3]:
            times[name].append(runs[name](r))
    summary = ours(work / "in", work / "final", 2)[1]
    base = statistics.median(times["pillow loop"])
    print(f"\nWebP q{QUALITY} method {EFFORT}, median of {args.rounds} rounds")
    print(f"{'run':<16}{'seconds':>9}{'images/s':>10}{'vs loop':>9}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<16}{med:>9.2f}{len(paths) / med:>10.2f}{base / med:>8.2f}x")
    print(f"bytes: {summary['bytes_before']:,} -> {summary['bytes_after']:,} "
          f"(ratio {summary['ratio']}), failed {summary['failed']}")

    small = work / "search_in"
    chosen = sample(work / "in", args.search_count, small, max_pixels=2_000_000)
    print(f"\nquality search on {len(chosen)} images of at most 2 Mpx, 2 workers")
    print(f"{'run':<22}{'seconds':>9}{'bytes':>12}{'ssim mean':>11}{'ssim min':>10}"
          f"{'encodes/img':>12}")
    for name, extra in ((f"fixed q{QUALITY}", {"measure": True}),
                        (f"target ssim {args.target_ssim}", {"target_ssim": args.target_ssim})):
        seconds, summary = ours(small, work / name.replace(" ", "_"), 2, **extra)
        mean, low, encodes = ssim_stats(summary["rows"])
        print(f"{name:<22}{seconds:>9.2f}{summary['bytes_after']:>12,}{mean:>11.4f}{low:>10.4f}"
              f"{encodes:>12.2f}")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; work folder: {work}")


if __name__ == "__main__":
    main()
