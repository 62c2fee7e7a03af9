"""fix-pairs on real photographs: how well shifts are found and corrected (no timings).

    .venv/bin/python benchmarks/bench_fix_pairs.py /tmp/real-images --pairs 40 --seed 1

For each sampled JPEG (long side at most 1200 px; HQ an odd size, as integer-division tools
leave it): an *unshifted* pair (LQ = the whole HQ resized to its size // 4, bicubic) and a
*shifted* one (LQ made the same way from the scene moved by a known 1-16 HQ pixels left and
0-12 up). The
engine's worker (`curation.pairfix.fix_pair`, nothing written) measures and corrects each pair
with the action's defaults. Printed: what was changed, and the alignment error after the fix
against the known truth, in LQ pixels.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

from PIL import Image

from dataset_forge.curation.pairfix import FixJob, fix_pair

SCALE = 4


def make_pair(src: Path, folder: Path, name: str, shift: tuple[int, int]) -> tuple[Path, Path]:
    im = Image.open(src).convert("RGB")
    im.thumbnail((1200, 1200))
    w, h = im.size[0] - 16, im.size[1] - 12                 # room for the largest shift
    w, h = w - (w % SCALE == 0) * 2, h - (h % SCALE == 0)   # HQ not a multiple of the scale
    sx, sy = shift
    hq = im.crop((0, 0, w, h))
    lq = im.crop((sx, sy, sx + w, sy + h)).resize((w // SCALE, h // SCALE),
                                                  Image.Resampling.BICUBIC)
    hq_path, lq_path = folder / f"{name}_hq.png", folder / f"{name}_lq.png"
    hq.save(hq_path)
    lq.save(lq_path)
    return hq_path, lq_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    photos = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    sample = rng.sample(photos, min(args.pairs, len(photos)))
    results: dict[str, list[dict]] = {"unshifted": [], "shifted": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n, photo in enumerate(sample):
            for kind in results:
                shift = (rng.randint(1, 16), rng.randint(0, 12)) if kind == "shifted" else (0, 0)
                hq, lq = make_pair(photo, Path(tmp), f"{n}_{kind}", shift)
                row = fix_pair(FixJob(hq, lq, hq, lq, SCALE, "trim", True, 8.0, 0.5, 3.0, False))
                applied = [0, 0]
                if "shift" in row.get("fix", ""):
                    part = row["fix"].split("shift ")[1].split(" HQ")[0]
                    applied = [int(v) for v in part.split(",")]
                # truth: LQ pixel 0 shows HQ pixel `shift`; the fix moves HQ by `applied`
                error = max(abs(applied[0] - shift[0]), abs(applied[1] - shift[1])) / SCALE
                results[kind].append({"row": row, "error": error, "shift": shift})
    print(f"{'pairs':<10} {'n':>3} {'unfixable':>9} {'shift cropped':>13} "
          f"{'error after (LQ px) median':>27} {'max':>6} {'<= 0.5 px':>9}")
    for kind, items in results.items():
        ok = [r for r in items if r["row"]["status"] != "unfixable"]
        errors = [r["error"] for r in ok]
        cropped = sum(1 for r in ok if "shift" in r["row"].get("fix", ""))
        print(f"{kind:<10} {len(items):>3} {len(items) - len(ok):>9} {cropped:>13} "
              f"{statistics.median(errors) if errors else float('nan'):>27.3f} "
              f"{max(errors) if errors else float('nan'):>6.3f} "
              f"{sum(e <= 0.5 for e in errors):>5}/{len(errors)}")
    for kind, items in results.items():
        for r in items:
            if r["row"]["status"] == "unfixable":
                print(f"  unfixable {kind} shift {r['shift']}: {r['row'].get('reason')}")


if __name__ == "__main__":
    main()
