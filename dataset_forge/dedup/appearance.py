"""What perceptual methods look at: the image as seen over mid-grey, and whether it is flat.

    grey, flat = hashing_view(path, side=128)     # an "L" image, and True when near-constant

Transparency: `load_rgb` flattens alpha onto white, so two different white (or light) overlays
both become a blank white page and hash alike. Images with real transparency are composited
onto mid-grey instead (`ALPHA_BACKGROUND`), so their alpha pattern is part of what is hashed:
light content shows brighter than the background, dark content darker. Opaque images are
unchanged.

Flatness is measured where the hash is computed and relative to what the hash can resolve: on
the GRID x GRID grey grid pHash transforms, the spread (standard deviation) of the low-frequency
DCT coefficients whose signs make the hash, apart from the mean, in grey levels (orthonormal
DCT). Below `FLAT_AC` those coefficients are at the level of 8-bit rounding noise, the hash
bits are noise, and the image matches every other blank page; dedup then pairs it only by
identical pixels. Real texture, however faint (a moon normal map with luma deviation 6), is
well above it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..io import decode, open_image, to_rgb
from ..io.images import has_transparency
from ..parallel import WorkKind

ALPHA_BACKGROUND = (128, 128, 128)
GRID = 32            # pHash's grid (hash size 8 x high-frequency factor 4)
LOW = 8              # the low-frequency block a 64-bit pHash thresholds
FLAT_AC = 0.5        # grey levels; 8-bit rounding alone gives about 0.3
FLAT_PROBE_SIDE = 128
VIPS_FORMATS = frozenset({"PNG", "WEBP"})
VIPS_MODES = frozenset({"L", "LA", "RGB", "RGBA", "P"})   # 8-bit: the same picture either way

try:  # optional: the binary wheel brings libvips; without it Pillow decodes everything
    import pyvips
except (ImportError, OSError):  # pragma: no cover - depends on the install
    pyvips = None


def dct_matrix(n: int, rows: int) -> np.ndarray:
    """The first `rows` rows of the orthonormal DCT-II matrix of size n."""
    k = np.arange(rows)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT = dct_matrix(GRID, LOW)


def grid_of(grey: Image.Image, side: int = GRID) -> np.ndarray:
    """The grey image resized to side x side (Lanczos, in floating point)."""
    return np.asarray(grey.convert("F").resize((side, side), Image.Resampling.LANCZOS),
                      np.float64)


def low_frequencies(grid: np.ndarray) -> np.ndarray:
    """The LOW x LOW low-frequency block of the grid's orthonormal 2-D DCT."""
    return _DCT @ grid @ _DCT.T


def ac_spread(grid: np.ndarray) -> float:
    """Standard deviation of the low-frequency coefficients other than the mean."""
    return float(low_frequencies(grid).ravel()[1:].std())


def is_flat(grey: Image.Image) -> bool:
    """Whether an "L" image is too flat for its hash to mean anything."""
    return ac_spread(grid_of(grey)) < FLAT_AC


def _vips_small(path: str | Path, side: int) -> Image.Image | None:
    """libvips' shrink-on-load thumbnail (upright) in RGB, real transparency over mid-grey as
    in the Pillow path; None when libvips cannot read the file."""
    try:
        im = pyvips.Image.thumbnail(str(path), side, size="down", fail_on="truncated")
        if im.format != "uchar":
            return None
        arr = im.numpy()
    except pyvips.Error:
        return None
    arr = arr[..., None] if arr.ndim == 2 else arr
    if arr.shape[2] in (2, 4):
        alpha = arr[..., -1:].astype(np.float32) / 255.0
        colour = arr[..., :-1].astype(np.float32)
        if alpha.min() < 1.0:
            colour = colour * alpha + np.float32(ALPHA_BACKGROUND[0]) * (1.0 - alpha)
        arr = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(arr), "RGB")


def hashing_rgb(path: str | Path, side: int) -> Image.Image:
    """The image decoded to fit `side`, upright, in RGB; real transparency over mid-grey.
    JPEG: Pillow's draft decode. Opaque 8-bit PNG and WebP: libvips when installed
    (`VIPS_FORMATS`; WebP shrinks while it decodes, PNG decodes faster: measured in
    benchmarks/RESULTS.md), else Pillow."""
    with open_image(path) as im:
        if pyvips is not None and im.format in VIPS_FORMATS and im.mode in VIPS_MODES and \
                max(im.size) > side:
            small = _vips_small(path, side)
            if small is not None:
                return small
        loaded = ImageOps.exif_transpose(decode(im, max_side=side))
        background = ALPHA_BACKGROUND if has_transparency(loaded) else (255, 255, 255)
        rgb = to_rgb(loaded, background)
        rgb = rgb.copy() if rgb is im else rgb
    if max(rgb.size) > side:
        rgb.thumbnail((side, side), Image.Resampling.BILINEAR)
    return rgb


def fit(rgb: Image.Image, side: int) -> Image.Image:
    """The picture reduced to fit side x side (bilinear, as `hashing_rgb` reduces), or itself
    when it already fits."""
    if max(rgb.size) <= side:
        return rgb
    small = rgb.copy()
    small.thumbnail((side, side), Image.Resampling.BILINEAR)
    return small


def hashing_view(path: str | Path, side: int) -> tuple[Image.Image, bool]:
    """(greyscale view, flat?) of one image, as perceptual hashing sees it."""
    grey = hashing_rgb(path, side).convert("L")
    return grey, is_flat(grey)


def flat_flag(path: str | Path) -> np.ndarray:
    """Worker: [1] when the image is flat, else [0] (for methods that do not decode it here)."""
    return np.array([hashing_view(path, FLAT_PROBE_SIDE)[1]], np.uint8)


class FlatnessProbe:
    """Flatness as a cached feature (one byte per image), for methods such as CLIP whose own
    encoder does not report it; used with `encode_all` like any method."""
    name = "flatness"
    feature_dtype = np.uint8
    feature_shape = (1,)
    key = f"flat:{FLAT_PROBE_SIDE}:ac{FLAT_AC}:alpha-grey"

    def encode(self, ctx, paths: list):
        return ctx.map(flat_flag, paths, kind=WorkKind.CPU, label="flatness")
