"""What every deduplication method offers: the same two verbs, as in imagededup's `methods/`.

    method = PerceptualHash("phash", hash_size=8, max_distance=6)
    for outcome in method.encode(ctx, paths): ...      # one feature row per image (or a failure)
    pairs = method.find_pairs(features)                # Pairs(i, j, score) over feature rows

`key` names the method and every setting that changes its features, so cached features are
reused only when they would come out the same. `higher_is_closer` says how to read scores:
similarities (CLIP) grow as images get closer, distances (Hamming) shrink.
"""
from __future__ import annotations

from typing import Any, Iterator, Protocol

import numpy as np

from ..parallel import Outcome
from .index import Pairs


class Method(Protocol):
    name: str
    metric: str                 # what `Pairs.score` holds: "hamming distance", ...
    higher_is_closer: bool
    feature_dtype: Any          # numpy dtype of one feature row
    feature_shape: tuple        # shape of one feature row

    @property
    def key(self) -> str: ...

    def encode(self, ctx: Any, paths: list) -> Iterator[Outcome]: ...

    def find_pairs(self, features: np.ndarray, *, first_query: int = 0) -> Pairs: ...

    def score_pairs(self, features: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray: ...
