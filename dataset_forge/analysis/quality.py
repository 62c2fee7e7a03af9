"""Quality scores: each check is a continuous score and a threshold the user can change.

    row = measure(path, size=256)                 # per image, in a worker
    row = assess(path, thresholds)                # the same plus per-image `flags` (list)
    rows = add_outlier_scores(rows)               # odd size / aspect: relative to the dataset
    flags = flags_for(row, thresholds)            # ["dark", "blurry"]

Each image is decoded once, at full resolution (`loading.load_native`). Sharpness, upscaling
and blockiness are measured on full-resolution tiles chosen by content (`native`); brightness,
entropy and colourfulness on the same pixels reduced to at most `size` on the long side. A
signal that cannot be measured (tiny or flat images) is None and named in `unmeasured`; no
score is ever NaN. An image flagged `low_information` gets no dark, light, blurry, upscaled or
grayscale flag: for an image without content those say nothing more; a blurry image gets no
upscaled flag (a heavy blur leaves no fine detail either; its `upscale_factor` is still given).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from PIL import ImageChops

from ..io.images import DEFAULT_MAX_PIXELS
from . import native
from .header import GREY_MODES
from .loading import Small, load_native

DEFAULT_SIZE = 256
#: IJG standard luminance quantisation table (natural order); its sum scales with quality
_IJG_LUMA_SUM = sum([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])


@dataclass(frozen=True)
class Check:
    """One quality check: flags an image when `score` is beyond `threshold` in `direction`."""

    name: str
    score: str
    direction: str          # "below" or "above"
    threshold: float
    help: str

    def flagged(self, value: Any, threshold: float | None = None) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        limit = self.threshold if threshold is None else threshold
        return value < limit if self.direction == "below" else value > limit


CHECKS: tuple[Check, ...] = (
    Check("dark", "brightness", "below", 0.15, "mean brightness, 0 (black) to 1 (white)"),
    Check("light", "brightness", "above", 0.90, "mean brightness, 0 (black) to 1 (white)"),
    Check("blurry", "sharpness", "below", 0.50,
          "edge sharpness at native resolution on the busiest full-resolution tiles: about 1 "
          "for sharp photographs (more for fine texture), 0.5 for edges blurred by about 1.7 px "
          "(column blur_px), falling as blur grows; empty when too small or flat to measure"),
    Check("low_information", "entropy", "below", 0.35,
          "entropy of the luma histogram in bits / 8: 0 for a flat image, ~0.9 for photos"),
    Check("grayscale", "colourfulness", "below", 0.04,
          "99th percentile of max-min over R,G,B per pixel / 255; 0 for grey images, "
          "including grey pictures stored as RGB"),
    Check("odd_size", "size_outlier", "above", 3.0,
          "distance of log(sqrt(width*height)) beyond the dataset's quartiles, in IQRs"),
    Check("odd_aspect_ratio", "aspect_outlier", "above", 3.0,
          "distance of log(width/height) beyond the dataset's quartiles, in IQRs"),
    Check("blocky", "blockiness", "above", 0.50,
          "JPEG damage from the decoded full-resolution pixels, any format (also once stored "
          "as PNG): the larger of the block-grid strength and the share of blocks whose DCT "
          "coefficients sit on a low-quality JPEG's quantisation lattice; ~0-0.3 clean, "
          "0.5+ for heavy damage"),
    Check("upscaled", "upscale_factor", "above", 1.5,
          "estimated upscale factor (1 = detail down to the pixel, 2/3/4 = no detail finer than "
          "2/3/4 pixels: an upscaled or equally soft source; not flagged when blurry); "
          "empty when not measurable"),
)
CHECKS_BY_NAME = {c.name: c for c in CHECKS}
#: checks whose flag a low-information image does not also get
NEEDS_CONTENT = frozenset({"dark", "light", "blurry", "grayscale", "upscaled"})
#: checks measured per image (the others are relative to the dataset)
PER_IMAGE = frozenset(c.name for c in CHECKS) - {"odd_size", "odd_aspect_ratio"}
#: smallest IQR used for outliers (in log units), so a uniform dataset does not flag 1-pixel noise
MIN_IQR = 0.1
#: signals that may be "not measurable" and are then listed in the row's `unmeasured`
NATIVE_SIGNALS = ("sharpness", "upscale_factor", "blockiness")

SCORE_COLUMNS = ["brightness", "sharpness", "entropy", "colourfulness", "size_outlier",
                 "aspect_outlier", "blockiness", "upscale_factor"]
COLUMNS = ["path", "format", "mode", "width", "height", "bytes", "jpeg_quality",
           "brightness", "sharpness", "blur_px", "entropy", "colourfulness", "size_outlier",
           "aspect_outlier", "blockiness", "upscale_factor", "detail_2x", "unmeasured", "flags"]


def jpeg_quality(quantization: dict[int, list[int]] | None) -> float | None:
    """IJG quality (1..100) that would produce this luminance table, from its sum."""
    if not quantization or 0 not in quantization:
        return None
    scale = 100.0 * sum(quantization[0]) / _IJG_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return float(min(100.0, max(1.0, quality)))


def entropy(luma8: np.ndarray) -> float:
    """Shannon entropy of the 8-bit histogram, in bits / 8 (0..1; never -0.0)."""
    return _histogram_entropy(np.bincount(luma8.ravel(), minlength=256))


def _histogram_entropy(hist: Sequence[int] | np.ndarray) -> float:
    counts = np.asarray(hist, dtype=np.float64)
    p = counts[counts > 0] / counts.sum()
    return max(float(-(p * np.log2(p)).sum() / 8.0), 0.0) + 0.0


def _percentile_of_histogram(hist: Sequence[int], fraction: float) -> int:
    """The value np.partition would put at index int(fraction * (n - 1)) of the samples."""
    counts = np.cumsum(hist)
    return int(np.searchsorted(counts, int(fraction * (counts[-1] - 1)), side="right"))


def _whole_image_scores(small: Small) -> dict[str, float]:
    """Brightness, entropy and colourfulness of the reduced copy (Pillow's C histograms)."""
    luma_hist = small.rgb.convert("L").histogram()
    brightness = float(np.dot(luma_hist, np.arange(256)) / max(sum(luma_hist), 1) / 255.0)
    if small.mode in GREY_MODES:
        colour = 0.0
    else:
        r, g, b = small.rgb.split()
        high = ImageChops.lighter(ImageChops.lighter(r, g), b)
        low = ImageChops.darker(ImageChops.darker(r, g), b)
        spread = ImageChops.subtract(high, low).histogram()
        colour = _percentile_of_histogram(spread, 0.99) / 255.0
    return {"brightness": brightness, "entropy": _histogram_entropy(luma_hist),
            "colourfulness": colour}


def native_scores(pixels: np.ndarray, small_rgb) -> tuple[dict[str, Any], list[native.Tile]]:
    """Sharpness, upscaling and blockiness on content-chosen full-resolution tiles."""
    tiles = native.choose_tiles(pixels, native.luma_of(np.asarray(small_rgb)))
    found = native.signals(tiles)
    sharp, up, block = found.sharpness, found.upscale, found.blockiness
    scores = {"sharpness": None if sharp is None else round(sharp.score, 4),
              "blur_px": None if sharp is None else round(sharp.blur_px, 2),
              "blockiness": None if block is None else round(block, 4),
              "upscale_factor": None if up is None else up.factor,
              "detail_2x": None if up is None else round(up.detail_2x, 4)}
    scores["unmeasured"] = " ".join(n for n in NATIVE_SIGNALS if scores[n] is None)
    return scores, tiles


def _measure(path: str | Path, size: int, max_pixels: int
             ) -> tuple[dict[str, Any], Small, list[native.Tile]]:
    small = load_native(path, size, max_pixels=max_pixels)
    scores, tiles = native_scores(small.pixels, small.rgb)
    quality = jpeg_quality(small.quantization) if small.format in ("JPEG", "MPO") else None
    row = {"format": small.format, "mode": small.mode, "width": small.width,
           "height": small.height, "bytes": Path(path).stat().st_size,
           "jpeg_quality": None if quality is None else round(quality, 1),
           **_whole_image_scores(small), **scores}
    return row, small, tiles


def measure(path: str | Path, size: int = DEFAULT_SIZE,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Per-image scores (see CHECKS) and header facts; raises `ImageReadError` when unreadable."""
    return _measure(path, size, max_pixels)[0]


@dataclass
class Assessment:
    """`measure`'s row with the per-image `flags`, and the pixels a report shows for them."""

    row: dict[str, Any]
    flags: list[str]
    small: Small
    tiles: list[native.Tile]

    def crop(self) -> np.ndarray | None:
        """The busiest full-resolution tile (the one the native signals weigh most)."""
        return native.crop(self.small.pixels, self.tiles[0]) if self.tiles else None


def assess(path: str | Path, thresholds: Mapping[str, float] | None = None,
           size: int = DEFAULT_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS) -> Assessment:
    """Measure one image and flag it against the per-image checks (`thresholds`: check name ->
    limit for the enabled checks; default: every check at its default). The engine call that
    `quality`, `validate` and curation rules share."""
    limits = {c.name: c.threshold for c in CHECKS} if thresholds is None else dict(thresholds)
    row, small, tiles = _measure(path, size, max_pixels)
    per_image = {n: v for n, v in limits.items() if n in PER_IMAGE}
    return Assessment(row, flags_for(row, per_image), small, tiles)


def outlier_scores(values: Sequence[float]) -> np.ndarray:
    """Distance beyond the quartiles in IQR units (0 inside [Q1, Q3]); IQR at least MIN_IQR."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return x
    q1, q3 = np.percentile(x, [25, 75])
    iqr = max(q3 - q1, MIN_IQR)
    return np.maximum(np.maximum(q1 - x, x - q3), 0.0) / iqr


def add_outlier_scores(rows: list[dict[str, Any]]) -> None:
    """Fill `size_outlier` and `aspect_outlier` for every row, relative to all rows."""
    if not rows:
        return
    w = np.array([max(r["width"], 1) for r in rows], dtype=np.float64)
    h = np.array([max(r["height"], 1) for r in rows], dtype=np.float64)
    for row, s, a in zip(rows, outlier_scores(0.5 * np.log(w * h)),
                         outlier_scores(np.log(w / h))):
        row["size_outlier"], row["aspect_outlier"] = float(s), float(a)


def flags_for(row: dict[str, Any], thresholds: dict[str, float],
              enabled: Iterable[str] | None = None) -> list[str]:
    """Names of the checks this row fails, in CHECKS order."""
    names = set(thresholds if enabled is None else enabled)
    flagged = [c.name for c in CHECKS
               if c.name in names and c.flagged(row.get(c.score), thresholds.get(c.name))]
    if "low_information" in flagged:
        flagged = [name for name in flagged if name not in NEEDS_CONTENT]
    if "blurry" in flagged:  # blur explains the missing fine detail; the factor stays in the row
        flagged = [name for name in flagged if name != "upscaled"]
    return flagged
