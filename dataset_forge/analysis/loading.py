"""Decodes for analysis, with the header facts read on the same open.

    small = load_small(path, max_side=256)          # reduced decode only (JPEG draft, reduce)
    small.rgb, small.width, small.height, small.mode, small.format, small.info

    full = load_native(path, max_side=256)          # one full-resolution decode
    full.pixels                                     # H x W x 3 uint8, upright, alpha on white
    full.rgb                                        # the same picture reduced to <= max_side

`load_native` decodes each image once at full resolution, with whichever library decodes that
format faster (`DECODERS`, measured in benchmarks/bench_analysis.py): libvips (pyvips) for
JPEG, PNG and WebP in the plain 8-bit modes, Pillow for everything else or when pyvips is not
installed. The reduced copy for the scores and the HTML thumbnails comes from the same pixels.
`width`/`height` are the stored size from the header, before orientation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..io.images import DEFAULT_MAX_PIXELS, ImageReadError, decode_rgb, open_image

#: format -> the faster full-resolution decoder on the real corpus ("vips" or "pillow")
DECODERS = {"JPEG": "vips", "PNG": "vips", "WEBP": "vips"}
#: Pillow modes whose libvips decode is the same picture (8 bits per sample, no palette)
VIPS_MODES = frozenset({"L", "LA", "RGB", "RGBA"})

try:  # optional: the binary wheel brings libvips; without it Pillow decodes everything
    import pyvips
    pyvips.cache_set_max(0)   # every file is read once: caching only holds memory
except (ImportError, OSError):  # pragma: no cover - depends on the install
    pyvips = None


@dataclass
class Small:
    rgb: Image.Image
    format: str | None
    mode: str
    width: int
    height: int
    info: dict[str, Any]
    quantization: dict[int, list[int]] | None = None
    #: full-resolution RGB (H x W x 3 uint8, upright) when decoded by `load_native`
    pixels: np.ndarray | None = None
    decoder: str = "pillow"


def _facts(im: Image.Image) -> dict[str, Any]:
    return dict(format=im.format, mode=im.mode, width=im.width, height=im.height,
                info=dict(im.info), quantization=getattr(im, "quantization", None))


def load_small(path: str | Path, max_side: int = 256, *,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Small:
    """Open once, keep the header facts, decode as little as possible, return RGB <= max_side."""
    with open_image(path, max_pixels=max_pixels) as im:
        facts = _facts(im)
        rgb = decode_rgb(im, max_side=max_side)
    return Small(rgb=rgb, **facts)


def small_rgb(path: str | Path, max_side: int = 256) -> Image.Image:
    return load_small(path, max_side).rgb


def decoder_for(fmt: str | None, mode: str) -> str:
    """"vips" or "pillow": which library decodes this image at full resolution."""
    if pyvips is None or mode not in VIPS_MODES:
        return "pillow"
    return DECODERS.get(fmt or "", "pillow")


def _vips_open(path: Path) -> "pyvips.Image":
    """libvips' image of `path`, upright (from libvips' own reading of the EXIF orientation:
    Pillow's `getexif` on a PNG decodes the whole picture to look for a late eXIf chunk)."""
    im = pyvips.Image.new_from_file(str(path), access="sequential", fail_on="truncated")
    if im.get_typeof("orientation") and im.get("orientation") not in (0, 1):
        im = pyvips.Image.new_from_file(str(path), access="random", fail_on="truncated")
        im = im.autorot()
    return im


def _vips_pixels(path: Path) -> np.ndarray:
    """Full decode with libvips: upright, 8-bit, alpha composited on white, H x W x 3."""
    try:
        im = _vips_open(path)
        if im.format != "uchar":
            im = im.cast("uchar", shift=True)
        if im.hasalpha():
            im = im.flatten(background=[255] * (im.bands - 1))
        arr = im.numpy()
    except pyvips.Error as exc:
        raise ImageReadError(f"corrupt or truncated image data "
                             f"({str(exc).strip().splitlines()[-1]})") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[..., :3]


def _reduce_factor(width: int, height: int, max_side: int) -> int:
    """The integer box reduction applied before the final bilinear fit to max_side."""
    if max(width, height) <= max_side:
        return 1
    return max(1, min(min(width, height), max(width, height)) // max_side)


def reduce_to(pixels: np.ndarray, max_side: int) -> Image.Image:
    """RGB image of `pixels` fitting in max_side: box reduction by an integer, then bilinear
    (libvips on the array in place when installed: ~5x faster than a Pillow copy)."""
    h, w = pixels.shape[:2]
    factor = _reduce_factor(w, h, max_side)
    if pyvips is None:
        im = Image.fromarray(pixels, "RGB")
        im = im.reduce(factor) if factor > 1 else im
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        return im
    pixels = np.ascontiguousarray(pixels)
    im = pyvips.Image.new_from_memory(pixels.data, w, h, 3, "uchar")
    if factor > 1:
        im = im.shrink(factor, factor)
    if max(im.width, im.height) > max_side:
        scale = max_side / max(im.width, im.height)
        im = im.resize(scale, kernel="linear")
    return Image.fromarray(im.numpy(), "RGB")


def load_native(path: str | Path, max_side: int = 256, *,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> Small:
    """Decode once at full resolution (fastest library for the format); `pixels` holds the
    upright RGB array and `rgb` the same picture reduced to <= max_side."""
    path = Path(path)
    with open_image(path, max_pixels=max_pixels) as im:
        facts = _facts(im)
        decoder = decoder_for(im.format, im.mode)
        if decoder == "pillow":
            pixels = np.asarray(decode_rgb(im))
    if decoder == "vips":
        pixels = _vips_pixels(path)
    return Small(rgb=reduce_to(pixels, max_side), pixels=pixels, decoder=decoder, **facts)
