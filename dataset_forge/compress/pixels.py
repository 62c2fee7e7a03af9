"""Pixel identity: digests of what an image holds, so a source and its output compare without
both being held in memory at once.

    before = pixel_print(source_image)                # raw: mode, orientation, pixel bytes
    after = pixel_print(output_image)
    same = before == after or (comparable_only_canonically(before, after)
                               and canonical_digest(source) == canonical_digest(output))

The raw print hashes the stored pixels in their own mode with the EXIF orientation alongside
(fast: no conversion). When the two files store the picture differently (another mode, another
orientation), the canonical digest compares what a viewer shows: orientation applied, integer
grey of any depth as "I", float as "F", everything else as RGBA. A lossless change of storage
(grey stored as RGB, an opaque alpha band added, pixels turned upright) then compares equal;
any changed value does not. Rows are hashed in strips: memory beyond the decoded image is small.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

ORIENTATION_TAG = 0x0112
STRIP_ROWS = 256
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class PixelPrint:
    mode: str
    orientation: int
    size: tuple[int, int]
    digest: str


def orientation(im: Image.Image) -> int:
    return im.getexif().get(ORIENTATION_TAG, 1) or 1


def upright(im: Image.Image) -> Image.Image:
    """`im` turned as its EXIF orientation says; `im` itself when there is nothing to turn
    (ImageOps.exif_transpose would copy every pixel even then)."""
    if orientation(im) == 1:
        return im
    return ImageOps.exif_transpose(im)


def _strips(im: Image.Image):
    width, height = im.size
    for top in range(0, height, STRIP_ROWS):
        yield im.crop((0, top, width, min(height, top + STRIP_ROWS)))


def pixel_print(im: Image.Image) -> PixelPrint:
    """The stored pixels as they are (loads the image)."""
    im.load()
    digest = hashlib.sha256()
    for strip in _strips(im):
        digest.update(strip.tobytes())
    if im.mode == "P":
        digest.update(bytes(im.getpalette(rawmode="RGBA") or ()))
        digest.update(repr(im.info.get("transparency")).encode())
    return PixelPrint(im.mode, orientation(im), im.size, digest.hexdigest())


def comparable_only_canonically(a: PixelPrint, b: PixelPrint) -> bool:
    """Raw prints that may differ only because the files store the picture differently:
    another mode or orientation, or a palette (oxipng may reorder its entries)."""
    return a.mode != b.mode or a.orientation != b.orientation or a.mode == "P"


def canonical_mode(mode: str) -> str:
    """Integer grey of any depth -> "I", float -> "F", everything else -> "RGBA"."""
    if mode in DEEP_MODES:
        return "I"
    return "F" if mode == "F" else "RGBA"


def canonical_digest(im: Image.Image) -> str:
    """SHA-256 of the upright pixels in their canonical mode (loads the image)."""
    im.load()
    im = upright(im)
    mode = canonical_mode(im.mode)
    digest = hashlib.sha256(f"{mode} {im.width}x{im.height}\n".encode())
    for strip in _strips(im):
        if mode == "RGBA":
            digest.update(strip.convert("RGBA").tobytes())
        else:
            digest.update(np.asarray(strip, dtype=np.int64 if mode == "I" else np.float64)
                          .tobytes())
    return digest.hexdigest()
