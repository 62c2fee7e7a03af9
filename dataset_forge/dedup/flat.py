"""Flat (near-constant) images: never paired by hash or embedding, only by identical pixels.

    flat = find_flat(method, ctx, paths, enc, cache)      # feature-row mask of flat images
    pairs = drop_rows(pairs, flat_rows)                   # no hash/embedding pair touches them
    pairs = pixel_pairs(ctx, paths, flat_rows, cache, first_query, score)

A flat image's perceptual hash (and CLIP embedding) is degenerate: every blank page, solid
colour or fully transparent overlay hashes alike. See `appearance.py` for the threshold.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .appearance import FlatnessProbe
from .cache import FeatureCache
from .exact import ExactHash
from .features import Encoded, encode_all
from .index import Pairs, equal_pairs


def find_flat(method: Any, ctx: Any, paths: list[Path], enc: Encoded,
              cache: FeatureCache) -> tuple[np.ndarray, list]:
    """(catalog rows of flat images, failures). Hash methods report flatness in their
    features; embedding methods get it from a cached probe; exact methods need none."""
    if isinstance(method, ExactHash) or len(enc.rows) == 0:
        return np.empty(0, np.int64), []
    if hasattr(method, "flat_mask"):
        return enc.rows[method.flat_mask(enc.features)], []
    probe = encode_all(FlatnessProbe(), ctx, [paths[r] for r in enc.rows], cache)
    return enc.rows[probe.rows[probe.features[:, 0] == 1]], probe.failures


def drop_rows(pairs: Pairs, rows: np.ndarray) -> Pairs:
    """Pairs that touch none of `rows`."""
    if len(rows) == 0:
        return pairs
    return pairs.take(~(np.isin(pairs.i, rows) | np.isin(pairs.j, rows)))


def pixel_pairs(ctx: Any, paths: list[Path], rows: np.ndarray, cache: FeatureCache,
                first_query: int, score: float) -> tuple[Pairs, list]:
    """(pairs of `rows` whose decoded pixels are identical, failures); each pair gets `score`."""
    if len(rows) < 2:
        return Pairs.empty(), []
    enc = encode_all(ExactHash(pixels=True), ctx, [paths[r] for r in rows], cache)
    found_rows = rows[enc.rows]
    found = equal_pairs(enc.features, first_query=int(np.searchsorted(found_rows, first_query)))
    return (Pairs(found_rows[found.i], found_rows[found.j],
                  np.full(len(found), score, np.float32)), enc.failures)
