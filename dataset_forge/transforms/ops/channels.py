"""Helpers so colour and degradation ops touch colour channels only and keep alpha as it is,
and so resampling keeps the colour that fully transparent pixels hold."""
from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image


def colour_only(fn: Callable[[Image.Image], Image.Image], img: Image.Image) -> Image.Image:
    """Apply `fn` to the RGB (or L) part of `img`; alpha is put back untouched."""
    if img.mode not in ("RGBA", "LA"):
        return fn(img)
    alpha = img.getchannel("A")
    out = fn(img.convert("RGB" if img.mode == "RGBA" else "L"))
    out = out.convert("RGB" if img.mode == "RGBA" else "L")
    out.putalpha(alpha)
    return out


def array_op(fn: Callable[[np.ndarray], np.ndarray], img: Image.Image) -> Image.Image:
    """Apply a float32 HxWxC -> HxWxC function to the colour channels; clip and round to uint8."""
    def run(im: Image.Image) -> Image.Image:
        arr = np.asarray(im, dtype=np.float32)
        squeeze = arr.ndim == 2
        out = fn(arr[..., None] if squeeze else arr)
        out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return Image.fromarray(out[..., 0] if squeeze else out, im.mode)
    return colour_only(run, img)


def resample(img: Image.Image, size: tuple[int, int], method: int) -> Image.Image:
    """`img.resize(size, method)` that keeps the colour under fully transparent pixels.

    Pillow resamples RGBA and LA premultiplied, which is right where a pixel shows but leaves
    black wherever the result is fully transparent. A trainer that reads colour only (OpenCV's
    IMREAD_COLOR, as BasicSR does) would then see a white background in HQ and a black one in
    LQ. There, the colour channels resampled on their own are put back."""
    out = img.resize(size, method)
    if img.mode not in ("RGBA", "LA"):
        return out
    arr = np.array(out)
    hidden = arr[..., -1] == 0
    if not hidden.any():
        return out
    colour = np.asarray(img.convert("RGB" if img.mode == "RGBA" else "L").resize(size, method))
    arr[..., :-1][hidden] = colour.reshape(*colour.shape[:2], -1)[hidden]
    return Image.fromarray(arr, img.mode)
