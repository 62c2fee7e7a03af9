"""Tiled model inference with seamless blending, on numpy arrays (no torch needed here).

    out = upscale_tiled(run, image, scale=4, tile=256, overlap=32)

`run(batch)` maps float32 tiles (N, C, h, w) in 0..1 to (N, C, h*scale, w*scale). The image is
cut into tiles of one size (the last row and column shifted to end at the border, so every
tile is full-sized and tiles batch together); neighbouring tiles overlap by at least `overlap`
input pixels. Each tile's output is weighted by a window that is zero within `margin` pixels of
an inner edge and ramps to one across the rest of the overlap, so a pixel is only taken from
tiles where it lies at least `margin` pixels inside: for a model whose receptive field is
narrower than that margin, the tiled result equals the whole-image result. Borders of the image
get full weight. On out-of-memory the tile side is halved (down to `min_tile`) and the image
redone; tiles of several images of the same size go through the model in the same batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..parallel.image import is_out_of_memory

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TilePlan:
    tile: int               # tile side (input pixels); the image side where that is smaller
    overlap: int
    ys: tuple[int, ...]     # top of each tile row
    xs: tuple[int, ...]     # left of each tile column
    shape: tuple[int, int]  # tile (h, w)


def starts(length: int, tile: int, overlap: int) -> tuple[int, ...]:
    """Tile origins along one axis: step tile - overlap, the last one ending at the border."""
    if length <= tile:
        return (0,)
    step = max(1, tile - overlap)
    out = list(range(0, length - tile, step))
    out.append(length - tile)
    return tuple(out)


def plan_tiles(height: int, width: int, tile: int, overlap: int) -> TilePlan:
    th, tw = min(tile, height), min(tile, width)
    return TilePlan(tile, overlap, starts(height, th, overlap), starts(width, tw, overlap),
                    (th, tw))


def _ramp(size: int, low_inner: bool, high_inner: bool, overlap: int, margin: int) -> np.ndarray:
    """1-D window: 0 within `margin` of an inner edge, ramping to 1 over the next pixels."""
    d = np.arange(size, dtype=np.float32)
    width = max(1.0, overlap - 2 * margin)
    w = np.ones(size, np.float32)
    if low_inner:
        w = np.minimum(w, np.clip((d + 0.5 - margin) / width, 0.0, 1.0))
    if high_inner:
        w = np.minimum(w, np.clip((size - d - 0.5 - margin) / width, 0.0, 1.0))
    return w


def upscale_tiled(run: Runner, images: Sequence[np.ndarray] | np.ndarray, *, scale: int,
                  tile: int, overlap: int = 32, margin: int | None = None, batch: int = 4,
                  min_tile: int = 32, multiple_of: int = 1) -> list[np.ndarray] | np.ndarray:
    """Upscale HxWxC float32 images (0..1) tile by tile; a single array in, a single array
    out. Halves `tile` on out-of-memory until `min_tile`, then raises."""
    single = isinstance(images, np.ndarray)
    batch_in = [images] if single else list(images)
    while True:
        try:
            out = _run_all(run, batch_in, scale, tile, overlap, margin, batch, multiple_of)
            return out[0] if single else out
        except Exception as exc:  # noqa: BLE001
            if not is_out_of_memory(exc) or tile // 2 < min_tile:
                raise
            tile //= 2
            overlap = min(overlap, tile // 2)
            _empty_cuda_cache()


def _run_all(run: Runner, images: list[np.ndarray], scale: int, tile: int, overlap: int,
             margin: int | None, batch: int, multiple_of: int) -> list[np.ndarray]:
    margin = overlap // 4 if margin is None else margin
    outputs = []
    for image in images:
        h, w, c = image.shape
        padded, (ph, pw) = _pad_to_multiple(image, multiple_of)
        plan = plan_tiles(padded.shape[0], padded.shape[1], tile, overlap)
        acc = np.zeros((padded.shape[0] * scale, padded.shape[1] * scale, c), np.float32)
        weight = np.zeros(acc.shape[:2], np.float32)
        boxes = [(y, x) for y in plan.ys for x in plan.xs]
        th, tw = plan.shape
        wy_cache: dict[tuple[bool, bool], np.ndarray] = {}
        wx_cache: dict[tuple[bool, bool], np.ndarray] = {}
        for i in range(0, len(boxes), batch):
            part = boxes[i:i + batch]
            tiles = np.stack([padded[y:y + th, x:x + tw].transpose(2, 0, 1) for y, x in part])
            result = np.asarray(run(tiles), dtype=np.float32)
            if result.shape[2:] != (th * scale, tw * scale):
                raise ValueError(f"the model turned a {th}x{tw} tile into "
                                 f"{result.shape[2]}x{result.shape[3]}, not x{scale}")
            for (y, x), out in zip(part, result):
                ky = (y > 0, y + th < padded.shape[0])
                kx = (x > 0, x + tw < padded.shape[1])
                if ky not in wy_cache:
                    wy_cache[ky] = _ramp(th * scale, *ky, overlap * scale, margin * scale)
                if kx not in wx_cache:
                    wx_cache[kx] = _ramp(tw * scale, *kx, overlap * scale, margin * scale)
                win = np.outer(wy_cache[ky], wx_cache[kx])
                ys, xs = slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale)
                acc[ys, xs] += out.transpose(1, 2, 0) * win[..., None]
                weight[ys, xs] += win
        acc /= np.maximum(weight, 1e-8)[..., None]
        outputs.append(acc[:h * scale, :w * scale])
    return outputs


def _pad_to_multiple(image: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad bottom and right so both sides are multiples of `multiple`."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return image, (0, 0)
    mode = "reflect" if h > ph and w > pw else "edge"
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode), (ph, pw)


def _empty_cuda_cache() -> None:
    import sys
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
