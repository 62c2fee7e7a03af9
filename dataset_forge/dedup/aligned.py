"""The weight-free verifier: two images compared on aligned thumbnails.

    sig = signature(hashing_rgb(path, SOURCE_SIDE))   # grey + chroma thumbnail, uint8 array
    score = score_signatures(sig_a, sig_b)             # what confirms a candidate pair
    score, how = compare_views(View.of(sig_a), View.of(sig_b))   # ... and its alignment

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
grids and their detail (background removed) must agree.

A pair is confirmed when the best score reaches `DEFAULT_MIN_SCORE`, the aspect ratios agree
within `MAX_ASPECT` (a class diagram squeezed to the grid looks like any other), the means are
within `MAX_MEAN_SHIFT` grey levels (a light and a dark theme of one wallpaper correlate well
but are different pictures; correlation itself ignores brightness and contrast), and the
colours agree: where either picture has colour (`CHROMA_FLOOR`), the chroma of the two
aligned views, where neither grey grid is clipped, must point the same way (`MIN_CHROMA`, a
cosine over the chroma vectors: a brighter or more saturated copy agrees; a recoloured
design, a colour-mapped rendering or a grey copy of a colour picture does not; the grey
comparison alone cannot tell them apart).

Two distinct look-alikes share layout but not content, so their correlation stays low once
compared pixel by pixel; a resized, re-encoded, blurred, brightened or watermarked copy
correlates almost perfectly, and a cropped or slightly rotated one does once the search has
undone the crop or the turn.

Defaults are measured in benchmarks/bench_dedup_quality.py (docs/dedup.md).
"""
from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np
from PIL import Image, ImageFilter
from scipy.ndimage import gaussian_filter

from ..parallel import Outcome, WorkKind
from .appearance import hashing_rgb

SOURCE_SIDE = 192                 # side of the grey thumbnail
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
CLIP = (3.0, 252.0)               # grey levels at or beyond which a grid pixel is clipped
MAX_MEAN_SHIFT = 64.0             # grey levels
CHROMA_FLOOR = 4.0                # rms chroma (Cb/Cr levels) under which a picture counts as grey
MIN_CHROMA = 0.75                 # smallest cosine between the two aligned chroma fields
MAX_ASPECT = 1.08                 # ratio of the two aspect ratios (after undoing a turn)
BLUR = 1.0
VIEW_CACHE = 512                  # views kept per worker (pairs arrive sorted by first image)

T = Image.Transpose
DIHEDRAL = (None, T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_90, T.ROTATE_180,
            T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE)


def signature(rgb: Image.Image) -> np.ndarray:
    """What the verifier keeps of a decoded picture (`appearance.hashing_rgb` at SOURCE_SIDE:
    upright, transparency over grey; a larger picture is reduced first): an H x W x 3 uint8
    array of its grey picture and its two chroma planes (Cb, Cr), all slightly blurred
    against aliasing."""
    if max(rgb.size) > SOURCE_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((SOURCE_SIDE, SOURCE_SIDE), Image.Resampling.BILINEAR)
    rgb = rgb.convert("RGB")
    grey = rgb.convert("L").filter(ImageFilter.GaussianBlur(BLUR))
    _, cb, cr = rgb.filter(ImageFilter.GaussianBlur(BLUR)).convert("YCbCr").split()
    return np.dstack([np.asarray(grey), np.asarray(cb), np.asarray(cr)])


class View(NamedTuple):
    """A signature ready to compare."""
    grey: Image.Image     # "L": the grey picture
    colour: Image.Image   # "RGB"-mode container of (grey, Cb, Cr); only its chroma is compared

    @classmethod
    def of(cls, sig: np.ndarray) -> "View":
        """From `signature`'s array (a 2-D grey-only array counts as a picture without
        colour)."""
        if sig.ndim == 2:
            sig = np.dstack([sig, np.full_like(sig, 128), np.full_like(sig, 128)])
        return cls(Image.fromarray(np.ascontiguousarray(sig[..., 0])),
                   Image.fromarray(np.ascontiguousarray(sig), "RGB"))


def aspects_can_match(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether any symmetry `align` tries lines up two signatures' (width, height): False means
    the pair scores 0 ("aspect") without being compared, so callers may skip sending it."""
    limit = math.log(MAX_ASPECT)
    ra = a[0] / a[1]
    return any(abs(math.log(ra / (w / h))) <= limit for w, h in (b, (b[1], b[0])))


def score_signatures(a: np.ndarray, b: np.ndarray) -> float:
    """The verifier's score for two signatures (0 when the tones or colours cannot match)."""
    return compare_views(View.of(a), View.of(b))[0]


def aligned_view(path: str | Path) -> View:
    """The view of one file, decoded as the hash decodes it (transparency over grey)."""
    return View.of(signature(hashing_rgb(path, SOURCE_SIDE)))


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
    layout cannot carry the score; computed when first needed), plus its raw tones and where
    they are not clipped."""

    def __init__(self, grid: np.ndarray) -> None:
        inner = (_inner_slice(), _inner_slice())
        self.raw = grid[inner]
        self.unclipped = (self.raw > CLIP[0]) & (self.raw < CLIP[1])
        centred = grid - self.raw.mean()
        norm = float(np.sqrt((centred[inner] ** 2).sum()))
        self._unit = centred / norm if norm >= 1e-3 * self.raw.shape[0] else None
        self.plain = None if self._unit is None else self._unit[inner]

    @functools.cached_property
    def detail(self) -> np.ndarray | None:
        if self._unit is None:
            return None
        inner = (_inner_slice(), _inner_slice())
        return (self._unit - gaussian_filter(self._unit, DETAIL_SIGMA))[inner]


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


def similarity(a: Grid, b: Grid, floor: float = -math.inf) -> float:
    """Both the picture and its detail must agree. When the picture's agreement is no more
    than `floor` (the best score so far), it is returned as is: the detail could only lower it."""
    plain = _ncc(a.plain, b.plain, TRIM)
    if plain <= floor:
        return plain
    return min(plain, _detail_agreement(a, b, TRIM))


def tones_match(a: Grid, b: Grid) -> bool:
    """Whether b could be a tonal edit of a (brightness, contrast) rather than another theme:
    means within MAX_MEAN_SHIFT. (Contrast is not compared: brightening a light picture clips
    it and halves its contrast, and no look-alike pair of the benchmark needed it.)"""
    return abs(float(a.raw.mean()) - float(b.raw.mean())) <= MAX_MEAN_SHIFT


def _chroma(colour: Image.Image, scale: float, angle: float) -> np.ndarray:
    """(Cb, Cr) about neutral over the scored part of the grid, channels last."""
    inner = _inner_slice()
    return _sample(colour, scale, angle)[inner, inner, 1:] - 128.0


def colours_match(a: Image.Image, b: Image.Image, side: str, scale: float, angle: float,
                  unclipped: np.ndarray) -> bool:
    """Whether two aligned colour views (b already mirrored/turned) show one colouring: when
    either has colour (rms chroma at least CHROMA_FLOOR), the cosine between their chroma
    fields, where neither grey grid is clipped (clipping bleaches) and the TRIM most different
    blocks left out, is at least MIN_CHROMA. Scaling chroma (brightness, saturation) keeps it;
    a hue change, a colour map or a grey copy of a colour picture does not."""
    moving, fixed = (a, b) if side == "a" else (b, a)
    cm, cf = _chroma(moving, scale, angle), _chroma(fixed, 1.0, 0.0)
    if max(float((cm ** 2).sum()), float((cf ** 2).sum())) < CHROMA_FLOOR ** 2 * unclipped.size:
        return True                                   # two grey pictures: nothing to compare
    keep = unclipped[..., None]
    cm, cf = cm * keep, cf * keep
    em, ef = float((cm ** 2).sum()), float((cf ** 2).sum())
    um, uf = cm / math.sqrt(max(em, 1e-6)), cf / math.sqrt(max(ef, 1e-6))
    return 1.0 - _trimmed(((um - uf) ** 2).sum(axis=2), TRIM) / 2.0 >= MIN_CHROMA


def align(a: View, b: View) -> tuple[float, tuple, tuple[Grid, Grid]] | None:
    """The best alignment of b onto a: (grey similarity, (symmetry index, cropped side,
    scale, angle), the two aligned grids); None when no symmetry keeps the aspect ratio."""
    plain_a = Grid(_sample(a.grey, 1.0, 0.0))
    best_sym, best = None, -2.0
    for sym in DIHEDRAL:      # which mirror/turn of b lines up with a: by the smooth picture,
        turned = b.grey if sym is None else b.grey.transpose(sym)          # crop-tolerant
        if abs(math.log((a.grey.width / a.grey.height) / (turned.width / turned.height))) > \
                math.log(MAX_ASPECT):
            continue                          # resizing, centre crops and turns keep it
        score = _ncc(plain_a.plain, Grid(_sample(turned, 1.0, 0.0)).plain)
        if score > best:
            best_sym, best = sym, score
    if best == -2.0:
        return None
    b_grey = b.grey if best_sym is None else b.grey.transpose(best_sym)
    plain_b = Grid(_sample(b_grey, 1.0, 0.0))
    best = similarity(plain_a, plain_b)
    how, pair = (DIHEDRAL.index(best_sym), "a", 1.0, 0.0), (plain_a, plain_b)
    if best < EARLY_ACCEPT:                   # not a resized, re-encoded, mirrored copy
        best, how, pair = _search(a.grey, b_grey, plain_a, plain_b, best, how, pair)
    return best, how, pair


def compare_views(a: View, b: View) -> tuple[float, str]:
    """(best score, "symmetry/cropped side and scale/angle") between two signatures; 0 when
    the best alignment's tones or colours cannot be one picture's."""
    found = align(a, b)
    if found is None:
        return 0.0, "aspect"
    best, how, pair = found
    turned = b.colour.transpose(DIHEDRAL[how[0]]) if how[0] else b.colour
    unclipped = pair[0].unclipped & pair[1].unclipped
    if not (tones_match(*pair) and colours_match(a.colour, turned, *how[1:], unclipped)):
        best = 0.0
    return best, f"{how[0]}/{how[1]}{how[2]:g}/{how[3]:g}"


def _search(a: Image.Image, b: Image.Image, plain_a: Grid, plain_b: Grid, best: float,
            how: tuple, pair: tuple) -> tuple[float, tuple, tuple]:
    """The best crop and turn: a coarse grid of them, then a finer step around the best."""
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
                score = similarity(grid, fixed, best)
                if score > best:
                    best, how, pair = score, (how[0], side, scale, angle), (grid, fixed)
    if how[2] != 1.0 or how[3] != 0.0:      # refine around the best crop and turn
        side, scale, angle = how[1], how[2], how[3]
        moving, fixed = (a, plain_b) if side == "a" else (b, plain_a)
        for ds, da in REFINE:
            if scale + ds > 1.0:
                continue
            grid = Grid(_sample(moving, scale + ds, angle + da))
            score = similarity(grid, fixed, best)
            if score > best:
                best, how, pair = score, (how[0], side, scale + ds, angle + da), (grid, fixed)
    return best, how, pair


@functools.lru_cache(maxsize=VIEW_CACHE)
def _cached_view(path: str, size: int, mtime_ns: int) -> View:
    return aligned_view(path)


def _view(path: str | Path) -> View:
    st = os.stat(path)
    return _cached_view(str(path), st.st_size, st.st_mtime_ns)


def score_pair(pair: tuple[str | Path, str | Path]) -> float:
    """Worker: the verifier's score for one pair (0 when the tones or colours cannot match)."""
    return compare_views(*(_view(p) for p in pair))[0]


class AlignedVerifier:
    """Confirms candidate pairs on aligned thumbnails; needs no model weights."""
    name = "aligned"
    metric = "aligned correlation"
    higher_is_closer = True
    #: cache tag of its scores: every setting that changes a score
    key = (f"aligned:{SOURCE_SIDE}:{GRID}:{INNER}:{BLUR}:{SCALES}:{ANGLES}:{TRIM}:{DETAIL_SIGMA}:"
           f"{MIN_DETAIL}:{MAX_ASPECT}:{MAX_MEAN_SHIFT}:clip{CLIP}:chroma{CHROMA_FLOOR}:"
           f"{MIN_CHROMA}")

    def __init__(self, min_score: float | None = None) -> None:
        self.min_score = DEFAULT_MIN_SCORE if min_score is None else float(min_score)

    def accepts(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.min_score

    def score(self, ctx: Any, pairs: list[tuple]) -> Iterator[Outcome]:
        """One score per (path_a, path_b), in input order."""
        return ctx.map(score_pair, pairs, kind=WorkKind.CPU, label="verifying pairs",
                       unit="candidate pairs")
