"""Quality scores: each check is a continuous score and a threshold the user can change.

    row = measure(path, size=256)                 # per image, in a worker
    rows = add_outlier_scores(rows)               # odd size / aspect: relative to the dataset
    flags = flags_for(row, thresholds)            # ["dark", "blurry"]

Pixel scores are computed on a reduced decode (at most `size` pixels on the long side), so they
cost a fraction of a full decode. An image flagged `low_information` gets no dark, light, blurry
or grayscale flag: for an image without content those say nothing more.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..io.images import DEFAULT_MAX_PIXELS
from .header import GREY_MODES
from .loading import load_small

DEFAULT_SIZE = 256
#: a flat image (mean gradient below this, in 8-bit levels) has no sharpness to measure
FLAT_GRADIENT = 0.5
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
    Check("blurry", "sharpness", "below", 0.60,
          "mean |Laplacian| / mean |gradient| of the luma: ~1 or more for sharp photos, "
          "lower when edges are smeared; independent of contrast"),
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
          "JPEG only: 1 - quality/100, quality estimated from the quantisation tables "
          "(0.5 = quality 50); empty for other formats"),
)
CHECKS_BY_NAME = {c.name: c for c in CHECKS}
#: checks whose flag a low-information image does not also get
NEEDS_CONTENT = frozenset({"dark", "light", "blurry", "grayscale"})
#: smallest IQR used for outliers (in log units), so a uniform dataset does not flag 1-pixel noise
MIN_IQR = 0.1

SCORE_COLUMNS = ["brightness", "sharpness", "entropy", "colourfulness", "size_outlier",
                 "aspect_outlier", "blockiness"]
COLUMNS = ["path", "format", "mode", "width", "height", "bytes", "jpeg_quality",
           *SCORE_COLUMNS, "flags"]


def jpeg_quality(quantization: dict[int, list[int]] | None) -> float | None:
    """IJG quality (1..100) that would produce this luminance table, from its sum."""
    if not quantization or 0 not in quantization:
        return None
    scale = 100.0 * sum(quantization[0]) / _IJG_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return float(min(100.0, max(1.0, quality)))


def entropy(luma8: np.ndarray) -> float:
    """Shannon entropy of the 8-bit histogram, in bits / 8 (0..1)."""
    hist = np.bincount(luma8.ravel(), minlength=256).astype(np.float64)
    p = hist[hist > 0] / luma8.size
    return float(-(p * np.log2(p)).sum() / 8.0)


def sharpness(luma: np.ndarray) -> float:
    """Mean |Laplacian| over mean |gradient|: how abruptly edges change, whatever the contrast.
    NaN for images too small or too flat to tell."""
    if min(luma.shape) < 3:
        return float("nan")
    c = luma[1:-1, 1:-1]
    lap = 4 * c - luma[:-2, 1:-1] - luma[2:, 1:-1] - luma[1:-1, :-2] - luma[1:-1, 2:]
    grad = np.abs(luma[1:-1, 2:] - c) + np.abs(luma[2:, 1:-1] - c)
    mean_grad = float(grad.mean())
    if mean_grad < FLAT_GRADIENT:
        return float("nan")
    return float(np.abs(lap).mean() / mean_grad)


def measure(path: str | Path, size: int = DEFAULT_SIZE,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Per-image scores (see CHECKS) and header facts; raises `ImageReadError` when unreadable."""
    small = load_small(path, size, max_pixels=max_pixels)
    arr = np.asarray(small.rgb)
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    luma = r * np.float32(0.299) + g * np.float32(0.587) + b * np.float32(0.114)
    luma8 = (luma + 0.5).astype(np.uint8)
    if small.mode in GREY_MODES:
        colour = 0.0
    else:
        spread = (np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)).ravel()
        k = int(0.99 * (spread.size - 1))
        colour = float(np.partition(spread, k)[k] / 255.0)
    quality = jpeg_quality(small.quantization) if small.format in ("JPEG", "MPO") else None
    return {
        "format": small.format, "mode": small.mode, "width": small.width,
        "height": small.height, "bytes": Path(path).stat().st_size,
        "jpeg_quality": None if quality is None else round(quality, 1),
        "brightness": float(luma.mean() / 255.0), "sharpness": sharpness(luma),
        "entropy": entropy(luma8), "colourfulness": colour,
        "blockiness": None if quality is None else 1.0 - quality / 100.0,
    }


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
    return flagged
