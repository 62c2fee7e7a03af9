"""Pairing HQ and LQ files whose names differ: fuzzy stems, then the pictures themselves.

    name_matches(hq_keys, lq_keys, min_ratio=0.8)      # [(hq_key, lq_key, score)]
    image_matches(ctx, hq_paths, lq_paths, min_corr=0.9)  # [(hq_index, lq_index, score)]

Names are compared after dropping what LQ tools add (`_x4`, `lr`, `_lq`, `bicubic`, ...) and
separators; equal normalised names match first, then the closest by difflib's ratio. Pictures
are compared as 16x16 grey thumbnails (zero mean, unit length): the normalised correlation, one
to one by the assignment that maximises the total (Hungarian method).
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..analysis.loading import small_rgb

MAX_FUZZY = 3000           # unmatched files per side compared name by name
MAX_IMAGES = 3000          # unmatched files per side compared picture by picture
THUMB = 16
_NOISE = re.compile(r"(?<![a-z0-9])(x[1-8]|[1-8]x|lr|hr|lq|hq|low|high|bicubic|bic|down|"
                    r"downscaled|up|small|large|sr|gt)(?![a-z0-9])")
_SEPARATORS = re.compile(r"[\s_\-.]+")


def normalise(key: str) -> str:
    """'sub/IMG_0001_x4' -> 'sub/img0001': lower case, LQ tags and separators dropped."""
    folder, _, stem = key.lower().rpartition("/")
    stem = _SEPARATORS.sub("", _NOISE.sub("", _SEPARATORS.sub(" ", stem)))
    return f"{folder}/{stem}" if folder else stem


def name_matches(hq_keys: Sequence[str], lq_keys: Sequence[str], min_ratio: float
                 ) -> list[tuple[str, str, float]]:
    """One-to-one matches between keys, best first: equal normalised names (score 1), then
    difflib ratios of at least `min_ratio` (up to MAX_FUZZY keys a side)."""
    by_norm: dict[str, list[str]] = {}
    for key in lq_keys:
        by_norm.setdefault(normalise(key), []).append(key)
    matches, used_lq = [], set()
    rest_hq = []
    for key in hq_keys:
        candidates = [k for k in by_norm.get(normalise(key), []) if k not in used_lq]
        if candidates:
            matches.append((key, candidates[0], 1.0))
            used_lq.add(candidates[0])
        else:
            rest_hq.append(key)
    rest_lq = [k for k in lq_keys if k not in used_lq]
    if not rest_hq or not rest_lq or len(rest_hq) > MAX_FUZZY or len(rest_lq) > MAX_FUZZY:
        return matches
    norm_lq = [normalise(k) for k in rest_lq]
    scored = []
    for key in rest_hq:
        matcher = difflib.SequenceMatcher(None, normalise(key))
        for k, other in enumerate(norm_lq):
            matcher.set_seq2(other)
            if matcher.quick_ratio() >= min_ratio:
                ratio = matcher.ratio()
                if ratio >= min_ratio:
                    scored.append((ratio, key, rest_lq[k]))
    taken_hq: set[str] = set()
    for ratio, hq, lq in sorted(scored, key=lambda t: (-t[0], t[1], t[2])):
        if hq not in taken_hq and lq not in used_lq:
            matches.append((hq, lq, round(ratio, 3)))
            taken_hq.add(hq)
            used_lq.add(lq)
    return matches


def thumb_vector(path: Path) -> np.ndarray:
    """A 16x16 grey thumbnail as a zero-mean, unit-length vector (worker function)."""
    im = small_rgb(path, 64).convert("L").resize((THUMB, THUMB), Image.Resampling.BOX)
    v = np.asarray(im, dtype=np.float64).ravel()
    v -= v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def image_matches(ctx: Any, hq_paths: Sequence[Path], lq_paths: Sequence[Path],
                  min_corr: float) -> list[tuple[int, int, float]]:
    """One-to-one matches by picture (indices into the two lists), best total correlation."""
    if not hq_paths or not lq_paths or len(hq_paths) > MAX_IMAGES or len(lq_paths) > MAX_IMAGES:
        return []
    from scipy.optimize import linear_sum_assignment
    vectors = [o.value if o.ok else None for o in
               ctx.map(thumb_vector, [*hq_paths, *lq_paths], label="matching thumbnails")]
    zero = np.zeros(THUMB * THUMB)
    a = np.stack([v if v is not None else zero for v in vectors[:len(hq_paths)]])
    b = np.stack([v if v is not None else zero for v in vectors[len(hq_paths):]])
    corr = a @ b.T
    rows, cols = linear_sum_assignment(-corr)
    return [(int(r), int(c), round(float(corr[r, c]), 3)) for r, c in zip(rows, cols)
            if corr[r, c] >= min_corr]
