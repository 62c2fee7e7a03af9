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
grids and their detail (background removed) must agree (`grids.py`).

The search is exhaustive in effect, not in work: every symmetry, crop and turn is first scored
on approximate grids, all at once (`grids.Stack`, within `grids.EPS` of the exact score), and
only those that can still be the best are sampled and scored exactly, in the exhaustive order
(`_best_of`). A pair's score is therefore the exhaustive search's whenever it is at least
`EXACT_FROM` (0.5, far under any bound that confirms a pair); under it the pair is no duplicate
at any sensible bound, so the search stops early and the tone and colour checks are skipped:
the score is then a real alignment's, possibly under the exhaustive one. What a view needs
across pairs (its turned pictures, whole grids, the search's grids) is kept per worker, as
pairs arrive sorted by their first file.

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

import collections
import functools
import math
import os
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, ImageFilter

from ..parallel import Outcome, WorkKind
from .appearance import hashing_rgb
from .grids import (CLIP, DETAIL_SIGMA, EPS, GRID, INNER, MIN_DETAIL, TRIM, Grid, Stack,
                    _inner_slice, _trimmed, approx_samples, approx_similarities, ncc, sample,
                    similarity)

SOURCE_SIDE = 192                 # side of the grey thumbnail
SCALES = (1.0, 0.95, 0.9, 0.85)   # centre crops tried (side fraction), of either image
ANGLES = (0.0, -1.5, 1.5, -3.0, 3.0, -4.5, 4.5)   # rotations tried, degrees
REFINE = ((0.015, 0), (-0.015, 0), (0, 0.75), (0, -0.75), (0.015, 0.75), (0.015, -0.75),
          (-0.015, 0.75), (-0.015, -0.75))   # around the best of the coarse search
DEFAULT_MIN_SCORE = 0.92
EARLY_ACCEPT = 0.98               # aligned as they are this well: no crop or turn search
EXACT_FROM = 0.5                  # below this the search is not exhaustive (see `_best_of`)
MAX_MEAN_SHIFT = 64.0             # grey levels
CHROMA_FLOOR = 4.0                # rms chroma (Cb/Cr levels) under which a picture counts as grey
MIN_CHROMA = 0.75                 # smallest cosine between the two aligned chroma fields
MAX_ASPECT = 1.08                 # ratio of the two aspect ratios (after undoing a turn)
BLUR = 1.0
VIEW_CACHE = 256                  # views of files kept per worker (each with its grids: ~0.3 MB)
SIGNATURE_VIEWS = 32              # views of signatures kept per worker (the same, by identity)
STACKS = 24                       # approximate search grids kept per worker

T = Image.Transpose
DIHEDRAL = (None, T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_90, T.ROTATE_180,
            T.ROTATE_270, T.TRANSPOSE, T.TRANSVERSE)
UPRIGHT = (0, 1, 2, 4)            # the symmetries that keep width and height
#: the coarse search's crops and turns of either image, in the order they are tried: a turn of
#: b at full size is the opposite turn of a, already tried
MOVES = {"a": tuple((s, t) for s in SCALES for t in ANGLES if (s, t) != (1.0, 0.0)),
         "b": tuple((s, t) for s in SCALES if s != 1.0 for t in ANGLES)}
COARSE = tuple((side, s, t) for s in SCALES for side in "ab" for t in ANGLES
               if (s, t) != (1.0, 0.0) and not (side == "b" and s == 1.0))


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


class View:
    """A signature ready to compare, keeping what comparisons of it need: its mirrored and
    turned versions (`DIHEDRAL` index) and their plain grids."""

    def __init__(self, grey: Image.Image, colour: Image.Image) -> None:
        self.grey = grey        # "L": the grey picture
        self.colour = colour    # "RGB"-mode container of (grey, Cb, Cr); its chroma is compared
        self.array = np.asarray(grey, np.float32)
        self._turned: dict[int, Image.Image] = {}
        self._plain: dict[int, Grid] = {}
        self._chroma: dict[int, np.ndarray] = {}
        self._whole: dict[int, np.ndarray] = {}

    @classmethod
    def of(cls, sig: np.ndarray) -> "View":
        """From `signature`'s array (a 2-D grey-only array counts as a picture without
        colour)."""
        if sig.ndim == 2:
            sig = np.dstack([sig, np.full_like(sig, 128), np.full_like(sig, 128)])
        return cls(Image.fromarray(np.ascontiguousarray(sig[..., 0])),
                   Image.fromarray(np.ascontiguousarray(sig), "RGB"))

    def turned(self, sym: int) -> Image.Image:
        if sym not in self._turned:
            self._turned[sym] = self.grey if sym == 0 else self.grey.transpose(DIHEDRAL[sym])
        return self._turned[sym]

    def plain(self, sym: int) -> Grid:
        """The grid of the whole (turned) picture."""
        if sym not in self._plain:
            self._plain[sym] = Grid(sample(self.turned(sym), 1.0, 0.0))
        return self._plain[sym]

    def approx_plain(self, syms: list[int]) -> np.ndarray:
        """Approximate grids of the whole picture turned each way of `syms`."""
        for k in syms:
            if k not in self._whole:
                self._whole[k] = approx_samples(self.array, ((1.0, 0.0),), DIHEDRAL[k])[0]
        return np.stack([self._whole[k] for k in syms])

    def turned_colour(self, sym: int) -> Image.Image:
        return self.colour if sym == 0 else self.colour.transpose(DIHEDRAL[sym])

    def chroma(self, sym: int) -> np.ndarray:
        """`_chroma` of the whole (turned) picture."""
        if sym not in self._chroma:
            self._chroma[sym] = _chroma(self.turned_colour(sym), 1.0, 0.0)
        return self._chroma[sym]


class _Recent:
    """The values last made for some objects, keyed by the objects' identity (an entry holds
    its object, so the key stays its own); safe for a thread pool's workers to share."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, obj: Any, extra: Any, make) -> Any:
        key = (id(obj), extra)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is obj:
                self._items.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._items[key] = (obj, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


_stacks = _Recent(STACKS)


def _stack(view: View, sym: int, moves: tuple) -> Stack:
    """The approximate grids of a (turned) view's crops and turns, kept for the next pairs."""
    return _stacks.get(view, (sym, moves),
                       lambda: Stack(approx_samples(view.array, moves, DIHEDRAL[sym])))


def aspects_can_match(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether any symmetry `align` tries lines up two signatures' (width, height): False means
    the pair scores 0 ("aspect") without being compared, so callers may skip sending it."""
    limit = math.log(MAX_ASPECT)
    ra = a[0] / a[1]
    return any(abs(math.log(ra / (w / h))) <= limit for w, h in (b, (b[1], b[0])))


_views = _Recent(SIGNATURE_VIEWS)


def _view_of(sig: np.ndarray) -> View:
    """View.of, remembered for the signatures seen last (pairs arrive sorted by their first
    file, whose unpacked signature is the same array from pair to pair)."""
    return _views.get(sig, None, lambda: View.of(sig))


def score_signatures(a: np.ndarray, b: np.ndarray) -> float:
    """The verifier's score for two signatures (0 when the tones or colours cannot match)."""
    return compare_views(_view_of(a), _view_of(b))[0]


def aligned_view(path: str | Path) -> View:
    """The view of one file, decoded as the hash decodes it (transparency over grey)."""
    return View.of(signature(hashing_rgb(path, SOURCE_SIDE)))


def tones_match(a: Grid, b: Grid) -> bool:
    """Whether b could be a tonal edit of a (brightness, contrast) rather than another theme:
    means within MAX_MEAN_SHIFT. (Contrast is not compared: brightening a light picture clips
    it and halves its contrast, and no look-alike pair of the benchmark needed it.)"""
    return abs(float(a.raw.mean()) - float(b.raw.mean())) <= MAX_MEAN_SHIFT


def _chroma(colour: Image.Image, scale: float, angle: float) -> np.ndarray:
    """(Cb, Cr) about neutral over the scored part of the grid, channels last."""
    inner = _inner_slice()
    return sample(colour, scale, angle)[inner, inner, 1:] - 128.0


def colours_match(a: View, b: View, how: tuple, unclipped: np.ndarray) -> bool:
    """Whether b, aligned onto a as `how` says, shows a's colouring: when either has colour
    (rms chroma at least CHROMA_FLOOR), the cosine between their chroma fields, where neither
    grey grid is clipped (clipping bleaches) and the TRIM most different blocks left out, is
    at least MIN_CHROMA. Scaling chroma (brightness, saturation) keeps it; a hue change, a
    colour map or a grey copy of a colour picture does not."""
    sym, side, scale, angle = how
    (moving, turn), (fixed, fixed_turn) = ((a, 0), (b, sym)) if side == "a" else \
        ((b, sym), (a, 0))
    cm = (moving.chroma(turn) if (scale, angle) == (1.0, 0.0) else
          _chroma(moving.turned_colour(turn), scale, angle))
    cf = fixed.chroma(fixed_turn)
    if max(float((cm ** 2).sum()), float((cf ** 2).sum())) < CHROMA_FLOOR ** 2 * unclipped.size:
        return True                                   # two grey pictures: nothing to compare
    keep = unclipped[..., None]
    cm, cf = cm * keep, cf * keep
    em, ef = float((cm ** 2).sum()), float((cf ** 2).sum())
    um, uf = cm / math.sqrt(max(em, 1e-6)), cf / math.sqrt(max(ef, 1e-6))
    return 1.0 - _trimmed(((um - uf) ** 2).sum(axis=2), TRIM) / 2.0 >= MIN_CHROMA


def _best_of(approx: np.ndarray, best: float, exact) -> tuple[float, int | None, Any]:
    """The exhaustive search's pick among candidates given their approximate scores (within
    EPS of the exact ones; -inf for those that cannot be the best) and the best exact score so
    far: every candidate that can beat it is scored exactly (`exact(k, floor)` -> (score,
    grids)), in the search's order, the first highest kept, so the result is the exhaustive
    one. Where none can reach EXACT_FROM only the approximately best is scored: the result is
    then a real alignment's exact score, possibly under the exhaustive one (still under
    EXACT_FROM)."""
    if not len(approx):
        return best, None, None
    top = max(best, float(approx.max()))
    if top < EXACT_FROM - 2 * EPS:
        todo = [int(np.argmax(approx))] if approx.max() > best else []
    else:
        todo = np.flatnonzero(approx >= top - 2 * EPS).tolist()
    chosen = grids = None
    for k in todo:
        score, found = exact(k, best)
        if score > best:
            best, chosen, grids = score, k, found
    return best, chosen, grids


def _floor(best: float) -> float:
    """Plain agreements at or under this cannot matter (`_best_of`): under the best score so
    far, or so far under EXACT_FROM that the pair is scored only approximately anyway."""
    return max(best, EXACT_FROM - 2 * EPS) - 2 * EPS


def _symmetry(a: View, b: View) -> int | None:
    """Which mirror/turn of b lines up with a, by the correlation of the smooth pictures
    (crop-tolerant): the first best (None when no symmetry keeps the aspect ratio)."""
    ra, rb = a.grey.width / a.grey.height, b.grey.width / b.grey.height
    allowed = [k for k in range(len(DIHEDRAL)) if abs(math.log(
        ra / (rb if k in UPRIGHT else 1 / rb))) <= math.log(MAX_ASPECT)]
    if not allowed:
        return None
    plain_a = a.plain(0)
    approx = Stack(b.approx_plain(allowed)).plain(plain_a, 0)
    top = float(approx.max())
    best_sym, best = None, -2.0
    for n in np.flatnonzero(approx >= top - 2 * EPS):
        score = ncc(plain_a.plain, b.plain(allowed[n]).plain)
        if score > best:
            best_sym, best = allowed[n], score
    return best_sym


def align(a: View, b: View) -> tuple[float, tuple, tuple[Grid, Grid]] | None:
    """The best alignment of b onto a: (grey similarity, (symmetry index, cropped side,
    scale, angle), the two aligned grids); None when no symmetry keeps the aspect ratio."""
    sym = _symmetry(a, b)
    if sym is None:
        return None
    plain_a, plain_b = a.plain(0), b.plain(sym)
    best = similarity(plain_a, plain_b)
    how, pair = (sym, "a", 1.0, 0.0), (plain_a, plain_b)
    if best < EARLY_ACCEPT:                   # not a resized, re-encoded, mirrored copy
        best, how, pair = _search(a, b, sym, best, how, pair)
    return best, how, pair


def compare_views(a: View, b: View) -> tuple[float, str]:
    """(best score, "symmetry/cropped side and scale/angle") between two signatures; 0 when
    the best alignment's tones or colours cannot be one picture's."""
    found = align(a, b)
    if found is None:
        return 0.0, "aspect"
    best, how, pair = found
    unclipped = pair[0].unclipped & pair[1].unclipped
    if best >= EXACT_FROM and not (tones_match(*pair) and colours_match(a, b, how, unclipped)):
        best = 0.0                  # (under EXACT_FROM no duplicate at any bound: not checked)
    return best, f"{how[0]}/{how[1]}{how[2]:g}/{how[3]:g}"


def _search(a: View, b: View, sym: int, best: float, how: tuple, pair: tuple
            ) -> tuple[float, tuple, tuple]:
    """The best crop and turn: a coarse grid of them (a cropped or turned to match b, b
    cropped to match a), then a finer step around the best; ranked on approximate grids,
    decided on exact ones (`_best_of`)."""
    moving = {"a": (a, 0), "b": (b, sym)}
    fixed = {"a": pair[1], "b": pair[0]}

    def exact(moves):
        def score(k, floor):
            side, scale, angle = moves[k]
            view, turn = moving[side]
            grid = Grid(sample(view.turned(turn), scale, angle))
            return similarity(grid, fixed[side], floor), (grid, fixed[side])
        return score

    approx = approx_similarities([(_stack(*moving[side], MOVES[side]), fixed[side])
                                  for side in "ab"], _floor(best), 2 * EPS)
    where = {m: n for n, m in enumerate((side, *m) for side in "ab" for m in MOVES[side])}
    best, k, found = _best_of(approx[[where[m] for m in COARSE]], best, exact(COARSE))
    if k is None:
        return best, how, pair
    side, scale, angle = COARSE[k]
    how, pair = (sym, side, scale, angle), found
    near = tuple((side, scale + ds, angle + da) for ds, da in REFINE if scale + ds <= 1.0)
    view, turn = moving[side]
    grids = approx_samples(view.array, tuple(m[1:] for m in near), DIHEDRAL[turn])
    approx = approx_similarities([(Stack(grids), fixed[side])], _floor(best), 2 * EPS)
    best, k, found = _best_of(approx, best, exact(near))
    if k is not None:
        how, pair = (sym, *near[k]), found
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
           f"{MIN_CHROMA}:exact-from{EXACT_FROM}")

    def __init__(self, min_score: float | None = None) -> None:
        self.min_score = DEFAULT_MIN_SCORE if min_score is None else float(min_score)

    def accepts(self, scores: np.ndarray) -> np.ndarray:
        return scores >= self.min_score

    def score(self, ctx: Any, pairs: list[tuple]) -> Iterator[Outcome]:
        """One score per (path_a, path_b), in input order."""
        return ctx.map(score_pair, pairs, kind=WorkKind.CPU, label="verifying pairs",
                       unit="candidate pairs")
