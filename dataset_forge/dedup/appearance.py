"""What perceptual methods look at: the image as seen over mid-grey, and whether it is flat.

    grey, flat = hashing_view(path, side=128)     # an "L" image, and True when near-constant

Transparency: `load_rgb` flattens alpha onto white, so two different white (or light) overlays
both become a blank white page and hash alike. Images with real transparency are composited
onto mid-grey instead (`ALPHA_BACKGROUND`), so their alpha pattern is part of what is hashed:
light content shows brighter than the background, dark content darker. Opaque images are
unchanged.

Flatness: a near-constant image (luma standard deviation below `FLAT_LUMA_STD` on 0-255, on the
reduced decode) has a degenerate perceptual hash or embedding that matches every other flat
image, so dedup never pairs such images by hash or embedding, only by identical pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..io import decode, open_image, to_rgb
from ..io.images import has_transparency
from ..parallel import WorkKind

ALPHA_BACKGROUND = (128, 128, 128)
FLAT_LUMA_STD = 2.0
FLAT_PROBE_SIDE = 128


def luma_std(grey: Image.Image) -> float:
    return float(np.asarray(grey, dtype=np.float32).std())


def is_flat(grey: Image.Image) -> bool:
    """Whether an "L" image is near-constant (too flat to compare perceptually)."""
    return luma_std(grey) < FLAT_LUMA_STD


def hashing_rgb(path: str | Path, side: int) -> Image.Image:
    """The image decoded to fit `side`, upright, in RGB; real transparency over mid-grey."""
    with open_image(path) as im:
        loaded = ImageOps.exif_transpose(decode(im, max_side=side))
        background = ALPHA_BACKGROUND if has_transparency(loaded) else (255, 255, 255)
        rgb = to_rgb(loaded, background)
        rgb = rgb.copy() if rgb is im else rgb
    if max(rgb.size) > side:
        rgb.thumbnail((side, side), Image.Resampling.BILINEAR)
    return rgb


def hashing_view(path: str | Path, side: int) -> tuple[Image.Image, bool]:
    """(greyscale view, flat?) of one image, as perceptual hashing sees it."""
    grey = hashing_rgb(path, side).convert("L")
    return grey, is_flat(grey)


def flat_flag(path: str | Path) -> np.ndarray:
    """Worker: [1] when the image is flat, else [0] (for methods that do not decode it here)."""
    return np.array([hashing_view(path, FLAT_PROBE_SIDE)[1]], np.uint8)


class FlatnessProbe:
    """Flatness as a cached feature (one byte per image), for methods such as CLIP whose own
    encoder does not report it; used with `encode_all` like any method."""
    name = "flatness"
    feature_dtype = np.uint8
    feature_shape = (1,)
    key = f"flat:{FLAT_PROBE_SIDE}:{FLAT_LUMA_STD}:alpha-grey"

    def encode(self, ctx, paths: list):
        return ctx.map(flat_flag, paths, kind=WorkKind.CPU, label="flatness")
