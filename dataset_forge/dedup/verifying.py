"""Scores of a second tier (the aligned verifier, LPIPS) for pairs of catalog rows.

    scored = score_pairs(ctx, verifier, stores, paths, [(a, b), ...])
    scored.scores     # float32, NaN where a pair failed (scored.failures says why)

The aligned verifier's scores depend on the two files alone, so they are kept in the feature
cache (by both files' path, size and modification time) and a second run computes none; the
others are computed from the stored signatures (`signatures.py`), never by decoding the files
again. LPIPS scores come from its model, which reads the files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..parallel import Failure, WorkKind
from .aligned import AlignedVerifier, aspects_can_match
from .cache import FeatureCache, RunStores, file_stat
from .signatures import SignatureRefs, score_refs, signature_size


@dataclass
class Scored:
    scores: np.ndarray                       # one per pair, NaN where it failed
    from_cache: int = 0
    decoded: int = 0                         # files decoded (signature missing from the store)
    failures: list[Failure] = field(default_factory=list)


def score_pairs(ctx: Any, verifier: Any, stores: RunStores, paths: list[Path],
                rows: list[tuple[int, int]]) -> Scored:
    """The verifier's score of every pair of rows into `paths`."""
    out = Scored(np.full(len(rows), np.nan, np.float32))
    if not rows:
        return out
    cacheable = isinstance(verifier, AlignedVerifier)
    stats = _stats(paths, rows) if cacheable else None
    known = _cached(stores.features, stats) if stats else {}
    for n, value in known.items():
        out.scores[n] = value
    out.from_cache = len(known)
    todo = [n for n in range(len(rows)) if n not in known]
    fresh = []
    refs = SignatureRefs(stores.features, paths) if cacheable else None
    if refs is not None:       # pairs no symmetry can line up score 0 without a worker
        todo, fresh = _split_on_aspect(refs, rows, todo)
        out.scores[fresh] = 0.0
    for outcome in _outcomes(ctx, verifier, refs, paths, [rows[n] for n in todo]):
        n = todo[outcome.index]
        if not outcome.ok:
            out.failures.append(outcome.error)
            continue
        value, decoded = outcome.value if cacheable else (outcome.value, 0)
        out.scores[n] = value
        out.decoded += decoded
        fresh.append(n)
    if stats and fresh:
        stores.features.store_pairs(AlignedVerifier.key, [
            (*stats[n], np.float32(out.scores[n]).tobytes()) for n in fresh])
    return out


def _split_on_aspect(refs: SignatureRefs, rows: list[tuple[int, int]], todo: list[int]
                     ) -> tuple[list[int], list[int]]:
    """(pairs to send to the workers, pairs whose stored signatures' sizes no symmetry can
    line up: the verifier's score for those is 0, as `aligned.align` would find)."""
    sizes: dict[int, tuple[int, int] | None] = {}

    def size(row: int) -> tuple[int, int] | None:
        if row not in sizes:
            sizes[row] = signature_size(refs[row])
        return sizes[row]

    send, shut = [], []
    for n in todo:
        a, b = size(rows[n][0]), size(rows[n][1])
        (shut if a and b and not aspects_can_match(a, b) else send).append(n)
    return send, shut


def _outcomes(ctx: Any, verifier: Any, refs: SignatureRefs | None, paths: list[Path],
              rows: list[tuple[int, int]]):
    if not rows:
        return iter(())
    if refs is None:
        return verifier.score(ctx, [(paths[a], paths[b]) for a, b in rows])
    return ctx.map(score_refs, ((refs[a], refs[b]) for a, b in rows), kind=WorkKind.CPU,
                   label="verifying pairs", total=len(rows))


def _stats(paths: list[Path], rows: list[tuple[int, int]]) -> list | None:
    """(stat of a, stat of b) per pair, each file's taken once."""
    seen: dict[int, Any] = {}
    try:
        for row in {r for pair in rows for r in pair}:
            seen[row] = file_stat(paths[row])
    except OSError:
        return None
    return [(seen[a], seen[b]) for a, b in rows]


def _cached(cache: FeatureCache, stats: list) -> dict[int, float]:
    found = cache.lookup_pairs(AlignedVerifier.key, stats)
    return {n: float(np.frombuffer(v, np.float32)[0]) for n, v in found.items()}

