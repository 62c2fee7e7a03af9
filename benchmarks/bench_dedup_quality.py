"""Duplicate-finding quality on a labelled set of real pictures with hard negatives, groups as
the dedup action produces them (keeper-centred), side by side with imagededup's PHash.

    .venv/bin/python benchmarks/bench_dedup_quality.py [--originals 120] [--no-imagededup]

Builds (once) /tmp/dedup-eval2 from /tmp/real-images (../shared/data/real-images.sh):
- sources are de-duplicated first (the folder ships some wallpapers twice, and near-constant
  pictures): a source whose 32 x 32 grey thumbnail is within 3 grey levels (mean absolute
  difference) of an earlier one with the same aspect, or whose thumbnail is flat, is left out;
- originals: a seeded sample, a third of them from the hard-negative families (OpenCV
  calibration shots left/right NN, stereo pairs, light/dark wallpaper pairs, class diagrams,
  documentation screenshots), each saved at <= 768 px with 11 kinds of copy (KINDS);
- every other source is a distractor: the rest of each family stays in as a hard negative.

Scores pairwise precision, recall and F1 over the pairs inside produced groups, recall per
kind of copy, for each configuration: hash codes (invariance, crops), hash threshold, and
verification (none, or the aligned verifier at several bounds). Candidates are searched once
at the widest threshold and verified once (the scores are kept in
EVAL/verify_scores-<hash of the verifier's settings>.json, so a rerun with an unchanged verifier
verifies nothing); each configuration then filters and groups them with the engine's own
`keeper_groups`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_forge.dedup.copies import crop_area, watermark  # noqa: E402
from dataset_forge.dedup.evaluate import pairs_from_groups, score_pairs  # noqa: E402

SOURCE = Path("/tmp/real-images")
EVAL = Path("/tmp/dedup-eval2")
SIDE = 768
HARD = re.compile(r"(left\d\d|right\d\d|[A-Za-z]+[LR]\.(jpg|png)$|-[dl]\.\w+$|classcv|_html_)")


def _watermark(im: Image.Image) -> Image.Image:
    return watermark(im, "(c) dataset forge 2024", text_y=0.87)


KINDS = {   # kind -> (function, extension, save options); None = byte copy
    "exact": (None, "", {}),
    "resize_50": (lambda im: im.resize((im.width // 2, im.height // 2),
                                       Image.Resampling.LANCZOS), ".jpg", {"quality": 95}),
    "reencode_q30": (lambda im: im, ".jpg", {"quality": 30}),
    "format_webp": (lambda im: im, ".webp", {"quality": 80}),
    "format_png": (lambda im: im, ".png", {}),
    "blur": (lambda im: im.filter(ImageFilter.GaussianBlur(2)), ".jpg", {"quality": 95}),
    "bright_130": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), ".jpg", {"quality": 95}),
    "watermark": (_watermark, ".jpg", {"quality": 95}),
    "mirror": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ".jpg", {"quality": 95}),
    "crop_90": (lambda im: crop_area(im, 0.9), ".jpg", {"quality": 95}),
    "rotate_3": (lambda im: im.rotate(3, Image.Resampling.BICUBIC), ".jpg", {"quality": 95}),
}


def _load(path: Path) -> Image.Image | None:
    try:
        im = Image.open(path)
        im.draft("RGB", (SIDE, SIDE))
        return im.convert("RGB")
    except Exception:  # noqa: BLE001 - unreadable sources are skipped
        return None


def clean_sources() -> list[Path]:
    """Sources without near-identical twins or flat pictures (see the module docstring)."""
    kept, thumbs = [], []
    for path in sorted(p for p in SOURCE.iterdir() if p.is_file() and p.suffix != ".csv"):
        im = _load(path)
        if im is None:
            continue
        t = np.asarray(im.convert("L").resize((32, 32), Image.Resampling.BILINEAR), np.float32)
        if t.std() < 4:
            continue
        aspect = im.width / im.height
        if any(abs(aspect / a - 1) < 0.02 and np.abs(t - u).mean() < 3 for u, a in thumbs):
            continue
        kept.append(path)
        thumbs.append((t, aspect))
    return kept


def build(originals: int) -> dict:
    truth_file = EVAL / "truth.json"
    if truth_file.exists():
        truth = json.loads(truth_file.read_text())
        if truth["originals"] == originals:
            return truth
        shutil.rmtree(EVAL)
    sources = clean_sources()
    rng = np.random.default_rng(11)
    hard = [p for p in sources if HARD.search(p.name)]
    easy = [p for p in sources if not HARD.search(p.name)]
    n_hard = originals // 3
    picked = set(rng.choice(len(hard), n_hard, replace=False).tolist())
    chosen = [hard[k] for k in sorted(picked)] + \
        [easy[k] for k in sorted(rng.choice(len(easy), originals - n_hard, replace=False))]
    images = EVAL / "images"
    images.mkdir(parents=True)
    groups, kinds, hard_names = [], {}, []
    for n, path in enumerate(sources):
        im = _load(path)
        im.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
        stem = f"s{n:04d}"
        original = images / f"{stem}.jpg"
        im.save(original, quality=95)
        if HARD.search(path.name):
            hard_names.append(original.name)
        if path not in chosen:
            continue
        group = [original.name]
        for kind, (fn, ext, opts) in KINDS.items():
            target = images / f"{stem}_{kind}{ext or '.jpg'}"
            if fn is None:
                shutil.copy(original, target)
            else:
                fn(Image.open(original).convert("RGB")).save(target, **opts)
            group.append(target.name)
            kinds[target.name] = kind
        groups.append(group)
    truth = {"originals": originals, "groups": groups, "kinds": kinds, "hard": hard_names,
             "sources": len(sources)}
    truth_file.write_text(json.dumps(truth))
    return truth


def per_kind_recall(found: set, truth: dict) -> dict[str, float]:
    hits: dict[str, list[bool]] = {}
    for group in truth["groups"]:
        for variant in group[1:]:
            hits.setdefault(truth["kinds"][variant], []).append(
                frozenset((group[0], variant)) in found)
    return {k: float(np.mean(v)) for k, v in hits.items()}


def candidates(invariant: bool, crops: bool, widest: int) -> dict:
    """Candidate pairs at the widest threshold, each with its aligned-verifier score."""
    from dataset_forge.context import RunContext
    from dataset_forge.dedup.aligned import AlignedVerifier
    from dataset_forge.dedup.cache import FeatureCache
    from dataset_forge.dedup.catalog import build_catalog, member_facts
    from dataset_forge.dedup.features import encode_all
    from dataset_forge.dedup.perceptual import PerceptualHash
    from dataset_forge.parallel import ParallelConfig
    catalog = build_catalog(input=EVAL / "images")
    ctx = RunContext(ParallelConfig(), EVAL / "ctx")
    method = PerceptualHash("phash", 8, widest, invariant, crops)
    t0 = time.perf_counter()
    with FeatureCache(EVAL / "cache.sqlite") as cache:
        enc = encode_all(method, ctx, catalog.paths, cache)
    found = method.find_pairs(enc.features)
    i, j = enc.rows[found.i], enc.rows[found.j]
    t1 = time.perf_counter()
    tag = hashlib.sha1(AlignedVerifier.key.encode()).hexdigest()[:12]
    memo_file = EVAL / f"verify_scores-{tag}.json"   # this verifier's scores survive reruns
    memo = json.loads(memo_file.read_text()) if memo_file.exists() else {}
    keys = [f"{catalog.shown[a]}|{catalog.shown[b]}" for a, b in zip(i, j)]
    todo = [n for n, k in enumerate(keys) if k not in memo]
    items = [(catalog.paths[i[n]], catalog.paths[j[n]]) for n in todo]
    for outcome in AlignedVerifier().score(ctx, items):
        memo[keys[todo[outcome.index]]] = outcome.value if outcome.ok else 0.0
    memo_file.write_text(json.dumps(memo))
    scores = np.array([memo[k] for k in keys], np.float32)
    t2 = time.perf_counter()
    facts = {r: member_facts(catalog.paths[r]) for r in set(i.tolist()) | set(j.tolist())}
    return {"names": catalog.shown, "paths": catalog.paths, "i": i, "j": j, "dist": found.score,
            "verify": scores, "facts": facts, "search_s": t1 - t0, "verify_s": t2 - t1,
            "memo": {}}


def evaluate(c: dict, threshold: int, min_verify: float | None, truth: dict) -> dict:
    from dataset_forge.dedup.aligned import score_pair
    from dataset_forge.dedup.groups import absorb, keeper_groups
    from dataset_forge.dedup.index import Pairs
    from dataset_forge.dedup.plan import PlanMember
    keep = c["dist"] <= threshold
    if min_verify is not None:
        keep &= c["verify"] >= min_verify
    pairs = Pairs(c["i"][keep], c["j"][keep], c["dist"][keep])
    members = {r: PlanMember(c["names"][r], "", f[0], f[1], f[2], f[3])
               for r, f in c["facts"].items()}
    stars, related = keeper_groups(pairs, members.__getitem__, "resolution")
    if min_verify is not None and len(related):       # as the action does (groups.absorb)
        def confirm(items):
            out = []
            for a, b in items:
                if (a, b) not in c["memo"]:
                    c["memo"][(a, b)] = score_pair((c["paths"][a], c["paths"][b]))
                out.append(c["memo"][(a, b)] if c["memo"][(a, b)] >= min_verify else None)
            return out
        stars = absorb(stars, pairs, related, confirm)
    groups = [[c["names"][r] for r in s.rows] for s in stars]
    found = pairs_from_groups(groups)
    true = pairs_from_groups(truth["groups"])
    hard = set(truth["hard"])
    wrong_hard = sum(1 for p in found - true if p & hard)
    return {**score_pairs(found, true), "kinds": per_kind_recall(found, truth),
            "largest": max((len(g) for g in groups), default=0), "false_hard": wrong_hard}


CODES = ((True, True), (True, False), (False, False))   # (invariant, crops), default first
IMAGEDEDUP_SCRIPT = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from dataset_forge.dedup.torch_compat import import_torchvision
import_torchvision()
from imagededup.methods import PHash
t0 = time.perf_counter()
dups = PHash(verbose=False).find_duplicates(image_dir=sys.argv[1], max_distance_threshold=10)
print(json.dumps({"seconds": time.perf_counter() - t0, "dups": dups}))
"""


def run_imagededup(truth: dict) -> dict | None:
    proc = subprocess.run([sys.executable, "-c", IMAGEDEDUP_SCRIPT, str(EVAL / "images"),
                           str(REPO)], capture_output=True, text=True)
    if proc.returncode != 0:
        print("imagededup failed:", proc.stderr[-300:])
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    found = {frozenset((a, b)) for a, bs in out["dups"].items() for b in bs}
    hard = set(truth["hard"])
    true = pairs_from_groups(truth["groups"])
    return {**score_pairs(found, true), "kinds": per_kind_recall(found, truth),
            "false_hard": sum(1 for p in found - true if p & hard), "largest": 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--originals", type=int, default=120)
    ap.add_argument("--thresholds", type=int, nargs="+", default=[6, 8, 10, 12, 14, 16])
    ap.add_argument("--verify-bounds", type=float, nargs="+", default=[0.80, 0.85, 0.88, 0.92])
    ap.add_argument("--no-imagededup", action="store_true")
    ap.add_argument("--codes", type=int, default=3, help="how many of CODES to evaluate")
    args = ap.parse_args()
    truth = build(args.originals)
    n = len(list((EVAL / "images").iterdir()))
    print(f"labelled set: {n} images from {truth['sources']} distinct sources; "
          f"{len(truth['groups'])} originals x {len(KINDS)} kinds of copy; "
          f"{len(truth['hard'])} hard-negative pictures; "
          f"{len(pairs_from_groups(truth['groups']))} true pairs")
    kinds = list(KINDS)
    rows = []

    def show(r: dict) -> None:
        print(f"{r['codes']:16} {r['threshold']:>3} {r['verify']:14} {r['precision']:6.3f} "
              f"{r['recall']:6.3f} {r['f1']:6.3f} {r['false_hard']:>6} {r['largest']:>4}  " +
              " ".join(f"{r['kinds'].get(k, 0):9.2f}" for k in kinds), flush=True)
    print(f"\n{'codes':16} {'thr':>3} {'verify':14} {'prec':>6} {'recall':>6} {'F1':>6} "
          f"{'hardFP':>6} {'big':>4}  " + " ".join(f"{k[:9]:>9}" for k in kinds))
    for invariant, crops in CODES[:args.codes]:
        c = candidates(invariant, crops, max(args.thresholds))
        print(f"codes invariant={invariant} crops={crops}: {len(c['i'])} candidates at "
              f"{max(args.thresholds)}; search {c['search_s']:.1f} s, verify {c['verify_s']:.1f} s")
        for t in args.thresholds:
            for bound in [None, *args.verify_bounds]:
                r = evaluate(c, t, bound, truth)
                rows.append({"codes": f"{'dihedral' if invariant else 'plain'}"
                                      f"{'+crop' if crops else ''}", "threshold": t,
                             "verify": "none" if bound is None else f"aligned>={bound}", **r})
                show(rows[-1])
    if not args.no_imagededup:
        idd = run_imagededup(truth)
        if idd:
            rows.append({"codes": "imagededup PHash", "threshold": 10, "verify": "-", **idd})
            show(rows[-1])
    print("\nJSON " + json.dumps(rows, default=float))


if __name__ == "__main__":
    main()
