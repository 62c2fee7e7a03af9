"""Features for every file, from the cache where unchanged, computed by the method otherwise."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..parallel import Failure
from .base import Method
from .cache import FeatureCache, FileStat, file_stat

STORE_EVERY = 2_000  # rows per cache transaction while encoding


@dataclass
class Encoded:
    features: np.ndarray              # one row per readable file, in input order
    rows: np.ndarray                  # index into the input paths of each feature row
    failures: list[Failure] = field(default_factory=list)
    cached: int = 0
    computed: int = 0


def encode_all(method: Method, ctx: Any, paths: list[Path], cache: FeatureCache) -> Encoded:
    """Encode `paths`, reusing cached rows; unreadable files become failures, not errors."""
    shape, dtype = tuple(method.feature_shape), np.dtype(method.feature_dtype)
    stats: list[FileStat | None] = []
    failures: list[Failure] = []
    for path in paths:
        try:
            stats.append(file_stat(path))
        except OSError as exc:
            stats.append(None)
            failures.append(Failure(str(path), type(exc).__name__, exc.strerror or str(exc)))
    present = [k for k, s in enumerate(stats) if s is not None]
    cached = cache.lookup(method.key, [stats[k] for k in present])
    values: dict[int, np.ndarray] = {present[k]: np.frombuffer(v, dtype).reshape(shape)
                                     for k, v in cached.items()}
    missing = [k for k in present if k not in values]
    pending: list[tuple[FileStat, bytes]] = []
    for outcome in method.encode(ctx, [paths[k] for k in missing]):
        k = missing[outcome.index]
        if not outcome.ok:
            failures.append(outcome.error)
            continue
        row = np.asarray(outcome.value, dtype).reshape(shape)
        values[k] = row
        pending.append((stats[k], row.tobytes()))
        if len(pending) >= STORE_EVERY:
            cache.store(method.key, pending)
            pending = []
    cache.store(method.key, pending)
    rows = np.array(sorted(values), dtype=np.int64)
    features = (np.stack([values[k] for k in rows]) if len(rows)
                else np.empty((0, *shape), dtype))
    return Encoded(features, rows, failures, cached=len(cached), computed=len(values) - len(cached))
