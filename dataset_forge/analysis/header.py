"""What a file's header says, without decoding pixels.

    facts = read_header(path)   # format, mode, bits, size, bytes, frames, alpha, ICC, EXIF...

`alpha_used` (`io.images.has_transparency`) needs pixels: `read_header(path, deep=True)` decodes the image once (all of it, so
a single transparent pixel counts) and also confirms the data is complete.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PIL import Image

from ..io.images import ALPHA_MODES, DEFAULT_MAX_PIXELS, decode, has_transparency, open_image
from ..io.sniff import HEAD_BYTES, canonical, extension_mismatch, magic_format

#: bits per channel for modes that are not 8-bit
MODE_BITS = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I;16N": 16, "I": 32, "F": 32}
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
EXIF_ORIENTATION = 0x0112

COLUMNS = ["path", "format", "content_format", "extension_ok", "mode", "bits", "width", "height",
           "bytes", "frames", "has_alpha", "alpha_used", "icc_profile", "exif_orientation"]


def read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(HEAD_BYTES)


def bits_per_channel(im: Image.Image, head: bytes = b"") -> int:
    """Bits per channel; PNG palette and grey images may store fewer than 8 (read from IHDR)."""
    if im.format == "PNG" and im.mode in ("P", "L", "1"):
        depth = png_bit_depth(head)
        if depth:
            return depth
    return MODE_BITS.get(im.mode, 8)


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ALPHA_MODES or "transparency" in im.info


def exif_orientation(im: Image.Image) -> int | None:
    """EXIF orientation (1..8) from data the header already holds; never decodes pixels
    (Pillow's own `getexif` loads a whole PNG when the EXIF chunk follows the pixels)."""
    if im.format == "TIFF":
        value = getattr(im, "tag_v2", {}).get(EXIF_ORIENTATION)
        return int(value) if value else None
    raw = im.info.get("exif")
    if not raw:
        return None
    exif = Image.Exif()
    try:
        exif.load(raw)
    except Exception:  # damaged EXIF is not worth failing the file for
        return None
    value = exif.get(EXIF_ORIENTATION)
    return int(value) if isinstance(value, int) else None


def frame_count(im: Image.Image) -> int:
    try:
        return int(getattr(im, "n_frames", 1))
    except (OSError, ValueError, EOFError):
        return 1


def png_bit_depth(head: bytes) -> int | None:
    """The IHDR bit depth of a PNG from its first bytes."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and len(head) > 24:
        return head[24]
    return None


def read_header(path: str | Path, *, deep: bool = False,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Header facts for one image; raises `ImageReadError` with a one-line reason when the file
    is not a usable image. With `deep`, decodes the pixels to fill `alpha_used`."""
    path = Path(path)
    size = os.stat(path).st_size
    head = read_head(path) if size else b""
    content = magic_format(head)
    with open_image(path, max_pixels=max_pixels) as im:
        content = content or canonical(im.format)
        facts: dict[str, Any] = {
            "format": im.format, "content_format": content,
            "extension_ok": not extension_mismatch(path, content), "mode": im.mode,
            "bits": bits_per_channel(im, head), "width": im.width, "height": im.height,
            "bytes": size, "frames": frame_count(im), "has_alpha": has_alpha(im),
            "alpha_used": None, "icc_profile": bool(im.info.get("icc_profile")),
            "exif_orientation": exif_orientation(im),
        }
        if deep:
            im.seek(0)
            loaded = decode(im)
            if facts["has_alpha"]:
                facts["alpha_used"] = has_transparency(loaded)
    return facts

