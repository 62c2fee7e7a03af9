"""The native-resolution quality signals on real photographs (issue 15), counted.

    .venv/bin/python benchmarks/bench_quality_signals.py [/tmp/real-images] [--count 40]
        [--graphics]

For `--count` photographs of at least 480 px on the short side (every k-th in name order, so
the sample is spread over the packages), checks and prints how many pass:
1. sharpness falls strictly with Gaussian blur (sigma 0, 0.5, 1, 2, 4, 8), for the whole
   picture and for three 192 px tiles cut from it (equal where the blur left every 8-bit pixel
   unchanged; a tile blurred until too flat may end "not measurable", counted apart);
2. the upscale factor: 1 for the original, 2 and 3 for copies downscaled by 2 and 3 (Lanczos)
   and upscaled back with bicubic and with Lanczos;
3. blockiness: the original and a quality-90 JPEG of it not blocky, a quality-10 JPEG of it
   stored as PNG blocky.
Failures are listed by name. With `--graphics`, also every PNG and WebP of the folder (there
mostly screenshots, diagrams, line art and wallpapers): how many originals and quality-90
copies are called blocky (false positives, listed by name) and how many quality-10 copies
are caught, with the share each of the two measures (block grid, quantisation lattice)
decides. Build the folder with shared/data/real-images.sh.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_forge.analysis import loading, native, quality  # noqa: E402
from dataset_forge.io.discover import discover  # noqa: E402

SIGMAS = (0, 0.5, 1, 2, 4, 8)
#: counted, not a pass/fail check: a tile that was measured unblurred became not measurable
INFO = "(info) a tile ends not measurable"
TILE = 192


def photographs(folder: Path, count: int) -> list[Path]:
    usable = []
    for path in discover(folder).images:
        try:
            with Image.open(path) as im:
                if min(im.size) >= 480 and im.mode in ("RGB", "L"):
                    usable.append(path)
        except OSError:
            continue
    step = max(1, len(usable) // count)
    return usable[::step][:count]


def score(im: Image.Image, work: Path, name: str) -> dict:
    path = work / f"{name}.png"
    im.save(path)
    return quality.measure(path)


def falls_strictly(values: list, changed: list[bool]) -> bool:
    """Strictly falling wherever the blur changed the 8-bit pixels (a sigma-0.5 blur of a
    smooth region can leave every pixel as it was: then the score must stay equal); a
    region blurred until too flat to measure may end in not-measurable (None) values."""
    measured = values[:next((i for i, v in enumerate(values) if v is None), len(values))]
    if any(v is not None for v in values[len(measured):]):
        return False
    return all(a > b if moved else a == b
               for a, b, moved in zip(measured, measured[1:], changed[1:]))


def ends_unmeasured(values: list) -> bool:
    return values[0] is not None and values[-1] is None


def check(path: Path, work: Path) -> dict[str, bool | None]:
    """Check name -> passed (None: not measurable, e.g. a flat tile or a flat graphic)."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w > 1600 or h > 1200:  # keep the run short: a centre crop, still native pixels
        cw, ch = min(w, 1600), min(h, 1200)
        im = im.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
        w, h = im.size
    boxes = [(0, 0), (w // 2 - TILE // 2, h // 2 - TILE // 2), (w - TILE, h - TILE)]
    whole, tiles = [], [[] for _ in boxes]
    moved: list[list[bool]] = [[] for _ in range(len(boxes) + 1)]
    last = [None] * (len(boxes) + 1)
    for sigma in SIGMAS:
        pic = im.filter(ImageFilter.GaussianBlur(sigma)) if sigma else im
        crops = [pic] + [pic.crop((x, y, x + TILE, y + TILE)) for x, y in boxes]
        for k, crop in enumerate(crops):
            moved[k].append(last[k] is None or crop.tobytes() != last[k])
            last[k] = crop.tobytes()
        whole.append(score(pic, work, f"b{sigma}")["sharpness"])
        for series, crop in zip(tiles, crops[1:]):
            series.append(score(crop, work, "t")["sharpness"])
    measured = [(t, m) for t, m in zip(tiles, moved[1:]) if t[0] is not None]
    out: dict[str, bool | None] = {
        "blur, whole": falls_strictly(whole, moved[0]) if whole[0] is not None else None,
        "blur, tiles": all(falls_strictly(t, m) for t, m in measured) if measured else None,
        INFO: any(ends_unmeasured(t) for t, _ in measured)}
    original = score(im, work, "o")
    if original["upscale_factor"] is None:
        return {**out, "original factor 1": None}
    out["original factor 1"] = original["upscale_factor"] == 1
    for factor in (2, 3):
        small = im.resize((w // factor, h // factor), Image.Resampling.LANCZOS)
        for kernel in (Image.Resampling.BICUBIC, Image.Resampling.LANCZOS):
            up = score(small.resize((w // factor * factor, h // factor * factor), kernel),
                       work, "u")
            out[f"{factor}x {kernel.name.lower()} -> {factor}"] = up["upscale_factor"] == factor
    limit = quality.CHECKS_BY_NAME["blocky"].threshold
    out["original not blocky"] = (original["blockiness"] or 0) <= limit
    for q, blocky in ((90, False), (10, True)):
        value = score(jpeg_copy(im, q), work, f"q{q}")["blockiness"] or 0
        out[f"JPEG q{q} as PNG {'blocky' if blocky else 'not blocky'}"] = (value > limit) == blocky
    return out


def jpeg_copy(im: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=q)
    return Image.open(buf).convert("RGB")


def blockiness_parts(im: Image.Image) -> tuple[float | None, float | None, float | None]:
    """(blockiness, block-grid measure, lattice measure) of a picture on content-chosen
    tiles as `quality` measures them, without writing it to disk."""
    small = im.copy()
    small.thumbnail((quality.DEFAULT_SIZE, quality.DEFAULT_SIZE))
    tiles = native.choose_tiles(np.asarray(im), native.luma_of(np.asarray(small)))
    if min(tiles[0].luma.shape) < 2 * native.BLOCK + 1:
        return None, None, None
    return native.blockiness(tiles), *native.block_measures(tiles, every=True)


def graphics(folder: Path) -> None:
    """Blockiness over every PNG and WebP of the folder: originals and quality-90 copies
    flagged (false positives), quality-10 copies caught, and which measure decided."""
    limit = quality.CHECKS_BY_NAME["blocky"].threshold
    files = [p for p in discover(folder).images if p.suffix.lower() in (".png", ".webp")]
    counts = {v: {"flagged": 0, "by grid": 0, "by lattice only": 0, "not measurable": 0}
              for v in ("original", "q90", "q10")}
    flagged: dict[str, list[str]] = {"original": [], "q90": []}
    for path in files:
        try:
            im = Image.fromarray(loading.load_native(path).pixels)
        except Exception:
            continue
        for variant, pic in (("original", im), ("q90", jpeg_copy(im, 90)),
                             ("q10", jpeg_copy(im, 10))):
            score, grid, lattice = blockiness_parts(pic)
            row = counts[variant]
            if score is None:
                row["not measurable"] += 1
            elif score > limit:
                row["flagged"] += 1
                row["by grid" if (grid or 0) > limit else "by lattice only"] += 1
                if variant in flagged:
                    flagged[variant].append(path.name)
    print(f"\n{len(files)} PNG/WebP files (screenshots, diagrams, line art, wallpapers): "
          f"blockiness > {limit}")
    for variant, row in counts.items():
        print(f"  {variant:<9} " + ", ".join(f"{k} {v}" for k, v in row.items())
              + f"  ({row['flagged'] / max(len(files), 1):.1%} flagged)")
    for variant, names in flagged.items():
        if names:
            print(f"  {variant} flagged: {', '.join(names)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default="/tmp/real-images")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--graphics", action="store_true",
                    help="also blockiness on every PNG/WebP: false positives, q10 caught")
    args = ap.parse_args()
    paths = photographs(Path(args.folder), args.count)
    print(f"{len(paths)} photographs (short side >= 480 px) from {args.folder}")
    passed: dict[str, int] = {}
    tried: dict[str, int] = {}
    failed: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            for name, ok in check(path, Path(tmp)).items():
                passed.setdefault(name, 0)
                if ok is None:
                    continue
                tried[name] = tried.get(name, 0) + 1
                passed[name] += ok
                if not ok and name != INFO:
                    failed.setdefault(name, []).append(path.name)
    for name, count in passed.items():
        print(f"  {name:<32} {count:>3} / {tried.get(name, 0):<3} "
              f"({len(paths) - tried.get(name, 0)} not measurable)")
    for name, names in failed.items():
        print(f"  failed {name}: {', '.join(names)}")
    if args.graphics:
        graphics(Path(args.folder))


if __name__ == "__main__":
    main()
