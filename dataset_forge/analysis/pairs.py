"""HQ/LQ pairs: scale per pair, the dataset's dominant integer scale, and alignment.

    row = measure_pair((hq, lq), align=True)      # sizes, scales, SSIM/PSNR, shift (worker)
    scale = dominant_scale(rows)                  # e.g. 4
    classify(row, scale, tolerance=2)             # "ok", "off_by_pixels", "anisotropic", ...

Alignment downsizes HQ to the LQ size (both at most `size` pixels on the long side), then
compares them: SSIM and PSNR say whether it is the same picture; phase correlation says by how
many LQ pixels it is shifted.
"""
from __future__ import annotations

import collections
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from ..io.images import DEFAULT_MAX_PIXELS, open_image
from ..metrics import luma, psnr, ssim
from .loading import load_small

ALIGN_SIZE = 256
#: scales closer than this to an integer count as that integer
INTEGER_EPS = 1e-6
#: width and height scales further apart than this (relative) make a pair anisotropic
ANISOTROPY = 0.01

SCALE_STATUSES = ("ok", "other_scale", "off_by_pixels", "anisotropic", "non_integer",
                  "lq_not_smaller")
COLUMNS = ["hq", "lq", "hq_width", "hq_height", "lq_width", "lq_height", "scale_w", "scale_h",
           "scale_status", "ssim", "psnr", "shift_x", "shift_y", "aligned"]


def pair_sizes(hq: Path, lq: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    with open_image(hq, max_pixels=max_pixels) as a, open_image(lq, max_pixels=max_pixels) as b:
        hw, hh, lw, lh = a.width, a.height, b.width, b.height
    return {"hq_width": hw, "hq_height": hh, "lq_width": lw, "lq_height": lh,
            "scale_w": hw / lw, "scale_h": hh / lh}


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """Integer (dx, dy) by which `b` is displaced relative to `a` (phase correlation)."""
    window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
    fa, fb = np.fft.rfft2((a - a.mean()) * window), np.fft.rfft2((b - b.mean()) * window)
    cross = fb * np.conj(fa)
    cross /= np.maximum(np.abs(cross), 1e-9)
    corr = np.fft.irfft2(cross, s=a.shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    h, w = a.shape
    dx, dy = (int(dx - w) if dx > w // 2 else int(dx)), (int(dy - h) if dy > h // 2 else int(dy))
    # On flat or noisy content the correlation peak is noise: keep a shift only when the
    # images really match better with it than without it.
    if (dx, dy) != (0, 0) and _overlap_mse(a, b, dx, dy) > SHIFT_GAIN * _overlap_mse(a, b, 0, 0):
        return 0, 0
    return dx, dy


SHIFT_GAIN = 0.5  # a shift must at least halve the mean squared error to be reported


def _overlap_mse(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    """Mean squared difference where `b`, displaced by (dx, dy), overlaps `a`."""
    h, w = a.shape
    ay, by = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
    ax, bx = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
    diff = a[ay, ax] - b[by, bx]
    return float(np.mean(diff * diff)) if diff.size else float("inf")


def alignment(hq: Path, lq: Path, size: int = ALIGN_SIZE,
              max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """SSIM, PSNR and shift (in LQ pixels) of HQ downsized onto LQ."""
    small_lq = load_small(lq, size, max_pixels=max_pixels)
    target = small_lq.rgb.size
    small_hq = load_small(hq, 2 * max(target), max_pixels=max_pixels)
    hq_arr = np.asarray(small_hq.rgb.resize(target, Image.Resampling.LANCZOS))
    lq_arr = np.asarray(small_lq.rgb)
    dx, dy = phase_shift(luma(hq_arr), luma(lq_arr)) if min(target) >= 8 else (0, 0)
    per_px = max(small_lq.width, small_lq.height) / max(target)  # same under EXIF rotation
    return {"ssim": ssim(hq_arr, lq_arr), "psnr": float(psnr(hq_arr, lq_arr)),
            "shift_x": round(dx * per_px, 1), "shift_y": round(dy * per_px, 1)}


def measure_pair(pair: tuple[Path, Path], align: bool = True, size: int = ALIGN_SIZE,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Sizes and scales of one pair, plus alignment scores when `align`."""
    hq, lq = pair
    row = pair_sizes(hq, lq, max_pixels)
    if align:
        row.update(alignment(hq, lq, size, max_pixels))
    return row


def _is_integer(x: float) -> bool:
    return abs(x - round(x)) < INTEGER_EPS and round(x) >= 1


def dominant_scale(rows: Iterable[dict[str, Any]]) -> int | None:
    """The most common exact integer isotropic scale; failing that, the most common rounded
    scale; None when there are no pairs."""
    exact: collections.Counter = collections.Counter()
    rounded: collections.Counter = collections.Counter()
    for row in rows:
        sw, sh = row["scale_w"], row["scale_h"]
        if _is_integer(sw) and _is_integer(sh) and round(sw) == round(sh):
            exact[round(sw)] += 1
        rounded[max(1, round((sw + sh) / 2))] += 1
    counts = exact or rounded
    if not counts:
        return None
    best = max(counts.values())
    return min(k for k, v in counts.items() if v == best)


def classify(row: dict[str, Any], scale: int | None, tolerance: float = 2.0) -> str:
    """How a pair's sizes relate to the dominant `scale` (see SCALE_STATUSES)."""
    sw, sh = row["scale_w"], row["scale_h"]
    if sw < 1 or sh < 1 or (sw == 1 and sh == 1 and (scale or 1) > 1):
        return "lq_not_smaller"
    exact = _is_integer(sw) and _is_integer(sh) and round(sw) == round(sh)
    if exact:
        return "ok" if scale is None or round(sw) == scale else "other_scale"
    if scale:
        off_w = abs(row["lq_width"] - row["hq_width"] / scale)
        off_h = abs(row["lq_height"] - row["hq_height"] / scale)
        if off_w <= tolerance and off_h <= tolerance:
            return "off_by_pixels"
    if abs(sw - sh) / max(sw, sh) > ANISOTROPY:
        return "anisotropic"
    return "non_integer"


def is_aligned(row: dict[str, Any], min_ssim: float, max_shift: float) -> bool | None:
    """None when alignment was not measured."""
    if row.get("ssim") is None:
        return None
    shift = math.hypot(row.get("shift_x") or 0.0, row.get("shift_y") or 0.0)
    return row["ssim"] >= min_ssim and shift <= max_shift
