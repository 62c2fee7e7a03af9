"""Signals measured at native resolution, on a few full-resolution tiles chosen by content.

    tiles = choose_tiles(pixels, small_luma)        # busiest regions, flat sky left out
    found = signals(tiles)                          # Signals(sharpness, upscale, blockiness)
    found.sharpness                                 # Sharpness(score, blur_px) or None
    found.upscale                                   # Upscale(factor, detail_2x) or None

None means "not measurable" (too small or too flat to tell); no signal is ever NaN.

- Sharpness: the gradient energy of the tiles after Gaussian smoothing at two scales (s1 < s2).
  For an edge blurred by sigma, energy at scale s falls as 1/sqrt(sigma^2 + s^2), so R = E(s1)/E(s2)
  gives the edge width seen at s1: w^2 = (s2^2 - s1^2) / (R^2 - 1). The score is s1 / w (about
  1 for sharp photographs, falling strictly as blur grows) and `blur_px` = sqrt(w^2 - s1^2), the
  estimated Gaussian blur in native pixels (0 when no blur is visible). What 8-bit rounding
  alone adds at each scale (white noise of variance 1/12) is taken off both energies, and tiles
  flatter than FLAT_ENERGY are left out (their rounding steps read as sharp edges).
- Upscaling: a round trip (box downscale by f, Lanczos upscale back) removes the detail above
  1/f of the pixel grid. An image upscaled by f0 has none there, so for f <= f0 the round trip
  loses almost nothing compared with the next octave (residual(f) / residual(2f) well below
  UPSCALE_RATIO), while a native image loses a share that grows steadily with f. Residuals are
  taken less the share of 8-bit rounding noise. The factor is the largest f whose ratio is
  below UPSCALE_RATIO, searching on past factors below UPSCALE_PASS (a 3x upscale keeps a
  little detail a 2x round trip removes); a factor also needs the next octave's round trip to
  remove at least DETAIL_FLOOR (so a heavy Gaussian blur, with no detail left at any scale, is
  blurry rather than upscaled); 1 when none is; not measurable when even the largest round trip
  removes under DETAIL_FLOOR. (Round trips stay in Pillow's C resampling: as matrix products
  over all tiles they cost 2x more single-threaded and 15x more CPU with OpenBLAS' threads.)
- Blockiness: the larger of two measures of JPEG damage, each about 0-0.3 on clean pictures
  and above 0.5 on heavy damage, whatever the file format now is.
  Grid: mean |difference| between neighbours (clipped at BLOCK_CAP) across the 8-pixel
  block grid over the larger of the two neighbouring phases, minus 1 (a block edge steps
  once, a thin line twice), per 32 x 32 patch; the grid phase is the strongest over all
  patches (so crops are caught) and the score the median patch's (so lines of a diagram that
  sit on the grid do not count). Photographs and colour ramps show it.
  Lattice: a JPEG stores each 8 x 8 block's DCT coefficients as multiples of its
  quantisation steps, so the decoded blocks of a low-quality JPEG still have their
  coefficients on that lattice (8-bit rounding moves them by well under LATTICE_TOL of a
  step), where a clean picture's fall anywhere. The score is the share of distinct blocks
  with an AC coefficient of half a step or more whose every such coefficient (DC included)
  sits within LATTICE_TOL steps of a multiple, for the best of the IJG tables of
  LATTICE_QUALITIES, with LATTICE_PRIOR blocks added to the denominator (a handful of blocks
  cannot decide); at the image's own grid and at the one the grid measure found, if it
  scored above 0 (crops). Pixels at 255 (or 0) in every channel are where the decoder
  clipped ringing: their values are unknowns, beyond the bound, filled in by alternating
  projections (onto the lattice, then back onto the pixels seen and the bounds), so text on
  white still counts. Blocks with a pixel clipped in some channels only (luma off by an
  unknown amount) or fewer than LATTICE_FREE unclipped pixels are left out, and repeated
  blocks count once (a toolbar's gradient along its width). This sees damage on flat
  screenshots and diagrams, where flat blocks stay flat and no grid shows. It knows only the
  IJG (libjpeg) tables.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

TILE = 128              #: native tile side, in pixels
MAX_TILES = 8           #: tiles measured per image
ALIGN = 24              #: tile origins on multiples of 8 (JPEG grid) and 2, 3, 4 (round trips)
MIN_SIDE = 16           #: smaller images are not measurable
S1, S2 = 1.0, 2.0       #: Gaussian scales of the sharpness ratio, in pixels
FLAT_ENERGY = 0.05      #: mean gradient energy (8-bit levels^2 per pixel) at S2 below = flat
DETAIL_FLOOR = 0.25     #: round-trip residual (levels^2) at twice the largest factor below:
                        #: too little detail at any scale to tell an upscale
FACTORS = (2, 3, 4)     #: upscale factors tested
UPSCALE_RATIO = 0.08    #: residual(f) / residual(2f) below this: no detail above 1/f
UPSCALE_PASS = 0.12     #: a factor short of UPSCALE_RATIO but below this does not end the search
BLOCK = 8
BLOCK_EPS = 1.0         #: 8-bit levels added to both sides of the blockiness ratio
BLOCK_PATCH = 32        #: blockiness is judged per patch of this side (median over patches)
BLOCK_CAP = 24.0        #: differences clipped here, so a few thin lines do not look like a grid
LATTICE_QUALITIES = (10, 15, 20, 25, 30)  #: IJG qualities whose lattices are looked for
LATTICE_TOL = 0.05      #: a coefficient within this many steps of a multiple sits on the lattice
LATTICE_ROUNDS = 3      #: alternating projections for blocks with clipped pixels
LATTICE_FREE = 16       #: blocks need this many unclipped pixels
LATTICE_BLOCKS = 128    #: at most this many distinct blocks are tested
LATTICE_CLIPPED = 64    #: of which at most this many with clipped pixels,
LATTICE_ENOUGH = 64     #: and none when this many have none
LATTICE_PRIOR = 4       #: blocks added to the lattice share's denominator (few blocks: low share)
#: the IJG (libjpeg) luminance quantisation table at quality 50, in row order
IJG_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
WHITE, BLACK = 254.99, 0.01  #: luma of pixels with every channel at 255 / at 0


@dataclass(frozen=True)
class Tile:
    """A full-resolution luma region; (x, y) is its origin in the upright picture."""

    x: int
    y: int
    luma: np.ndarray
    #: pixels with a channel at 0 or 255 (a JPEG decoder clips there, so the decoded luma of
    #: such a block is off its quantisation lattice); None when not known
    clipped: np.ndarray | None = None


@dataclass(frozen=True)
class Sharpness:
    score: float
    blur_px: float


@dataclass(frozen=True)
class Upscale:
    factor: int
    detail_2x: float


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """float32 luma (0..255) of a ... x 3 uint8 array (no matrix product: OpenBLAS' threads
    would spin in every worker)."""
    rgb = rgb.astype(np.float32)
    return rgb[..., 0] * LUMA[0] + rgb[..., 1] * LUMA[1] + rgb[..., 2] * LUMA[2]


def _busyness(small_luma: np.ndarray) -> np.ndarray:
    """Mean |gradient| per pixel of the reduced picture (the content map tiles are chosen on)."""
    gy, gx = np.gradient(small_luma)
    return np.abs(gx) + np.abs(gy)


def _spans(origins: np.ndarray, tile: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) of each tile in the reduced picture's pixels (at least one pixel)."""
    lo = (origins * scale).astype(np.int64)
    return lo, np.maximum(((origins + tile) * scale).astype(np.int64), lo + 1)


def choose_tiles(pixels: np.ndarray, small_luma: np.ndarray, tile: int = TILE,
                 count: int = MAX_TILES) -> list[Tile]:
    """The `count` busiest tile x tile regions of `pixels` (ranked on the reduced picture's
    gradients, so flat sky does not dominate); the whole picture when it has no more pixels
    than the tiles would (narrow strips get tiles as wide as the strip)."""
    h, w = pixels.shape[:2]
    if h * w <= count * tile * tile:
        return [Tile(0, 0, luma_of(pixels), _clipped(pixels))]
    tile = min(tile, h, w)
    busy = _busyness(small_luma)
    ys = np.arange(0, h - tile + 1, tile) // ALIGN * ALIGN
    xs = np.arange(0, w - tile + 1, tile) // ALIGN * ALIGN
    (y_lo, y_hi), (x_lo, x_hi) = _spans(ys, tile, busy.shape[0] / h), \
        _spans(xs, tile, busy.shape[1] / w)
    table = np.zeros((busy.shape[0] + 1, busy.shape[1] + 1))
    table[1:, 1:] = busy.cumsum(0).cumsum(1)     # summed-area table: every mean in one go
    sums = (table[np.ix_(y_hi, x_hi)] - table[np.ix_(y_lo, x_hi)]
            - table[np.ix_(y_hi, x_lo)] + table[np.ix_(y_lo, x_lo)])
    means = sums / np.outer(y_hi - y_lo, x_hi - x_lo)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    order = np.lexsort((xx.ravel(), yy.ravel(), -means.ravel()))[:count]
    picks = [(int(yy.flat[i]), int(xx.flat[i])) for i in order]
    stack = np.stack([pixels[y:y + tile, x:x + tile] for y, x in picks])
    return [Tile(x, y, luma, clip) for (y, x), luma, clip
            in zip(picks, luma_of(stack), _clipped(stack))]


def _clipped(rgb: np.ndarray) -> np.ndarray:
    """Per pixel of a ... x 3 uint8 array: any channel at 0 or 255 (channel by channel: numpy
    reduces a length-3 axis ten times slower)."""
    moved = rgb - np.uint8(1)                              # 0 wraps to 255, 255 to 254
    return (moved[..., 0] >= 254) | (moved[..., 1] >= 254) | (moved[..., 2] >= 254)


def _smoothings(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tiles (n x h x w) smoothed at S1 and at S2 (cascaded), each tile on its own."""
    fine = ndimage.gaussian_filter(stack, (0, S1, S1), mode="reflect")
    coarse = ndimage.gaussian_filter(fine, (0, *(2 * [float(np.sqrt(S2 ** 2 - S1 ** 2))])),
                                     mode="reflect")
    return fine, coarse


def _energies(smooth: np.ndarray, m: int) -> np.ndarray:
    """Per tile: sum of squared gradient magnitude (central differences), margin m left out."""
    _, h, w = smooth.shape
    gy = smooth[:, m + 1:h - m + 1, m:w - m] - smooth[:, m - 1:h - m - 1, m:w - m]
    gx = smooth[:, m:h - m, m + 1:w - m + 1] - smooth[:, m:h - m, m - 1:w - m - 1]
    return 0.25 * (np.einsum("nij,nij->n", gy, gy, dtype=np.float64)
                   + np.einsum("nij,nij->n", gx, gx, dtype=np.float64))


def _margin(h: int, w: int) -> int:
    m = int(4 * S2 + 0.5)
    return m if min(h, w) >= 4 * m else 1


def _noise_floor() -> tuple[float, float]:
    """Gradient energy per pixel that 8-bit rounding alone (white noise of variance 1/12)
    adds at S1 and at S2: taken off both before the ratio, so near-flat regions do not read
    as sharp."""
    impulse = np.zeros((1, 41, 41), np.float32)
    impulse[0, 20, 20] = 1.0
    return tuple(float(e[0]) / 12.0 for e in
                 (_energies(s, 1) for s in _smoothings(impulse)))  # type: ignore[return-value]


NOISE_FINE, NOISE_COARSE = _noise_floor()


def gradient_energies(tiles: list[Tile]) -> tuple[np.ndarray, np.ndarray, int]:
    """Per tile: gradient energy at S1 and at S2 (rounding noise taken off, never below 0),
    and the pixel count each is summed over."""
    stack = np.stack([t.luma for t in tiles])
    _, h, w = stack.shape
    m = _margin(h, w)
    count = (h - 2 * m) * (w - 2 * m)
    fine, coarse = (_energies(s, m) for s in _smoothings(stack))
    return (np.maximum(fine - NOISE_FINE * count, 0.0),
            np.maximum(coarse - NOISE_COARSE * count, 0.0), count)


@dataclass(frozen=True)
class Signals:
    """The native-resolution signals of one image; None where not measurable."""

    sharpness: Sharpness | None
    upscale: Upscale | None
    blockiness: float | None


def signals(tiles: list[Tile]) -> Signals:
    """Sharpness, upscale factor and blockiness of the tiles (see the module notes). Tiles
    too flat to tell (coarse energy below FLAT_ENERGY per pixel) are left out of sharpness
    and upscaling; with none left both are not measurable."""
    if not tiles or min(tiles[0].luma.shape) < MIN_SIDE:
        return Signals(None, None, blockiness(tiles))
    fine, coarse, count = gradient_energies(tiles)
    busy = coarse >= FLAT_ENERGY * count
    if not busy.any():
        return Signals(None, None, blockiness(tiles))
    kept = [t for t, keep in zip(tiles, busy) if keep]
    return Signals(_sharpness(float(fine[busy].sum()), float(coarse[busy].sum())),
                   upscale(kept), blockiness(tiles))


def _sharpness(fine: float, coarse: float) -> Sharpness:
    """Edge width seen at S1 from the energy ratio, as a score and a blur in pixels."""
    ratio_sq = max((fine / coarse) ** 2, 1.0 + 1e-6)  # smoothing never adds gradient energy
    width_sq = (S2 ** 2 - S1 ** 2) / (ratio_sq - 1.0)
    return Sharpness(float(S1 / np.sqrt(width_sq)), float(np.sqrt(max(width_sq - S1 ** 2, 0.0))))


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)


@functools.lru_cache(maxsize=64)
def _resampler(n_in: int, n_out: int) -> np.ndarray:
    """n_out x n_in Lanczos-3 resampling matrix, antialiased when shrinking (Pillow's
    weights: centres at (i + 0.5) * scale, the kernel stretched by the scale, rows summing
    to 1 with the border cut off)."""
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    weights = _lanczos((np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / stretch)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _rounding_floor(factor: int) -> float:
    """Mean squared residual a box-down, Lanczos-up round trip leaves on 1-D white noise of
    unit variance (its matrix is the Lanczos enlarge's columns repeated; over 64 blocks, where
    the border barely counts)."""
    matrix = np.repeat(_resampler(64, 64 * factor), factor, axis=1) / factor
    return float(np.mean(np.sum(np.square(np.eye(64 * factor) - matrix), axis=1)))


def _round_trip_residual(luma: np.ndarray, factor: int) -> float:
    """Mean squared difference between the region and its box-down, Lanczos-up round trip
    (Pillow, in C), less what 8-bit rounding noise alone would leave (never below 0)."""
    h, w = (luma.shape[0] // factor) * factor, (luma.shape[1] // factor) * factor
    region = Image.fromarray(np.ascontiguousarray(luma[:h, :w]), "F")
    back = region.reduce(factor).resize((w, h), Image.Resampling.LANCZOS)
    residual = float(np.mean(np.square(np.asarray(region) - np.asarray(back), dtype=np.float64)))
    keep = 1.0 - _rounding_floor(factor)
    return max(residual - (1.0 - keep * keep) / 12.0, 0.0)


def upscale(tiles: list[Tile]) -> Upscale | None:
    """Estimated upscale factor (1 = detail down to the pixel); None when the tiles are too
    small for the largest round trip or hold too little detail even at the coarsest scale
    tested (DETAIL_FLOOR) to tell. Round trips stop at the first factor that fails."""
    if not tiles or min(tiles[0].luma.shape) < 4 * max(FACTORS):
        return None
    residual: dict[int, float] = {}

    def res(f: int) -> float:
        if f not in residual:
            residual[f] = sum(_round_trip_residual(t.luma, f) for t in tiles) / len(tiles)
        return residual[f]

    if res(2 * max(FACTORS)) < DETAIL_FLOOR:
        return None

    def ratio(f: int) -> float:
        return res(f) / res(2 * f) if res(2 * f) > 0 else 1.0

    detail_2x = ratio(2)
    factor = 1
    for f in FACTORS:
        if ratio(f) < UPSCALE_RATIO and res(2 * f) >= DETAIL_FLOOR:
            factor = f
        elif ratio(f) >= UPSCALE_PASS:
            break
    return Upscale(factor, float(detail_2x))


def _phase_profiles(luma: np.ndarray, side: int) -> np.ndarray:
    """Per side x side patch of the region: mean |difference| between horizontal and between
    vertical neighbours (clipped at BLOCK_CAP), per position of the left/top pixel modulo 8:
    an N x 2 x 8 array (the grid's phase can differ between the axes in a crop)."""
    ny, nx = (luma.shape[0] - 1) // side, (luma.shape[1] - 1) // side
    region = luma[:ny * side + 1, :nx * side + 1]
    dx = np.minimum(np.abs(np.diff(region[:-1], axis=1)), BLOCK_CAP)
    dy = np.minimum(np.abs(np.diff(region[:, :-1], axis=0)), BLOCK_CAP)
    # (ny, side, nx, side): mean over the rows (dx) or columns (dy) of each patch, then fold
    # the positions along the other axis onto the 8 phases
    px = dx.reshape(ny, side, nx, side).mean(axis=1).reshape(ny, nx, side // BLOCK, BLOCK)
    py = dy.reshape(ny, side, nx, side).mean(axis=3).reshape(ny, side // BLOCK, BLOCK, nx)
    return np.stack([px.mean(axis=2).reshape(-1, BLOCK),
                     py.mean(axis=1).transpose(0, 2, 1).reshape(-1, BLOCK)], axis=1)


def _grid(tiles: list[Tile]) -> tuple[float, tuple[int, int]] | None:
    """Block-grid strength of the tiles and the (y, x) offset of the blocks it found (see
    the module notes); None if the tiles carry no differences at all."""
    side = min(BLOCK_PATCH, (min(tiles[0].luma.shape) - 1) // BLOCK * BLOCK)
    profiles = np.concatenate([_phase_profiles(t.luma, side) for t in tiles])
    if profiles.max() < 0.05:
        return None
    # against the larger neighbouring phase: a block edge steps once, a thin line twice
    neighbours = np.maximum(np.roll(profiles, 1, axis=2), np.roll(profiles, -1, axis=2))
    ratios = (profiles + BLOCK_EPS) / (neighbours + BLOCK_EPS)       # patch x axis x phase
    phases = np.argmax(ratios.mean(axis=0), axis=1)                  # per axis (x, y)
    at_grid = ratios[:, [0, 1], phases].mean(axis=1)                 # per patch
    offset = (int(phases[1] + 1) % BLOCK, int(phases[0] + 1) % BLOCK)  # edge after pixel 7
    return float(max(np.median(at_grid) - 1.0, 0.0)), offset


def _ijg_tables(qualities: tuple[int, ...]) -> np.ndarray:
    """The IJG (libjpeg) luminance quantisation steps of each quality: Q x 64, row order."""
    scale = np.array([5000 // q if q < 50 else 200 - 2 * q for q in qualities])[:, None]
    return np.clip((IJG_LUMA[None, :] * scale + 50) // 100, 1, 255).astype(np.float32)


def _dct_matrix() -> np.ndarray:
    k, i = np.arange(BLOCK)[:, None], np.arange(BLOCK)[None, :]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * BLOCK)) * np.sqrt(2 / BLOCK)
    matrix[0] /= np.sqrt(2)
    return matrix.astype(np.float32)


LATTICE_STEPS = _ijg_tables(LATTICE_QUALITIES)
DCT8 = _dct_matrix()


def _blocks(planes: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """The whole 8 x 8 blocks of a stack of planes (n x h x w) from `offset` (y, x) on, as
    rows of 64."""
    n, h, w = planes.shape
    y, x = offset
    ny, nx = (h - y) // BLOCK, (w - x) // BLOCK
    return (planes[:, y:y + ny * BLOCK, x:x + nx * BLOCK].reshape(n, ny, BLOCK, nx, BLOCK)
            .transpose(0, 1, 3, 2, 4).reshape(-1, BLOCK * BLOCK))


def _usable_blocks(luma: np.ndarray, clipped: np.ndarray | None,
                   offset: tuple[int, int]) -> np.ndarray:
    """The luma blocks (rows of 64) of tiles stacked as n x h x w that can be tested: no
    pixel clipped in some channels only (its luma is off by an unknown amount) and at least
    LATTICE_FREE pixels unclipped."""
    rows = _blocks(luma, offset)
    if clipped is None:
        return rows
    flags = _blocks(clipped, offset)
    some = np.flatnonzero(flags.view(np.uint64).any(axis=1))       # 64 flags = 8 words
    flags, seen = flags[some], rows[some]
    partly = (flags & (seen < WHITE) & (seen > BLACK)).view(np.uint64).any(axis=1)
    keep = np.ones(len(rows), bool)
    keep[some] = ~partly & (np.count_nonzero(flags, axis=1) <= BLOCK * BLOCK - LATTICE_FREE)
    return rows[keep]


def _distinct(rows: np.ndarray, limit: int) -> np.ndarray:
    """Up to `limit` distinct rows of a float32 N x 64 array, a hash-ordered (so spread,
    repeatable) sample when there are more; of every k-th row when there are over 2 x limit."""
    rows = rows[::max(len(rows) // (2 * limit), 1)]
    weights = np.arange(1, 2 * rows.shape[1], 2, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    keys = (rows.view(np.uint32).astype(np.uint64) * weights).sum(axis=1)
    _, first = np.unique(keys, return_index=True)
    return rows[first[:limit]]


def _transform(blocks: np.ndarray, inverse: bool = False) -> np.ndarray:
    """2-D DCT (orthonormal, as JPEG's) of rows of 64 (any leading shape), or its inverse."""
    d = DCT8.T if inverse else DCT8
    return (d @ blocks.reshape(-1, BLOCK, BLOCK) @ d.T).reshape(blocks.shape)


def _fill_clipped(blocks: np.ndarray) -> np.ndarray:
    """Per quality of LATTICE_STEPS, the blocks (rows of 64, levels - 128) with their clipped
    pixels (beyond 255 or 0) filled in by alternating projections: onto that quality's
    lattice, then back onto the pixels seen and the clipping bounds. Q x N x 64."""
    white, black = blocks >= WHITE - 128, blocks <= BLACK - 128
    steps = LATTICE_STEPS[:, None, :]
    pixels = np.broadcast_to(blocks, (len(LATTICE_STEPS), *blocks.shape))
    for _ in range(LATTICE_ROUNDS):
        decoded = _transform(steps * np.round(_transform(pixels) / steps), inverse=True)
        pixels = np.where(white, np.maximum(decoded, blocks),
                          np.where(black, np.minimum(decoded, blocks), blocks))
    return pixels


def lattice(tiles: list[Tile], offsets: tuple[tuple[int, int], ...] = ((0, 0),)
            ) -> float | None:
    """Share of the tiles' distinct testable 8 x 8 blocks that sit on a low-quality JPEG's
    quantisation lattice (every coefficient of half a step or more within LATTICE_TOL steps
    of a multiple; see the module notes), the best over LATTICE_QUALITIES and over the block
    `offsets` (y, x); None when no testable block has an AC coefficient of half a step."""
    luma = np.stack([t.luma for t in tiles]).astype(np.float32, copy=False)
    clipped = None if tiles[0].clipped is None else np.stack([t.clipped for t in tiles])
    found = [v for v in (_lattice_share(_usable_blocks(luma, clipped, o)) for o in offsets)
             if v is not None]
    return max(found, default=None)


def _lattice_share(blocks: np.ndarray) -> float | None:
    """`lattice` for one offset's usable blocks (rows of 64)."""
    if not len(blocks):
        return None
    blocks = _distinct(blocks, 2 * LATTICE_BLOCKS)
    blocks = blocks[blocks.max(axis=1) - blocks.min(axis=1) >= 1.0][:LATTICE_BLOCKS] - 128.0
    clipped = ((blocks >= WHITE - 128) | (blocks <= BLACK - 128)).any(axis=1)
    # blocks with clipped pixels cost projections: only where too few others can decide
    room = LATTICE_CLIPPED if (~clipped).sum() < LATTICE_ENOUGH else 0
    coeffs = np.broadcast_to(_transform(blocks[~clipped]),
                             (len(LATTICE_STEPS), (~clipped).sum(), BLOCK * BLOCK))
    if room and clipped.any():
        coeffs = np.concatenate([coeffs, _transform(_fill_clipped(blocks[clipped][:room]))],
                                axis=1)
    units = coeffs / LATTICE_STEPS[:, None, :]
    carried = np.abs(units) >= 0.5                                 # not quantised to zero
    off = (carried & (np.abs(units - np.round(units)) >= LATTICE_TOL)).any(axis=2)
    content = carried[:, :, 1:].any(axis=2)                       # quality x block
    if not content.any():
        return None
    return float(((content & ~off).sum(axis=1) / (content.sum(axis=1) + LATTICE_PRIOR)).max())


def blockiness(tiles: list[Tile]) -> float | None:
    """JPEG damage from decoded pixels (see the module notes): the larger of the block-grid
    strength and the quantisation-lattice share; None if the tiles are smaller than two blocks
    or neither is measurable."""
    if not tiles or min(tiles[0].luma.shape) < 2 * BLOCK + 1:
        return None
    return max((v for v in block_measures(tiles) if v is not None), default=None)


def block_measures(tiles: list[Tile], every: bool = False) -> tuple[float | None, float | None]:
    """(block-grid strength, lattice share) of tiles at least two blocks wide, either None when
    not measurable; the lattice is skipped (None) where the grid already scores 1, which a
    lattice share cannot beat, unless `every` (the benchmark shows both)."""
    grid = _grid(tiles)
    if grid and grid[0] >= 1.0 and not every:
        return grid[0], None
    # the image's own grid, and a crop's where the grid measure saw one
    offsets = tuple({(0, 0)} | ({grid[1]} if grid and grid[0] > 0 else set()))
    return (grid[0] if grid else None), lattice(tiles, offsets)


def crop(pixels: np.ndarray, tile: Tile, side: int = TILE) -> np.ndarray:
    """The full-resolution RGB region of `tile` (for the report's crops)."""
    return pixels[tile.y:tile.y + side, tile.x:tile.x + side]
