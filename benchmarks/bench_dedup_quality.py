"""Duplicate-finding quality and speed on real photographs, side by side with imagededup.

    .venv/bin/python benchmarks/bench_dedup_quality.py [--originals 100] [--distractors 500]
        [--imagededup-python /tmp/idd-venv/bin/python]

Builds (once) a labelled set in /tmp/dedup-eval from /tmp/real-images (../shared/data/
real-images.sh): each original (downscaled to 768 px, JPEG q95) gets near-duplicates of known
kinds, among distinct distractors. Reports pairwise precision, recall and F1 for each method and
threshold, recall per kind of change, and end-to-end wall time of `dataset-forge --action dedup`
against imagededup's PHash (its own venv; it needs torch, so `pip install torch==2.13.0` first).
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_forge.dedup.evaluate import pairs_from_groups, score_pairs  # noqa: E402

SOURCE = Path("/tmp/real-images")
EVAL = Path("/tmp/dedup-eval")
SIDE = 768


def _watermark(im: Image.Image) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out, "RGBA")
    w, h = out.size
    draw.rectangle([w * 0.6, h * 0.85, w * 0.98, h * 0.97], fill=(255, 255, 255, 110))
    draw.text((w * 0.62, h * 0.87), "(c) dataset forge 2024", fill=(0, 0, 0, 200))
    return out


def _crop(im: Image.Image) -> Image.Image:
    w, h = im.size
    return im.crop((int(w * 0.08), int(h * 0.08), int(w * 0.92), int(h * 0.92)))


VARIANTS = {   # kind -> (function, extension, save options)
    "exact": (None, "jpg", {}),
    "png_pixels": (lambda im: im, "png", {}),
    "resized_50": (lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS), "jpg", {"quality": 95}),
    "jpeg_q30": (lambda im: im, "jpg", {"quality": 30}),
    "webp_q30": (lambda im: im, "webp", {"quality": 30}),
    "crop_8pc": (_crop, "jpg", {"quality": 95}),
    "bright_130": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), "jpg", {"quality": 95}),
    "rotate_3deg": (lambda im: im.rotate(3, Image.Resampling.BILINEAR), "jpg", {"quality": 95}),
    "blur_2": (lambda im: im.filter(ImageFilter.GaussianBlur(2)), "jpg", {"quality": 95}),
    "watermark": (_watermark, "jpg", {"quality": 95}),
    "mirror": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "jpg", {"quality": 95}),
}


def build(originals: int, distractors: int) -> dict:
    """The labelled folder (flat, as imagededup scans) and its ground truth; reused if present."""
    truth_file = EVAL / "truth.json"
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        if truth["originals"] == originals and truth["distractors"] == distractors:
            return truth
        shutil.rmtree(EVAL)
    sources = sorted(p for p in SOURCE.iterdir() if p.is_file())
    rng = np.random.default_rng(7)
    picks = rng.permutation(len(sources))[: originals + distractors]
    images = EVAL / "images"
    images.mkdir(parents=True)
    groups, kinds = [], {}
    for n, k in enumerate(picks):
        try:
            im = Image.open(sources[k])
            im.draft("RGB", (SIDE, SIDE))
            im = im.convert("RGB")
        except Exception:  # noqa: BLE001 - an unreadable source is skipped
            continue
        im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
        stem = f"img{n:05d}"
        original = images / f"{stem}.jpg"
        im.save(original, quality=95)
        if n >= originals:
            continue
        group = [original.name]
        for kind, (fn, ext, opts) in VARIANTS.items():
            target = images / f"{stem}_{kind}.{ext}"
            if fn is None:
                shutil.copy(original, target)
            else:
                fn(Image.open(original).convert("RGB")).save(target, **opts)
            group.append(target.name)
            kinds[target.name] = kind
        groups.append(group)
    truth = {"originals": originals, "distractors": distractors, "groups": groups, "kinds": kinds}
    truth_file.write_text(json.dumps(truth))
    return truth


def per_kind_recall(found: set, truth: dict) -> dict[str, float]:
    hits: dict[str, list[int]] = {}
    for group in truth["groups"]:
        for variant in group[1:]:
            kind = truth["kinds"][variant]
            hits.setdefault(kind, []).append(frozenset((group[0], variant)) in found)
    return {k: float(np.mean(v)) for k, v in hits.items()}


def our_features(method) -> tuple[list[str], np.ndarray, float]:
    from dataset_forge.context import RunContext
    from dataset_forge.dedup.cache import FeatureCache
    from dataset_forge.dedup.features import encode_all
    from dataset_forge.parallel import ParallelConfig
    paths = sorted((EVAL / "images").iterdir())
    ctx = RunContext(ParallelConfig(), Path("/tmp/dedup-eval/ctx"))
    t0 = time.perf_counter()
    enc = encode_all(method, ctx, paths, FeatureCache(None))
    return [paths[r].name for r in enc.rows], enc.features, time.perf_counter() - t0


def evaluate_ours(truth: dict, thresholds: list[int]) -> list[dict]:
    from dataset_forge.dedup.exact import ExactHash
    from dataset_forge.dedup.perceptual import PerceptualHash
    true_pairs = pairs_from_groups(truth["groups"])
    rows = []
    for pixels in (False, True):
        method = ExactHash(pixels)
        names, feats, secs = our_features(method)
        pairs = method.find_pairs(feats)
        found = {frozenset((names[a], names[b])) for a, b in zip(pairs.i, pairs.j)}
        rows.append({"method": method.key, "threshold": 0, "encode_s": secs,
                     **score_pairs(found, true_pairs), "kinds": per_kind_recall(found, truth)})
    for kind, invariant in (("phash", False), ("phash", True), ("dhash", False),
                            ("ahash", False), ("whash", False)):
        method = PerceptualHash(kind, 8, max(thresholds), invariant)
        names, feats, secs = our_features(method)
        pairs = method.find_pairs(feats)
        for t in thresholds:
            sel = pairs.score <= t
            found = {frozenset((names[a], names[b])) for a, b in zip(pairs.i[sel], pairs.j[sel])}
            rows.append({"method": method.key, "threshold": t, "encode_s": secs,
                         **score_pairs(found, true_pairs), "kinds": per_kind_recall(found, truth)})
    return rows


IMAGEDEDUP_SCRIPT = """
import json, sys, time
from imagededup.methods import PHash
t0 = time.perf_counter()
dups = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1], max_distance_threshold=10)
print(json.dumps({"seconds": time.perf_counter() - t0, "dups": dups}))
"""


def run_imagededup(python: str, truth: dict) -> dict | None:
    if not Path(python).exists():
        return None
    t0 = time.perf_counter()
    proc = subprocess.run([python, "-c", IMAGEDEDUP_SCRIPT, str(EVAL / "images")],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print("imagededup failed:", proc.stderr[-500:])
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    found = {frozenset((a, b)) for a, bs in out["dups"].items() for b in bs}
    return {"method": "imagededup PHash", "threshold": 10, "wall_s": wall,
            **score_pairs(found, pairs_from_groups(truth["groups"])),
            "kinds": per_kind_recall(found, truth)}


def run_ours_cli(extra: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dataset_forge", "--action", "dedup", "--input",
                    str(EVAL / "images"), "--cache", "off", "--output", str(EVAL / "cli-run"),
                    *extra], capture_output=True, check=True, cwd=REPO)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--originals", type=int, default=100)
    ap.add_argument("--distractors", type=int, default=500)
    ap.add_argument("--thresholds", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    ap.add_argument("--imagededup-python", default="/tmp/idd-venv/bin/python")
    args = ap.parse_args()
    truth = build(args.originals, args.distractors)
    n = len(list((EVAL / "images").iterdir()))
    print(f"labelled set: {n} images, {len(truth['groups'])} originals x {len(VARIANTS)} kinds "
          f"of copy, {args.distractors} distractors, {len(pairs_from_groups(truth['groups']))} "
          "true pairs")
    rows = evaluate_ours(truth, args.thresholds)
    idd = run_imagededup(args.imagededup_python, truth)
    if idd:
        rows.append(idd)
    kinds = list(VARIANTS)
    print(f"\n{'method':22} {'thr':>3} {'prec':>6} {'recall':>6} {'F1':>6}  " +
          " ".join(f"{k[:10]:>10}" for k in kinds))
    for r in rows:
        print(f"{r['method']:22} {r['threshold']:>3} {r['precision']:6.3f} {r['recall']:6.3f} "
              f"{r['f1']:6.3f}  " + " ".join(f"{r['kinds'].get(k, 0):10.2f}" for k in kinds))
    ours = run_ours_cli(["--method", "phash"])
    print(f"\nend to end, {n} images, 2 cores: dataset-forge dedup --method phash {ours:.1f} s", end="")
    if idd:
        print(f"; imagededup PHash {idd['wall_s']:.1f} s; ratio {idd['wall_s'] / ours:.2f}x")
    print("\nJSON " + json.dumps({"rows": rows, "ours_cli_s": ours}))


if __name__ == "__main__":
    main()
