"""Tiling: tile boxes with overlap and edge handling, a complexity score, flat-tile detection."""
from __future__ import annotations

import numpy as np
from PIL import Image


def spans(length: int, tile: int, overlap: int, min_edge: int, snap: int = 1) -> list[tuple[int, int]]:
    """(start, size) along one side: full tiles every `tile - overlap` pixels, then a partial
    edge tile when it is at least `min_edge` pixels (0 = full tiles only). Sizes of partial
    tiles are rounded down to multiples of `snap`."""
    step = tile - overlap
    out = [(s, tile) for s in range(0, length - tile + 1, step)] if length >= tile else []
    start = out[-1][0] + step if out else 0
    covered = out[-1][0] + tile if out else 0
    rest = (length - start) // snap * snap
    if min_edge and rest >= min_edge and start + rest > covered:
        out.append((start, rest))
    return out


def tile_boxes(size: tuple[int, int], tile: int, overlap: int = 0, min_edge: int = 0,
               snap: int = 1) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) in row-major order."""
    w, h = size
    return [(x, y, x + tw, y + th) for y, th in spans(h, tile, overlap, min_edge, snap)
            for x, tw in spans(w, tile, overlap, min_edge, snap)]


def grey(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"), dtype=np.float32)


def complexity(g: np.ndarray) -> float:
    """Mean absolute gradient: high for detailed tiles, ~0 for flat ones."""
    if g.shape[0] < 2 or g.shape[1] < 2:
        return 0.0
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def is_flat(img: Image.Image, g: np.ndarray, std_threshold: float) -> bool:
    """Nearly uniform (grey-level std below the threshold) or fully transparent."""
    if img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[1] == 0:
        return True
    return float(g.std()) < std_threshold
