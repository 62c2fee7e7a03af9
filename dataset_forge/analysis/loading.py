"""Reduced-size RGB decodes for analysis, with the header facts read on the same open.

    small = load_small(path, max_side=256)
    small.rgb, small.width, small.height, small.mode, small.format, small.info

Pillow's `reduce` refuses modes 1, P and I;16, so those are decoded in full and converted before
shrinking; JPEG uses draft mode (DCT scaling), everything else `reduce` then a bilinear resize.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..io.images import DEFAULT_MAX_PIXELS, decode, open_image, to_rgb

#: modes `Image.reduce` cannot handle
NO_REDUCE_MODES = frozenset({"1", "P", "I;16", "I;16B", "I;16L", "I;16N"})


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
        im = decode(im, max_side=None if im.mode in NO_REDUCE_MODES else max_side)
        rgb = to_rgb(im)
        if max(rgb.size) > max_side:
            rgb = rgb.copy() if rgb is im else rgb
            rgb.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        elif rgb is im:
            rgb = rgb.copy()
    return Small(rgb=rgb, **facts)


def small_rgb(path: str | Path, max_side: int = 256) -> Image.Image:
    return load_small(path, max_side).rgb
