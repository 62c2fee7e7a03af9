"""Random crops, flips and 90-degree rotations on numpy images, in lockstep for HQ/LQ pairs.

    hq, lq = paired_crop(hq, lq, hq_size=128, scale=4, rng=rng)   # LQ crop = HQ crop / 4
    hq, lq = flip_rotate([hq, lq], rng, hflip=True, vflip=True, rot90=True)

The crop position is drawn on the LQ grid and multiplied by the scale, so the LQ patch covers
exactly the HQ patch's area. Arrays are HxWxC uint8; no interpolation ever happens here.
"""
from __future__ import annotations

import numpy as np


class SampleError(ValueError):
    """A sample that cannot be used (too small, not an integer scale apart): skipped, counted."""


def pair_scale(hq: np.ndarray, lq: np.ndarray, scale: int | None = None) -> int:
    """The integer scale between HQ and LQ (checked against `scale` when given)."""
    (hh, hw), (lh, lw) = hq.shape[:2], lq.shape[:2]
    found = hw // lw if lw and hw % lw == 0 and lh and hh == lh * (hw // lw) else None
    if found is None or (scale and found != scale):
        want = f"x{scale}" if scale else "an integer scale"
        raise SampleError(f"HQ {hw}x{hh} and LQ {lw}x{lh} are not {want} apart")
    return found


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    if h < size or w < size:
        raise SampleError(f"image {w}x{h} is smaller than the {size}px crop")
    top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return image[top:top + size, left:left + size]


def paired_crop(hq: np.ndarray, lq: np.ndarray, hq_size: int, scale: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if hq_size % scale:
        raise SampleError(f"crop {hq_size} is not a multiple of the scale {scale}")
    size = hq_size // scale
    lh, lw = lq.shape[:2]
    if lh < size or lw < size:
        raise SampleError(f"LQ {lw}x{lh} is smaller than the {size}px LQ crop")
    top, left = int(rng.integers(0, lh - size + 1)), int(rng.integers(0, lw - size + 1))
    return (hq[top * scale:(top + size) * scale, left * scale:(left + size) * scale],
            lq[top:top + size, left:left + size])


def flip_rotate(images: list[np.ndarray], rng: np.random.Generator, *, hflip: bool = True,
                vflip: bool = False, rot90: bool = False) -> list[np.ndarray]:
    """The same random horizontal flip, vertical flip and transpose for every image."""
    h = hflip and rng.random() < 0.5
    v = vflip and rng.random() < 0.5
    t = rot90 and rng.random() < 0.5
    out = []
    for image in images:
        if h:
            image = image[:, ::-1]
        if v:
            image = image[::-1]
        if t:
            image = image.transpose(1, 0, 2)
        out.append(image)
    return out
