"""Fitting a real-world HQ/LQ pair to an exact integer scale before pair transforms.

    hq, lq, trim = fit_pair(hq, lq, tolerance=2.0)   # trim: None, or what was cut (for the log)

Tools that make LQ by integer division leave HQ a few pixels over LQ x scale (HQ 1774x1089,
LQ 443x272 at x4). Such a pair is trimmed at the right and bottom edges (the convention of
mod-cropping, so pixel (0, 0) stays aligned) to HQ = LQ x scale exactly. A pair whose LQ is more
than `tolerance` LQ pixels away from HQ / scale on either side is not the same picture at an
integer scale: ValueError with one line.
"""
from __future__ import annotations

from typing import Any

from PIL import Image


def pair_scale(hq: tuple[int, int], lq: tuple[int, int]) -> int:
    """The integer scale nearest to the pair's mean width and height ratio (at least 1)."""
    return max(1, round((hq[0] / lq[0] + hq[1] / lq[1]) / 2))


def mismatch(hq_size: tuple[int, int], lq_size: tuple[int, int]) -> str:
    (hw, hh), (lw, lh) = hq_size, lq_size
    return f"HQ {hw}x{hh} and LQ {lw}x{lh} are not an integer scale apart"


def fit_pair(hq: Image.Image, lq: Image.Image, tolerance: float
             ) -> tuple[Image.Image, Image.Image, dict[str, Any] | None]:
    """Trim the pair to HQ = LQ x scale; `None` as the record when it already was exact."""
    scale = pair_scale(hq.size, lq.size)
    off = max(abs(lq.width - hq.width / scale), abs(lq.height - hq.height / scale))
    if lq.width > hq.width or lq.height > hq.height or off > tolerance:
        raise ValueError(f"{mismatch(hq.size, lq.size)}: LQ is {off:.1f} px off HQ / {scale}, "
                         f"beyond --pixel-tolerance {tolerance:g}")
    lw, lh = min(lq.width, hq.width // scale), min(lq.height, hq.height // scale)
    if (lw * scale, lh * scale) == hq.size and (lw, lh) == lq.size:
        return hq, lq, None
    trim = {"scale": scale, "hq": list(hq.size), "lq": list(lq.size),
            "hq_to": [lw * scale, lh * scale], "lq_to": [lw, lh]}
    if (lw, lh) != lq.size:
        lq = lq.crop((0, 0, lw, lh))
    if (lw * scale, lh * scale) != hq.size:
        hq = hq.crop((0, 0, lw * scale, lh * scale))
    return hq, lq, trim


def describe_trim(trim: dict[str, Any]) -> str:
    """One report line: 'trimmed HQ 1774x1089 -> 1772x1088 (LQ 443x272, x4)'."""
    def size(key: str) -> str:
        return "x".join(map(str, trim[key]))
    lq = f"LQ {size('lq')}" + (f" -> {size('lq_to')}" if trim["lq"] != trim["lq_to"] else "")
    return f"trimmed HQ {size('hq')} -> {size('hq_to')} ({lq}, x{trim['scale']})"
