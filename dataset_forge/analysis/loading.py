"""Reduced-size RGB decodes for analysis, with the header facts read on the same open.

    small = load_small(path, max_side=256)
    small.rgb, small.width, small.height, small.mode, small.format, small.info

The pixels come from `io.images.decode_rgb` (JPEG draft mode, `reduce`, EXIF orientation
applied); `width`/`height` are the stored size from the header, before orientation.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..io.images import DEFAULT_MAX_PIXELS, decode_rgb, open_image


@dataclass
class Small:
    rgb: Image.Image
    format: str | None
    mode: str
    width: int
    height: int
    info: dict[str, Any]
    quantization: dict[int, list[int]] | None = None


def load_small(path: str | Path, max_side: int = 256, *,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Small:
    """Open once, keep the header facts, decode as little as possible, return RGB <= max_side."""
    with open_image(path, max_pixels=max_pixels) as im:
        facts = dict(format=im.format, mode=im.mode, width=im.width, height=im.height,
                     info=dict(im.info), quantization=getattr(im, "quantization", None))
        rgb = decode_rgb(im, max_side=max_side)
    return Small(rgb=rgb, **facts)


def small_rgb(path: str | Path, max_side: int = 256) -> Image.Image:
    return load_small(path, max_side).rgb
