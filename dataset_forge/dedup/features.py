"""Features for every file, from the cache where unchanged, computed by the method otherwise."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..parallel import Failure
from .base import Method
from .cache import FeatureCache, FileStat, file_stat

STORE_EVERY = 500  # rows per cache transaction while encoding (signatures: ~10 KB each)


@dataclass
class Encoded:
    features: np.ndarray              # one row per readable file, in input order
    rows: np.ndarray                  # index into the input paths of each feature row
    failures: list[Failure] = field(default_factory=list)
    cached: int = 0
    computed: int = 0


def encode_all(method: Method, ctx: Any, paths: list[Path], cache: FeatureCache,
               spool: FeatureCache | None = None) -> Encoded:
    """Encode `paths`, reusing cached rows; unreadable files become failures, not errors.

    A method with a `signature_key` (a hash whose candidates the aligned verifier confirms)
    also keeps each file's signature in `cache`: a file is computed again when either is
    missing, and its worker returns a `signatures.Decoded` whose `stored` values go to `cache`
    and whose `spooled` values (thumbnails) go to `spool`, the run's scratch cache."""
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
    signature_key = getattr(method, "signature_key", None)
    if signature_key:                 # a row counts only with its signature beside it
        signed = cache.present(signature_key, [stats[k] for k in present])
        cached = {k: v for k, v in cached.items() if k in signed}
    values: dict[int, np.ndarray] = {present[k]: np.frombuffer(v, dtype).reshape(shape)
                                     for k, v in cached.items()}
    missing = [k for k in present if k not in values]
    pending: list[tuple[FileStat, np.ndarray, Any]] = []
    for outcome in method.encode(ctx, [paths[k] for k in missing]):
        k = missing[outcome.index]
        if not outcome.ok:
            failures.append(outcome.error)
            continue
        values[k] = np.asarray(getattr(outcome.value, "row", outcome.value),
                               dtype).reshape(shape)
        pending.append((stats[k], values[k], outcome.value))
        if len(pending) >= STORE_EVERY:
            _store(method.key, pending, cache, spool)
            pending = []
    _store(method.key, pending, cache, spool)
    rows = np.array(sorted(values), dtype=np.int64)
    features = (np.stack([values[k] for k in rows]) if len(rows)
                else np.empty((0, *shape), dtype))
    return Encoded(features, rows, failures, cached=len(cached), computed=len(values) - len(cached))


def _store(key: str, pending: list[tuple[FileStat, np.ndarray, Any]], cache: FeatureCache,
           spool: FeatureCache | None) -> None:
    """Feature rows (and a `Decoded`'s stored values) into `cache`, its spooled values into
    `spool`; one transaction per key."""
    extra: dict[tuple[int, str], tuple[FeatureCache, str, list]] = {}
    for stat, _, value in pending:
        for target, blobs in ((cache, getattr(value, "stored", {})),
                              (spool, getattr(value, "spooled", {}))):
            if target is None:
                continue
            for name, blob in blobs.items():
                extra.setdefault((id(target), name), (target, name, []))[2].append((stat, blob))
    for target, name, items in extra.values():
        target.store(name, items)
    cache.store(key, [(stat, row.tobytes()) for stat, row, _ in pending])
