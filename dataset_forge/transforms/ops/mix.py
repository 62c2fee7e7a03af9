"""Mixing two images: mixup (weighted blend) and CutMix (a pasted box), weights from Beta."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image


def mixup(a: Image.Image, b: Image.Image, lam: float) -> Image.Image:
    """lam * a + (1 - lam) * b; `b` must already have a's size and mode."""
    return Image.blend(b, a, lam)


def cutmix_box(size: tuple[int, int], lam: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A box covering about (1 - lam) of the image at a random centre, clipped to the image."""
    w, h = size
    cut = math.sqrt(1.0 - lam)
    cw, ch = round(w * cut), round(h * cut)
    cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
    return (max(0, cx - cw // 2), max(0, cy - ch // 2), min(w, cx + cw - cw // 2),
            min(h, cy + ch - ch // 2))


def cutmix(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    out = a.copy()
    out.paste(b.crop(box), box[:2])
    return out
