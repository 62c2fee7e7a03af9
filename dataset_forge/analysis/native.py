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
  estimated Gaussian blur in native pixels (0 when no blur is visible).
- Upscaling: a round trip (box downscale by f, Lanczos upscale back) removes the detail above
  1/f of the pixel grid. An image upscaled by f0 has none there, so for f <= f0 the round trip
  loses almost nothing compared with the next octave (residual(f) / residual(2f) well below
  UPSCALE_RATIO), while a native image loses a share that grows steadily with f. The factor is
  the largest f whose ratio is below UPSCALE_RATIO (1 when none is).
- Blockiness: mean |difference| between neighbours (clipped at BLOCK_CAP) across the 8-pixel
  JPEG block grid over the larger of the two neighbouring phases, minus 1 (a block edge steps
  once, a thin line twice), per 32 x 32 patch; the grid phase is the strongest over all
  patches (so crops are caught) and the score the median patch's (so lines of a diagram that
  sit on the grid do not count). About 0 to 0.3 for clean photographs, 0.5 and more for heavy
  JPEG damage, whatever the file format now is.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

TILE = 128              #: native tile side, in pixels
MAX_TILES = 8           #: tiles measured per image
ALIGN = 24              #: tile origins on multiples of 8 (JPEG grid) and 2, 3, 4 (round trips)
MIN_SIDE = 16           #: smaller images are not measurable
S1, S2 = 1.0, 2.0       #: Gaussian scales of the sharpness ratio, in pixels
FLAT_ENERGY = 0.02      #: mean gradient energy (8-bit levels^2 per pixel) at S2 below = flat
FACTORS = (2, 3, 4)     #: upscale factors tested
UPSCALE_RATIO = 0.08    #: residual(f) / residual(2f) below this: no detail above 1/f
BLOCK = 8
BLOCK_EPS = 1.0         #: 8-bit levels added to both sides of the blockiness ratio
BLOCK_PATCH = 32        #: blockiness is judged per patch of this side (median over patches)
BLOCK_CAP = 24.0        #: differences clipped here, so a few thin lines do not look like a grid
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Tile:
    """A full-resolution luma region; (x, y) is its origin in the upright picture."""

    x: int
    y: int
    luma: np.ndarray


@dataclass(frozen=True)
class Sharpness:
    score: float
    blur_px: float


@dataclass(frozen=True)
class Upscale:
    factor: int
    detail_2x: float


def luma_of(rgb: np.ndarray) -> np.ndarray:
    """float32 luma (0..255) of an H x W x 3 uint8 array."""
    return rgb.astype(np.float32) @ LUMA


def _busyness(small_luma: np.ndarray) -> np.ndarray:
    """Mean |gradient| per pixel of the reduced picture (the content map tiles are chosen on)."""
    gy, gx = np.gradient(small_luma)
    return np.abs(gx) + np.abs(gy)


def choose_tiles(pixels: np.ndarray, small_luma: np.ndarray, tile: int = TILE,
                 count: int = MAX_TILES) -> list[Tile]:
    """The `count` busiest tile x tile regions of `pixels` (ranked on the reduced picture's
    gradients, so flat sky does not dominate); the whole picture when it has no more pixels
    than the tiles would (narrow strips get tiles as wide as the strip)."""
    h, w = pixels.shape[:2]
    if h * w <= count * tile * tile:
        return [Tile(0, 0, luma_of(pixels))]
    tile = min(tile, h, w)
    busy = _busyness(small_luma)
    sy, sx = busy.shape[0] / h, busy.shape[1] / w
    candidates = []
    for y in range(0, h - tile + 1, tile):
        for x in range(0, w - tile + 1, tile):
            y0, x0 = y // ALIGN * ALIGN, x // ALIGN * ALIGN
            region = busy[int(y0 * sy):max(int((y0 + tile) * sy), int(y0 * sy) + 1),
                          int(x0 * sx):max(int((x0 + tile) * sx), int(x0 * sx) + 1)]
            candidates.append((float(region.mean()), y0, x0))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [Tile(x, y, luma_of(pixels[y:y + tile, x:x + tile])) for _, y, x in candidates[:count]]


def _gradient_energy(luma: np.ndarray) -> tuple[float, float, int]:
    """Sum of squared gradient magnitude (central differences) after Gaussian smoothing at S1
    and at S2 (cascaded), away from the borders, and the pixel count summed over."""
    fine = ndimage.gaussian_filter(luma, S1, mode="reflect")
    coarse = ndimage.gaussian_filter(fine, float(np.sqrt(S2 ** 2 - S1 ** 2)), mode="reflect")
    h, w = luma.shape
    m = int(4 * S2 + 0.5)
    m = m if min(h, w) >= 4 * m else 1
    sums = []
    for smooth in (fine, coarse):
        gy = (smooth[m + 1:h - m + 1, m:w - m] - smooth[m - 1:h - m - 1, m:w - m]).ravel()
        gx = (smooth[m:h - m, m + 1:w - m + 1] - smooth[m:h - m, m - 1:w - m - 1]).ravel()
        sums.append(0.25 * (float(np.dot(gy, gy)) + float(np.dot(gx, gx))))
    return sums[0], sums[1], (h - 2 * m) * (w - 2 * m)


@dataclass(frozen=True)
class Signals:
    """The native-resolution signals of one image; None where not measurable."""

    sharpness: Sharpness | None
    upscale: Upscale | None
    blockiness: float | None


def signals(tiles: list[Tile]) -> Signals:
    """Sharpness, upscale factor and blockiness of the tiles (see the module notes)."""
    if not tiles or min(tiles[0].luma.shape) < MIN_SIDE:
        return Signals(None, None, blockiness(tiles))
    fine, coarse, count = map(sum, zip(*(_gradient_energy(t.luma) for t in tiles)))
    if coarse / max(count, 1) < FLAT_ENERGY:
        return Signals(None, None, blockiness(tiles))
    return Signals(_sharpness(fine, coarse), upscale(tiles), blockiness(tiles))


def _sharpness(fine: float, coarse: float) -> Sharpness:
    """Edge width seen at S1 from the energy ratio, as a score and a blur in pixels."""
    ratio_sq = max((fine / coarse) ** 2, 1.0 + 1e-6)  # smoothing never adds gradient energy
    width_sq = (S2 ** 2 - S1 ** 2) / (ratio_sq - 1.0)
    return Sharpness(float(S1 / np.sqrt(width_sq)), float(np.sqrt(max(width_sq - S1 ** 2, 0.0))))


def _round_trip_residual(luma: np.ndarray, factor: int) -> float:
    """Mean squared difference between the region and its box-down, Lanczos-up round trip."""
    h, w = (luma.shape[0] // factor) * factor, (luma.shape[1] // factor) * factor
    region = Image.fromarray(np.ascontiguousarray(luma[:h, :w]), "F")
    back = region.reduce(factor).resize((w, h), Image.Resampling.LANCZOS)
    return float(np.mean(np.square(np.asarray(region) - np.asarray(back), dtype=np.float64)))


def upscale(tiles: list[Tile]) -> Upscale | None:
    """Estimated upscale factor (1 = detail down to the pixel); None when the tiles are too
    small for the largest round trip. Round trips stop at the first factor that fails."""
    if min(tiles[0].luma.shape) < 4 * max(FACTORS):
        return None
    residual: dict[int, float] = {}

    def ratio(f: int) -> float:
        for g in (f, 2 * f):
            if g not in residual:
                residual[g] = sum(_round_trip_residual(t.luma, g) for t in tiles)
        return residual[f] / residual[2 * f] if residual[2 * f] > 0 else 1.0

    detail_2x = ratio(2)
    factor = 1
    for f in FACTORS:
        if ratio(f) >= UPSCALE_RATIO:
            break
        factor = f
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


def blockiness(tiles: list[Tile]) -> float | None:
    """JPEG block-grid strength from decoded pixels (see the module notes); None if the tiles
    are smaller than two blocks or carry no differences at all. Measured per 32 x 32 patch:
    the grid phase is the one strongest over all patches, and the score the median patch's,
    so a few lines that happen to sit on the grid (diagrams, text) do not make an image
    blocky while damage spread over the picture does."""
    if not tiles or min(tiles[0].luma.shape) < 2 * BLOCK + 1:
        return None
    side = min(BLOCK_PATCH, (min(tiles[0].luma.shape) - 1) // BLOCK * BLOCK)
    profiles = np.concatenate([_phase_profiles(t.luma, side) for t in tiles])
    if profiles.max() < 0.05:
        return None
    # against the larger neighbouring phase: a block edge steps once, a thin line twice
    neighbours = np.maximum(np.roll(profiles, 1, axis=2), np.roll(profiles, -1, axis=2))
    ratios = (profiles + BLOCK_EPS) / (neighbours + BLOCK_EPS)       # patch x axis x phase
    phases = np.argmax(ratios.mean(axis=0), axis=1)                  # per axis
    at_grid = ratios[:, [0, 1], phases].mean(axis=1)                 # per patch
    return float(max(np.median(at_grid) - 1.0, 0.0))


def crop(pixels: np.ndarray, tile: Tile, side: int = TILE) -> np.ndarray:
    """The full-resolution RGB region of `tile` (for the report's crops)."""
    return pixels[tile.y:tile.y + side, tile.x:tile.x + side]
