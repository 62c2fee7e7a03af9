"""Reading images safely and cheaply: one place that knows Pillow's modes and pitfalls.

    im = open_image(path)                      # header only, bomb-checked, clear errors
    im = open_image(path, max_pixels=500_000_000)   # the caller's limit is the only one
    rgb = load_rgb(path, max_side=64)          # reduced-size decode (JPEG draft, reduce)

Every Pillow mode (1, L, LA, P, PA, RGB, RGBA, CMYK, I;16, I, F, YCbCr, ...) converts to RGB
through `to_rgb`; alpha is composited onto a background instead of being dropped blindly.
"""
from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's own default bomb limit (~ 13k x 13k)
REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I", "F"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})


class ImageReadError(ValueError):
    """A file that is not a usable image; the message is the one-line finding."""


def allow_pixels(max_pixels: int | None) -> None:
    """Make our own limit the one that counts: Pillow warns above `MAX_IMAGE_PIXELS` and
    raises above twice that, so a larger `max_pixels` (or none) raises Pillow's bound to fit.
    The bound only ever grows, so concurrent callers with different limits stay safe; each
    caller still checks its own limit in `open_image`."""
    current = Image.MAX_IMAGE_PIXELS
    if current is None:
        return
    if not max_pixels:
        Image.MAX_IMAGE_PIXELS = None
    elif max_pixels > current:
        Image.MAX_IMAGE_PIXELS = max_pixels   # warnings and errors both start above it


def open_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open lazily (header only). Zero-byte, unidentified, cut-short and oversized files raise
    `ImageReadError` with a clear reason. `max_pixels` (0: no limit) is the one limit: Pillow's
    own warning threshold (89 Mpx) is not an error, so a legitimate 108 Mpx photo opens."""
    path = Path(path)
    if os.stat(path).st_size == 0:
        raise ImageReadError("empty file (0 bytes)")
    allow_pixels(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.UnidentifiedImageError:
        raise ImageReadError("not an image Pillow can read") from None
    except Image.DecompressionBombError:
        raise ImageReadError("decompression bomb: too many pixels") from None
    except (FileNotFoundError, PermissionError):
        raise
    except (OSError, SyntaxError, ValueError, struct.error) as exc:  # a header cut short
        raise ImageReadError(f"corrupt or truncated image header ({exc})") from None
    if max_pixels and im.width * im.height > max_pixels:
        im.close()
        raise ImageReadError(f"decompression bomb: {im.width}x{im.height} pixels exceeds the "
                             f"limit of {max_pixels:,}")
    return im


def decode(im: Image.Image, *, max_side: int | None = None) -> Image.Image:
    """Load pixels, as small as allowed: JPEG draft mode and `reduce` when `max_side` is set.

    Truncated or corrupt data raises `ImageReadError`.
    """
    try:
        if max_side and max(im.size) > max_side:
            if im.format == "JPEG":
                im.draft(im.mode if im.mode in ("RGB", "L") else None, (max_side, max_side))
            im.load()
            factor = max(1, min(im.width, im.height) // max_side)
            factor = min(factor, max(im.size) // max_side)
            if factor > 1 and im.mode in REDUCIBLE_MODES:
                im = im.reduce(factor)  # other modes are shrunk after conversion to RGB
        else:
            im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image data ({exc})") from None
    return im


def first_frame_only(frames: int) -> str:
    """The per-item finding of an animated input of which only the first frame was used."""
    return (f"animated ({frames} frames): only the first frame was used, "
            f"the other {frames - 1} were dropped")


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any mode to RGB. Alpha is composited onto `background`; 16/32-bit and float images are
    scaled to 8 bits by their real range rather than clipped."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        if im.mode == "F" and arr.max() <= 1.0:
            top = 1.0
        grey = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ALPHA_MODES:
        rgba = im.convert("RGBA")
        base = Image.new("RGB", rgba.size, background)
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    return im.convert("RGB")


def has_transparency(im: Image.Image) -> bool:
    """Whether any pixel is less than fully opaque (the image must be loaded): an alpha band,
    or a palette / single colour marked transparent."""
    if im.mode not in ALPHA_MODES:
        if "transparency" not in im.info:
            return False
        im = im.convert("RGBA")
    low, _ = im.getchannel("A").getextrema()
    return low < 255


def decode_rgb(im: Image.Image, *, max_side: int | None = None,
               exif_transpose: bool = True) -> Image.Image:
    """An opened image (header facts still readable on it) to RGB: decoded as small as
    allowed, EXIF orientation applied, shrunk to fit `max_side`. Always a new image."""
    loaded = decode(im, max_side=max_side)
    upright = ImageOps.exif_transpose(loaded) if exif_transpose else loaded
    rgb = to_rgb(upright)
    if max_side and max(rgb.size) > max_side:
        rgb = rgb.copy() if rgb is im else rgb
        rgb.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return rgb.copy() if rgb is im else rgb


def load_rgb(path: str | Path, *, max_side: int | None = None, exif_transpose: bool = True,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open, decode (reduced when `max_side`), apply EXIF orientation, convert to RGB."""
    with open_image(path, max_pixels=max_pixels) as im:
        return decode_rgb(im, max_side=max_side, exif_transpose=exif_transpose)
