"""How faithfully a file stores its picture, read from its header (for choosing the keeper).

    lossless, quality, reduced = encoding_facts(im, path)    # an open PIL image and its file

`lossless`: True for encodings that store pixels exactly (PNG, GIF, BMP, TIFF without JPEG
compression, WebP lossless, PPM, QOI, TGA), False for lossy ones (JPEG, lossy WebP, AVIF,
HEIF, JPEG-compressed TIFF), None when the format does not say (JPEG 2000, anything else).
`quality`: a JPEG's quality (1-100) estimated from its luminance quantisation table against
the IJG tables libjpeg, Pillow, browsers and cameras scale (the standard's Annex K table);
None for other formats.
`reduced`: the file holds at most 256 colours (palette or bilevel) or several frames: exact to
its palette, but a quantised copy of a photograph, not its original (ranked after true-colour
files).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image

LOSSLESS = frozenset({"PNG", "GIF", "BMP", "DIB", "PPM", "QOI", "TGA", "ICO", "PCX"})
LOSSY = frozenset({"JPEG", "MPO", "AVIF", "HEIF"})
#: ITU-T T.81 Annex K luminance quantisation table (natural order; only its sum is used)
ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.int64)


@functools.lru_cache(maxsize=1)
def _table_sums() -> np.ndarray:
    """Sum of the IJG luminance table at each quality 1..100 (libjpeg's scaling)."""
    sums = []
    for q in range(1, 101):
        scale = 5000 // q if q < 50 else 200 - 2 * q
        sums.append(int(np.clip((ANNEX_K_LUMA * scale + 50) // 100, 1, 255).sum()))
    return np.array(sums)


def jpeg_quality(im: Image.Image) -> int | None:
    """The quality whose IJG luminance table is closest (by its sum, order-free) to the
    file's first table; None without tables."""
    tables = getattr(im, "quantization", None) or {}
    if not tables:
        return None
    first = np.asarray(tables[min(tables)], np.int64)
    return int(np.argmin(np.abs(_table_sums() - first.sum()))) + 1


def encoding_facts(im: Image.Image, path: str | Path) -> tuple[bool | None, int | None, bool]:
    """(lossless?, JPEG quality, colour-reduced or animated?) of an open image (header only;
    nothing is decoded)."""
    fmt = im.format or ""
    reduced = im.mode in ("P", "PA", "1") or getattr(im, "n_frames", 1) > 1
    if fmt in LOSSY:
        return False, jpeg_quality(im) if fmt in ("JPEG", "MPO") else None, reduced
    if fmt in LOSSLESS:
        return True, None, reduced
    if fmt == "TIFF":
        return "jpeg" not in str(im.info.get("compression", "")).lower(), None, reduced
    if fmt == "WEBP":
        return _webp_lossless(path), None, reduced
    return None, None, reduced


def _webp_lossless(path: str | Path) -> bool | None:
    """A WebP's first chunk names its codec: VP8L lossless, VP8 lossy (VP8X, the extended
    layout, puts optional chunks first: not followed here)."""
    with open(path, "rb") as fh:
        chunk = fh.read(16)[12:16]
    return {b"VP8L": True, b"VP8 ": False}.get(chunk)
