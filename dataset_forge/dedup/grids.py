"""Sampled grids and how alike two are: the aligned verifier's measure (`aligned.py`), computed
exactly for one grid and approximately for many at once.

    grid = Grid(sample(image, scale, angle))     # PIL's bilinear affine sample of a centre crop
    score = similarity(grid, fixed)              # the score the verifier decides on
    stack = Stack(approx_samples(array, ((scale, angle), ...)))   # cv2.warpAffine, one each
    scores = approx_similarities([(stack, fixed)], floor, margin)  # batched, within EPS of exact

A grid is the picture's centre crop (side fraction `scale`) turned by `angle` degrees and
sampled onto GRID x GRID points. Its central part (`INNER`) is scored: the normalised
correlation of the two grids, and of their detail (the grid minus its Gaussian blur, so a
shared glow, gradient or layout cannot carry the score), each leaving out the TRIM of
BLOCKS x BLOCKS blocks that differ most (a watermark or a caption covers a corner).

The search tries some fifty crops and turns per pair. Sampling each with PIL costs about 0.1 ms,
most of a pair's time, so the search ranks them on approximate samples (`approx_samples`:
OpenCV's warpAffine, whose interpolation weights are quantised to 1/32 pixel, truncated to whole grey
levels as PIL's are) and scored together (`Stack`), then computes exactly only the few that can
be the best. The two agree within `EPS` (measured: at most 0.0013 on the labelled set's
candidates, 0.00005 where the score is above 0.8).
"""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, gaussian_filter1d

GRID = 64                         # side of the compared grid
INNER = 0.8                       # central fraction of the grid that is scored
BLOCKS = 4                        # the scored part is cut into BLOCKS x BLOCKS blocks
TRIM = 2                          # blocks that differ most, left out of the score
DETAIL_SIGMA = 2.0                # grid pixels: what is smoother than this is background
MIN_DETAIL = 0.1                  # share of a picture's energy its detail is judged against
CLIP = (3.0, 252.0)               # grey levels at or beyond which a grid pixel is clipped
EPS = 0.003                       # bound on |approximate - exact| similarity (see above)

cv2.setNumThreads(1)              # 64 x 64 grids: threads cost more than they save


@functools.lru_cache(maxsize=1)
def _inner_slice() -> slice:
    margin = int(round(GRID * (1 - INNER) / 2))
    return slice(margin, GRID - margin)


def _affine(w: int, h: int, scale: float, angle: float) -> tuple[float, ...]:
    """PIL's affine coefficients taking grid point (x, y) to the input: centre +
    R(angle) @ (sx (x + .5 - G/2), sy (y + .5 - G/2)), sx, sy the input pixels per grid step."""
    rad = math.radians(angle)
    cos, sin = math.cos(rad), math.sin(rad)
    sx, sy = scale * w / GRID, scale * h / GRID
    a, b = cos * sx, -sin * sy
    d, e = sin * sx, cos * sy
    ox = oy = 0.5 - GRID / 2
    return a, b, w / 2 + a * ox + b * oy, d, e, h / 2 + d * ox + e * oy


def sample(view: Image.Image, scale: float, angle: float) -> np.ndarray:
    """The view's centre crop (side fraction `scale`), turned by `angle` degrees, on the grid
    (PIL bilinear, whole grey levels; points outside the picture are 0)."""
    out = view.transform((GRID, GRID), Image.Transform.AFFINE,
                         _affine(view.width, view.height, scale, angle),
                         Image.Resampling.BILINEAR)
    return np.asarray(out, np.float32)


@functools.lru_cache(maxsize=1024)
def _warp(w: int, h: int, scale: float, angle: float) -> tuple[np.ndarray, np.ndarray | None]:
    """`sample`'s map for cv2.warpAffine (grid point -> input pixel index, 3 x 3) and the grid
    points it sends outside the picture (None when there are none): PIL gives 0 there and
    clamps to the edge pixel within half a pixel of the picture (cv2's replicated border)."""
    a, b, c, d, e, f = _affine(w, h, scale, angle)
    m = np.array([[a, b, (a + b) / 2 + c - 0.5], [d, e, (d + e) / 2 + f - 0.5], [0, 0, 1]])
    x = np.arange(GRID) + 0.5
    ends = x[[0, -1]]
    xin = a * ends + b * ends[:, None] + c
    yin = d * ends + e * ends[:, None] + f
    if (xin >= 0).all() and (xin < w).all() and (yin >= 0).all() and (yin < h).all():
        return m, None
    xin = a * x + b * x[:, None] + c
    yin = d * x + e * x[:, None] + f
    return m, (xin < 0) | (xin >= w) | (yin < 0) | (yin >= h)


@functools.lru_cache(maxsize=4096)
def _turn(w: int, h: int, turn: Image.Transpose | None) -> tuple[np.ndarray, int, int]:
    """(3 x 3 map from the turned picture's pixel indices to the picture's, turned width,
    height) for an `Image.transpose` method (None: as is). A transpose permutes pixels, so
    sampling the turned picture is sampling the picture through this map."""
    if turn is None:
        return np.eye(3), w, h
    index = Image.fromarray(np.arange(w * h, dtype=np.int32).reshape(h, w)).transpose(turn)
    where = np.asarray(index)
    col, row = where % w, where // w
    m = np.array([[col[0, 1] - col[0, 0], col[1, 0] - col[0, 0], col[0, 0]],
                  [row[0, 1] - row[0, 0], row[1, 0] - row[0, 0], row[0, 0]], [0, 0, 1]], float)
    return m, index.width, index.height


@functools.lru_cache(maxsize=16384)
def _warp_of(w: int, h: int, turn: Image.Transpose | None, scale: float, angle: float
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """(cv2.warpAffine's 2 x 3 map, flat indices of the grid points outside the picture or
    None) for `sample(picture.transpose(turn), scale, angle)` of a w x h picture."""
    back, tw, th = _turn(w, h, turn)
    m, outside = _warp(tw, th, scale, angle)
    return (np.ascontiguousarray((back @ m)[:2]),
            None if outside is None else np.flatnonzero(outside))


def approx_samples(grey: np.ndarray, candidates: tuple,
                   turn: Image.Transpose | None = None) -> np.ndarray:
    """`sample(picture.transpose(turn), scale, angle)` for every (scale, angle) of
    `candidates`, approximately (see the module docstring), from the picture's float32 grey
    array: shape (len(candidates), GRID, GRID)."""
    h, w = grey.shape
    out = np.empty((len(candidates), GRID, GRID), np.float32)
    flat = out.reshape(len(candidates), -1)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for k, (scale, angle) in enumerate(candidates):
        m, outside = _warp_of(w, h, turn, scale, angle)
        cv2.warpAffine(grey, m, (GRID, GRID), dst=out[k], flags=flags,
                       borderMode=cv2.BORDER_REPLICATE)
        if outside is not None:
            flat[k, outside] = 0.0
    return np.floor(out, out=out)


@functools.lru_cache(maxsize=1)
def _blur_rows() -> np.ndarray:
    """The inner rows of the GRID x GRID matrix K with gaussian_filter1d(v) = K @ v (scipy's
    reflecting edge): the blur's inner part is K_in @ U @ K_in.T."""
    k = gaussian_filter1d(np.eye(GRID), DETAIL_SIGMA, axis=0)
    return np.ascontiguousarray(k[_inner_slice()], np.float32)


class Grid:
    """One sampled grid, ready to compare: its central part standardised (`plain`, unit norm)
    and the detail of that (`detail`: minus its Gaussian blur; computed when first needed),
    plus its raw tones and where they are not clipped (`unclipped`)."""

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


def ncc(a: np.ndarray | None, b: np.ndarray | None, trim: int = 0) -> float:
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
    plain = ncc(a.plain, b.plain, TRIM)
    if plain <= floor:
        return plain
    return min(plain, _detail_agreement(a, b, TRIM))


@functools.lru_cache(maxsize=1)
def _block_rows() -> np.ndarray:
    """B (BLOCKS x inner side) with B @ D @ B.T = D's sums over BLOCKS x BLOCKS blocks."""
    side = _inner_slice().stop - _inner_slice().start
    n = side // BLOCKS
    rows = np.zeros((BLOCKS, side), np.float32)
    for k in range(BLOCKS):
        rows[k, k * n:(k + 1) * n] = 1.0
    return rows


def _trimmed_many(diff: np.ndarray) -> np.ndarray:
    """`_trimmed(d, TRIM)` of each d in a stack."""
    rows = _block_rows()
    blocks = (rows @ diff @ rows.T).reshape(len(diff), -1)
    top = np.sort(blocks, axis=1)[:, -TRIM:].sum(axis=1)
    whole = blocks.sum(axis=1) if rows.sum() == diff.shape[1] else diff.sum(axis=(1, 2))
    return whole - top


class Stack:
    """Many grids of one picture (approximate samples), standardised together like `Grid`."""

    def __init__(self, grids: np.ndarray) -> None:
        s = _inner_slice()
        inner = grids[:, s, s]
        count = inner.shape[1] * inner.shape[2]
        grids -= (inner.sum(axis=(1, 2)) / count)[:, None, None]
        norm = np.sqrt(np.einsum("kij,kij->k", inner, inner))
        self.flat = norm < 1e-3 * inner.shape[1]
        grids /= np.where(self.flat, 1.0, norm).astype(np.float32)[:, None, None]
        self.unit = grids                # centred and scaled in place

    def plain(self, fixed: Grid, trim: int = TRIM) -> np.ndarray:
        """`ncc` of each grid's plain part with the fixed grid's, `trim` blocks left out."""
        if fixed.plain is None:
            return self.flat.astype(np.float64)
        s = _inner_slice()
        diff = self.unit[:, s, s] - fixed.plain
        diff *= diff
        lost = _trimmed_many(diff) if trim else diff.sum(axis=(1, 2))
        return np.where(self.flat, 0.0, 1.0 - lost.astype(np.float64) / 2.0)

    def detail_agreement(self, fixed: Grid, which: np.ndarray) -> np.ndarray:
        """`_detail_agreement` of the grids `which` (none flat) with a fixed grid (not flat)."""
        s = _inner_slice()
        k = _blur_rows()
        unit = self.unit[which]
        detail = unit[:, s, s] - k @ unit @ k.T
        mine = np.maximum(np.einsum("kij,kij->k", detail, detail), MIN_DETAIL)
        energy = mine + max(float((fixed.detail ** 2).sum()), MIN_DETAIL)
        detail -= fixed.detail
        detail *= detail
        return 1.0 - _trimmed_many(detail) / energy


def approx_similarities(parts: list[tuple[Stack, Grid]], floor: float, margin: float,
                        first: int = 4) -> np.ndarray:
    """`similarity` of the grids of each stack with its fixed grid, approximately, one array
    for all; -inf for those whose detail was not computed. It is computed only where it can
    matter: for grids taken by decreasing plain agreement, `first` of them, then all those
    still within `margin` of the best score so far, and so on; never for a plain agreement
    of `floor` or less (those cannot score more)."""
    plains = [stack.plain(fixed) for stack, fixed in parts]
    plain = np.concatenate(plains)
    out = np.full(len(plain), -np.inf)
    owner = np.concatenate([np.full(len(p), n) for n, p in enumerate(plains)])
    local = np.concatenate([np.arange(len(p)) for p in plains])
    order = np.argsort(-plain, kind="stable")
    order = order[plain[order] > floor]
    top, done = -math.inf, 0
    while done < len(order) and plain[order[done]] >= top - margin:
        more = int(np.searchsorted(-plain[order[done:]], -(top - margin), side="right"))
        take = order[done:done + (first if done == 0 else max(more, 1))]
        for n, (stack, fixed) in enumerate(parts):
            mine = take[owner[take] == n]
            out[mine] = plain[mine]
            mine = mine[~stack.flat[local[mine]]]
            if len(mine) and fixed.plain is not None:
                agree = stack.detail_agreement(fixed, local[mine])
                out[mine] = np.minimum(plain[mine], agree)
        top = max(top, float(out[take].max()))
        done += len(take)
    return out
