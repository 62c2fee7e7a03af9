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

from ..io import to_rgb
from ..metrics import SsimReference
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


def ssim_pixels(im: Image.Image) -> np.ndarray:
    """What SSIM compares: grey stays grey, anything else is RGB with alpha composited onto
    white first (what a viewer shows)."""
    return np.asarray(im if im.mode == "L" else to_rgb(im))


def ssim_reference(reference: Image.Image) -> SsimReference:
    """`metrics.SsimReference` for an image, in float32 (ample for a quality search); score
    candidates with `.score(ssim_pixels(candidate))`."""
    return SsimReference(ssim_pixels(reference), dtype=np.float32)


def decode_bytes(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.copy()


def search_quality(prepared: Prepared, opts: EncodeOptions, target: Target) -> SearchResult:
    """Bisection on quality; every candidate is encoded once at most."""
    if (target.ssim is None) == (target.bytes is None):
        raise ValueError("set exactly one of target.ssim and target.bytes")
    reference = ssim_reference(prepared.image) if target.ssim is not None else None
    tried: dict[int, tuple[bytes, float | None]] = {}

    def attempt(quality: int) -> tuple[bytes, float | None]:
        if quality not in tried:
            data = encode(prepared, opts, quality)
            score = reference.score(ssim_pixels(decode_bytes(data))) if reference else None
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
