"""Quality search: bisection on an encoder's quality to reach a target SSIM or file size.

    result = search_quality(prepared, opts, Target(ssim=0.95))
    result.quality, result.data, result.score, result.encodes

Each step encodes into memory. For SSIM the lowest quality that reaches the target wins; for
size the highest quality that fits. Integer bisection over [min_quality, max_quality] needs at
most ceil(log2(range + 1)) encodes (7 for 10..95), fewer when a step lands within tolerance.
When the first step is far inside the target (an easy, flat image), the easy end of the range
(min_quality for SSIM, max_quality for size) is tried next, so such images take 2 encodes; the
first step is placed so that this detour never breaks the bound.

SSIM is scored on a bounded-size copy: images above SSIM_MAX_PIXELS are box-averaged by one
integer factor (reference and candidate alike) before scoring, which keeps a 16 Mpx search
from spending most of its time in Gaussian filters. Memory stays bounded on large photos: each
candidate is decoded, reduced and dropped at once, and only two encodes are held (the best good
one and the latest), not every step's. Above SSIM_MAX_PIXELS, JPEG candidates of an SSIM search
are probed as baseline JPEGs with standard Huffman tables: the same quantised coefficients, so
the same pixels, as the progressive/optimised file, but encoded and decoded without a
whole-image coefficient buffer (~270 MB on an 89 Mpx photo); the chosen quality is then encoded
once more with the requested entropy coding (counted in `encodes`).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ..io import to_rgb
from ..metrics import SsimReference
from .encoders import encode
from .options import EncodeOptions
from .policy import Prepared

SSIM_TOLERANCE = 0.002     # a step within target .. target + this stops the search
BYTES_TOLERANCE = 0.03     # a step within 97% .. 100% of the size target stops the search
SSIM_MAX_PIXELS = 2_000_000  # larger images are scored on a box-averaged copy of at most this
EASY_SSIM_SHARE = 0.5      # first step with under half the allowed SSIM loss: try min_quality
EASY_BYTES_SHARE = 0.5     # first step at under half the size target: try max_quality


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
    white first (what a viewer shows). Above SSIM_MAX_PIXELS the image is reduced by the
    smallest integer factor that fits (box average), the same for reference and candidate."""
    im = im if im.mode == "L" else to_rgb(im)
    factor = math.ceil(math.sqrt(im.width * im.height / SSIM_MAX_PIXELS))
    if factor > 1:
        im = im.reduce(factor)
    return np.asarray(im)


def ssim_reference(reference: Image.Image) -> SsimReference:
    """`metrics.SsimReference` for an image, in float32 (ample for a quality search); score
    candidates with `.score(ssim_pixels(candidate))`."""
    return SsimReference(ssim_pixels(reference), dtype=np.float32)


def decode_bytes(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.copy()


def score_bytes(reference: SsimReference, data: bytes) -> float:
    """SSIM of encoded `data` against `reference`; the full decode is dropped once reduced."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return reference.score(ssim_pixels(im))


def search_quality(prepared: Prepared, opts: EncodeOptions, target: Target) -> SearchResult:
    """Bisection on quality; every candidate is encoded once at most."""
    if (target.ssim is None) == (target.bytes is None):
        raise ValueError("set exactly one of target.ssim and target.bytes")
    reference = ssim_reference(prepared.image) if target.ssim is not None else None
    final_opts, opts = opts, probe_options(prepared, opts, target)
    tried: dict[int, tuple[int, float | None]] = {}     # quality -> (bytes, score)
    held: dict[str, tuple[int, bytes]] = {}              # "good" (best so far), "last"

    def attempt(quality: int) -> tuple[int, float | None]:
        if quality not in tried:
            data = encode(prepared, opts, quality)
            score = score_bytes(reference, data) if reference else None
            tried[quality] = (len(data), score)
            held["last"] = (quality, data)
            good = score >= target.ssim if reference else len(data) <= target.bytes
            # a later good step is always a better one (lower for SSIM, higher for size)
            if good:
                held["good"] = (quality, data)
        return tried[quality]

    lo, hi = target.min_quality, target.max_quality
    by_ssim = target.ssim is not None
    # Searched in "steps" from the easy end: step 0 is min_quality for SSIM (lowest wins),
    # max_quality for size (highest wins); `good` then only grows with the step.
    def quality(step: int) -> int:
        return lo + step if by_ssim else hi - step

    def judge(step: int) -> tuple[bool, bool, bool]:
        """(good, close to the target, far inside it) for the quality at `step`."""
        size, score = attempt(quality(step))
        if by_ssim:
            good = score >= target.ssim
            return (good, good and score <= target.ssim + SSIM_TOLERANCE,
                    good and 1 - score <= (1 - target.ssim) * EASY_SSIM_SHARE)
        good = size <= target.bytes
        return (good, good and size >= target.bytes * (1 - BYTES_TOLERANCE),
                good and size <= target.bytes * EASY_BYTES_SHARE)

    best = _lowest_good_step(hi - lo, judge)
    reached = best is not None
    if best is None:  # even the best end missed: give the closest we can
        best = hi - lo
    chosen = quality(best)
    _, score = attempt(chosen)
    data = next((d for q, d in held.values() if q == chosen), None)
    encodes = len(tried)
    if data is None or final_opts is not opts:   # not held, or probed in baseline
        held.clear()
        data = encode(prepared, final_opts, chosen)
        encodes += 1
    return SearchResult(chosen, data, score, encodes, reached)


def probe_options(prepared: Prepared, opts: EncodeOptions, target: Target) -> EncodeOptions:
    """The options candidates are encoded with: baseline JPEG with standard tables for SSIM
    searches on large images (same pixels, far less memory), else `opts` itself."""
    image = prepared.image
    if (opts.format == "jpeg" and target.ssim is not None
            and image.width * image.height > SSIM_MAX_PIXELS
            and (opts.progressive or opts.jpeg_optimize)):
        return replace(opts, progressive=False, jpeg_optimize=False)
    return opts


def _lowest_good_step(last: int, judge) -> int | None:
    """Lowest step in 0..last that `judge` finds good (good is monotone), or None.

    Plain bisection needs depth = ceil(log2(last + 2)) probes. The first probe goes to a step
    `a` with at most 2**(depth-1) - 1 steps above it and at most 2**(depth-2) below it, so after
    a far-inside-the-target first probe, testing step 0 (done if good) still fits the bound."""
    depth = math.ceil(math.log2(last + 2))
    lo, hi, best = 0, last, None
    lowest, highest = last + 2 - 2 ** (depth - 1), 2 ** (depth - 2) if depth >= 2 else -1
    easy_probe = lowest <= highest
    mid = min(max(last // 2, lowest), highest) if easy_probe else last // 2
    while lo <= hi:
        good, close, easy = judge(mid)
        lo, hi = (lo, mid - 1) if good else (mid + 1, hi)
        if good:
            best = mid
            if close:
                break
            if easy and easy_probe and lo == 0 and mid > 0:
                easy_probe = False
                if judge(0)[0]:
                    return 0
                lo = 1
        mid = (lo + hi) // 2
    return best
