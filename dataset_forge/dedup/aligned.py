"""The weight-free verifier: two images compared on aligned grey thumbnails.

    sig = signature(hashing_rgb(path, SOURCE_SIDE))   # from the decode the hash also uses
    score = score_signatures(sig_a, sig_b)             # what confirms a candidate pair
    view = aligned_view(path)                 # blurred grey array, at most SOURCE_SIDE px
    score, how = compare_views(view_a, view_b)  # best normalised correlation, and its alignment

`signature` and `score_signatures` are the contract with the data flow (`signatures.py`):
the action decodes each file once, keeps its signature in the feature cache and scores pairs
from there, so the verifier never decodes a file again.

A perceptual hash is 64 bits: two different star fields, two class diagrams or two calibration
shots of one chessboard can hash within a few bits. This tier looks at the pictures themselves.
It undoes the copy's mirror or 90-degree turn (the best of the eight symmetries), then searches
a small grid of centre crops (either image cropped, `SCALES`) and rotations (`ANGLES`), samples
both onto a GRID x GRID grid and scores the normalised correlation of the central part
(`INNER`, so rotated corners and crop edges do not count), leaving out the `TRIM` of 16 blocks
that differ most (a watermark or a caption covers a corner, not the picture). Both the plain
grids and their detail (background removed) must agree. A pair is
confirmed when the best score reaches `DEFAULT_MIN_SCORE`, the aspect ratios agree within
`MAX_ASPECT` (a class diagram squeezed to the grid looks like any other), and the two tones are
compatible:
means within `MAX_MEAN_SHIFT` grey levels and contrasts within a factor `MAX_CONTRAST` (a
light and a dark theme of one wallpaper correlate well but are different pictures). Two distinct look-alikes share layout but not content, so
their correlation stays low once compared pixel by pixel; a resized, re-encoded, blurred,
brightened or watermarked copy correlates almost perfectly, and a cropped or slightly rotated
one does once the search has undone the crop or the turn.

Defaults are measured in benchmarks/bench_dedup_quality.py (docs/dedup.md).
"""
from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, ImageFilter
from scipy.ndimage import gaussian_filter

from ..parallel import Outcome, WorkKind
from .appearance import hashing_rgb

SOURCE_SIDE = 192                 # decoded side the views keep
GRID = 64                         # side of the compared grid
INNER = 0.8                       # central fraction of the grid that is scored
SCALES = (1.0, 0.95, 0.9, 0.85)   # centre crops tried (side fraction), of either image
ANGLES = (0.0, -1.5, 1.5, -3.0, 3.0, -4.5, 4.5)   # rotations tried, degrees
REFINE = ((0.015, 0), (-0.015, 0), (0, 0.75), (0, -0.75), (0.015, 0.75), (0.015, -0.75),
          (-0.015, 0.75), (-0.015, -0.75))   # around the best of the coarse search
DEFAULT_MIN_SCORE = 0.92
EARLY_ACCEPT = 0.98               # aligned as they are this well: no crop or turn search
BLOCKS = 4                        # the scored part is cut into BLOCKS x BLOCKS blocks
TRIM = 2                          # blocks that differ most, left out of the score
DETAIL_SIGMA = 2.0                # grid pixels: what is smoother than this is background
MIN_DETAIL = 0.1                  # share of a picture's energy its detail is judged against
MAX_MEAN_SHIFT = 64.0             # grey levels
MAX_CONTRAST = 1.6                # ratio of the two standard deviations
MAX_ASPECT = 1.08                 # ratio of the two aspect ratios (after undoing a turn)
BLUR = 1.0
VIEW_CACHE = 512                  # views kept per worker (pairs arrive sorted by first image)

T = Image.Transpose
DIHEDRAL = (None, T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_90, T.ROTATE_180,
            T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE)


def signature(rgb: Image.Image) -> np.ndarray:
    """What the verifier keeps of a decoded picture (`appearance.hashing_rgb` at SOURCE_SIDE:
    upright, transparency over grey): grey, slightly blurred against aliasing, uint8."""
    return np.asarray(rgb.convert("L").filter(ImageFilter.GaussianBlur(BLUR)))


def score_signatures(a: np.ndarray, b: np.ndarray) -> float:
    """The verifier's score for two signatures (0 when the tones cannot match)."""
    return compare_views(Image.fromarray(a), Image.fromarray(b))[0]


def aligned_view(path: str | Path) -> Image.Image:
    """The grey picture the verifier compares: upright, transparency over grey, slightly
    blurred against aliasing, at most SOURCE_SIDE pixels on its long side."""
    return Image.fromarray(signature(hashing_rgb(path, SOURCE_SIDE)))


def _sample(view: Image.Image, scale: float, angle: float) -> np.ndarray:
    """The view's centre crop (side fraction `scale`), turned by `angle` degrees, on the grid."""
    w, h = view.size
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    sx, sy = scale * w / GRID, scale * h / GRID   # input pixels per grid step
    # grid point (x, y) -> input: centre + R(angle) @ (sx (x + .5 - G/2), sy (y + .5 - G/2))
    a, b = cos * sx, -sin * sy
    d, e = sin * sx, cos * sy
    ox = oy = 0.5 - GRID / 2
    c = w / 2 + a * ox + b * oy
    f = h / 2 + d * ox + e * oy
    out = view.transform((GRID, GRID), Image.Transform.AFFINE, (a, b, c, d, e, f),
                         Image.Resampling.BILINEAR)
    return np.asarray(out, np.float32)


@functools.lru_cache(maxsize=1)
def _inner_slice() -> slice:
    margin = int(round(GRID * (1 - INNER) / 2))
    return slice(margin, GRID - margin)


class Grid:
    """One sampled grid, ready to compare: its central part standardised (`plain`, unit norm)
    and the detail of that (`detail`: minus its Gaussian blur, so a shared glow, gradient or
    layout cannot carry the score), plus its raw tones."""

    def __init__(self, grid: np.ndarray) -> None:
        inner = (_inner_slice(), _inner_slice())
        self.raw = grid[inner]
        centred = grid - self.raw.mean()
        norm = float(np.sqrt((centred[inner] ** 2).sum()))
        if norm < 1e-3 * self.raw.shape[0]:
            self.plain = self.detail = None
            return
        unit = centred / norm
        self.plain = unit[inner]
        self.detail = (unit - gaussian_filter(unit, DETAIL_SIGMA))[inner]


def _trimmed(diff: np.ndarray, trim: int) -> float:
    """Sum of squared differences, leaving out the `trim` blocks (of BLOCKS x BLOCKS) where it
    is largest: a watermark or caption sits in a corner; different pictures differ everywhere."""
    if not trim:
        return float(diff.sum())
    n = diff.shape[0] // BLOCKS
    blocks = diff[:n * BLOCKS, :n * BLOCKS].reshape(BLOCKS, n, BLOCKS, n).sum(axis=(1, 3))
    return float(diff.sum() - np.sort(blocks.ravel())[-trim:].sum())


def _ncc(a: np.ndarray | None, b: np.ndarray | None, trim: int = 0) -> float:
    """Correlation of two unit grids (= 1 - |a - b|^2 / 2), `trim` blocks left out."""
    if a is None or b is None:
        return float(a is None and b is None)   # two flat grids agree; flat vs not does not
    return 1.0 - _trimmed((a - b) ** 2, trim) / 2.0


def _detail_agreement(a: Grid, b: Grid, trim: int) -> float:
    """1 - the detail's difference relative to the detail's energy, where detail carries at
    least `MIN_DETAIL` of the picture's energy; for a smooth picture relative to that floor, so
    a caption on a plain wallpaper weighs what it covers, not everything."""
    if a.detail is None or b.detail is None:
        return float(a.detail is None and b.detail is None)
    energy = max(float((a.detail ** 2).sum()), MIN_DETAIL) + \
        max(float((b.detail ** 2).sum()), MIN_DETAIL)
    return 1.0 - _trimmed((a.detail - b.detail) ** 2, trim) / energy


def similarity(a: Grid, b: Grid) -> float:
    """Both the picture and its detail must agree."""
    return min(_ncc(a.plain, b.plain, TRIM), _detail_agreement(a, b, TRIM))


def tones_match(a: Grid, b: Grid) -> bool:
    """Whether b could be a tonal edit of a (brightness, contrast) rather than another theme."""
    sa, sb = float(a.raw.std()) + 1.0, float(b.raw.std()) + 1.0
    return abs(float(a.raw.mean()) - float(b.raw.mean())) <= MAX_MEAN_SHIFT and \
        max(sa / sb, sb / sa) <= MAX_CONTRAST


def compare_views(a: Image.Image, b: Image.Image) -> tuple[float, str]:
    """(best score, "symmetry/cropped side and scale/angle") between two views; 0 when the
    best alignment's tones cannot be one picture's."""
    plain_a = Grid(_sample(a, 1.0, 0.0))
    best_sym, best = None, -2.0
    for sym in DIHEDRAL:      # which mirror/turn of b lines up with a: by the smooth picture,
        turned = b if sym is None else b.transpose(sym)                  # crop-tolerant
        if abs(math.log((a.width / a.height) / (turned.width / turned.height))) > \
                math.log(MAX_ASPECT):
            continue                          # resizing, centre crops and turns keep it
        score = _ncc(plain_a.plain, Grid(_sample(turned, 1.0, 0.0)).plain)
        if score > best:
            best_sym, best = sym, score
    if best == -2.0:
        return 0.0, "aspect"
    b = b if best_sym is None else b.transpose(best_sym)
    plain_b = Grid(_sample(b, 1.0, 0.0))
    best = similarity(plain_a, plain_b)
    how, pair = (DIHEDRAL.index(best_sym), "a", 1.0, 0.0), (plain_a, plain_b)
    if best >= EARLY_ACCEPT:                  # a resized, re-encoded, mirrored copy: done
        return (best if tones_match(*pair) else 0.0), f"{how[0]}/a1/0"
    for scale in SCALES:
        # a cropped or turned to match b, and b cropped to match a (at full size a turn of b is
        # the opposite turn of a, already tried)
        for side, moving, fixed in (("a", a, plain_b), ("b", b, plain_a)):
            if side == "b" and scale == 1.0:
                continue
            for angle in ANGLES:
                if scale == 1.0 and angle == 0.0:
                    continue
                grid = Grid(_sample(moving, scale, angle))
                score = similarity(grid, fixed)
                if score > best:
                    best, how, pair = score, (how[0], side, scale, angle), (grid, fixed)
    if how[2] != 1.0 or how[3] != 0.0:      # refine around the best crop and turn
        side, scale, angle = how[1], how[2], how[3]
        moving, fixed = (a, plain_b) if side == "a" else (b, plain_a)
        for ds, da in REFINE:
            if scale + ds > 1.0:
                continue
            grid = Grid(_sample(moving, scale + ds, angle + da))
            score = similarity(grid, fixed)
            if score > best:
                best, how, pair = score, (how[0], side, scale + ds, angle + da), (grid, fixed)
    if not tones_match(*pair):
        best = 0.0
    return best, f"{how[0]}/{how[1]}{how[2]:g}/{how[3]:g}"


@functools.lru_cache(maxsize=VIEW_CACHE)
def _cached_view(path: str, size: int, mtime_ns: int) -> Image.Image:
    return aligned_view(path)


def _view(path: str | Path) -> Image.Image:
    st = os.stat(path)
    return _cached_view(str(path), st.st_size, st.st_mtime_ns)


def score_pair(pair: tuple[str | Path, str | Path]) -> float:
    """Worker: the verifier's score for one pair (0 when the tones cannot match)."""
    return compare_views(*(_view(p) for p in pair))[0]


class AlignedVerifier:
    """Confirms candidate pairs on aligned grey thumbnails; needs no model weights."""
    name = "aligned"
    metric = "aligned correlation"
    higher_is_closer = True
    #: cache tag of its scores: every setting that changes a score
    key = (f"aligned:{SOURCE_SIDE}:{GRID}:{INNER}:{BLUR}:{SCALES}:{ANGLES}:{TRIM}:{DETAIL_SIGMA}:"
           f"{MIN_DETAIL}:{MAX_ASPECT}:{MAX_MEAN_SHIFT}:{MAX_CONTRAST}")

    def __init__(self, min_score: float | None = None) -> None:
        self.min_score = DEFAULT_MIN_SCORE if min_score is None else float(min_score)

    def accepts(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.min_score

    def score(self, ctx: Any, pairs: list[tuple]) -> Iterator[Outcome]:
        """One score per (path_a, path_b), in input order."""
        return ctx.map(score_pair, pairs, kind=WorkKind.CPU, label="verifying pairs",
                       unit="candidate pairs")
