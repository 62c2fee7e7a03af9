"""Quality search: bisection on an encoder's quality to reach a target SSIM or file size.

    result = search_quality(prepared, opts, Target(ssim=0.95))
    result.quality, result.data, result.score, result.encodes

Each step encodes into memory. For SSIM the lowest quality that reaches the target wins; for
size the highest quality that fits. Integer bisection over [min_quality, max_quality] needs at
most ceil(log2(range + 1)) encodes (7 for 1..100), fewer when a step lands within tolerance.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from ..io import to_rgb
from ..metrics import _C1, _C2, luma
from .encoders import encode
from .options import EncodeOptions
from .policy import Prepared

SSIM_TOLERANCE = 0.002     # a step within target .. target + this stops the search
BYTES_TOLERANCE = 0.03     # a step within 97% .. 100% of the size target stops the search


@dataclass(frozen=True)
class Target:
    """What the search aims for: a minimum SSIM or a maximum size (exactly one is set)."""

    ssim: float | None = None
    bytes: int | None = None
    min_quality: int = 10
    max_quality: int = 95


@dataclass
class SearchResult:
    quality: int
    data: bytes
    score: float | None      # SSIM of the chosen encode (None when searching by size only)
    encodes: int
    reached: bool            # False when even the best end of the range missed the target


class SsimReference:
    """SSIM (same definition as `metrics.ssim`) against one fixed reference, for many candidates.

    The reference's luma, local means and variances are computed once; each candidate costs
    three Gaussian filters in float32 instead of five in float64.
    """

    def __init__(self, reference: Image.Image, sigma: float = 1.5) -> None:
        self.sigma = sigma
        self.x = _luma32(reference)
        self.mx = gaussian_filter(self.x, sigma)
        self.vx = gaussian_filter(self.x * self.x, sigma) - self.mx * self.mx

    def score(self, candidate: Image.Image) -> float:
        y = _luma32(candidate)
        if y.shape != self.x.shape:
            raise ValueError(f"candidate is {y.shape[::-1]}, reference {self.x.shape[::-1]}")
        s = self.sigma
        my = gaussian_filter(y, s)
        vy = gaussian_filter(y * y, s) - my * my
        cov = gaussian_filter(self.x * y, s) - self.mx * my
        num = (2 * self.mx * my + _C1) * (2 * cov + _C2)
        den = (self.mx * self.mx + my * my + _C1) * (self.vx + vy + _C2)
        return float(np.mean(num / den, dtype=np.float64))


def _luma32(im: Image.Image) -> np.ndarray:
    """Luma as float32; alpha is composited onto white first (what a viewer shows)."""
    if im.mode != "L":
        im = to_rgb(im)
    return luma(np.asarray(im)).astype(np.float32)


def decode_bytes(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.copy()


def search_quality(prepared: Prepared, opts: EncodeOptions, target: Target) -> SearchResult:
    """Bisection on quality; every candidate is encoded once at most."""
    if (target.ssim is None) == (target.bytes is None):
        raise ValueError("set exactly one of target.ssim and target.bytes")
    reference = SsimReference(prepared.image) if target.ssim is not None else None
    tried: dict[int, tuple[bytes, float | None]] = {}

    def attempt(quality: int) -> tuple[bytes, float | None]:
        if quality not in tried:
            data = encode(prepared, opts, quality)
            score = reference.score(decode_bytes(data)) if reference else None
            tried[quality] = (data, score)
        return tried[quality]

    lo, hi = target.min_quality, target.max_quality
    best: int | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        data, score = attempt(mid)
        if target.ssim is not None:
            good = score >= target.ssim
            close = good and score <= target.ssim + SSIM_TOLERANCE
            lo, hi = (lo, mid - 1) if good else (mid + 1, hi)   # look lower when good
        else:
            good = len(data) <= target.bytes
            close = good and len(data) >= target.bytes * (1 - BYTES_TOLERANCE)
            lo, hi = (mid + 1, hi) if good else (lo, mid - 1)   # look higher when it fits
        if good:
            best = mid
            if close:
                break
    reached = best is not None
    if best is None:  # even the best end missed: give the closest we can
        best = target.max_quality if target.ssim is not None else target.min_quality
    data, score = attempt(best)
    return SearchResult(best, data, score, len(tried), reached)
