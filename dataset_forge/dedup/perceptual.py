"""Perceptual hashes (pHash, dHash, aHash, wHash via imagehash) compared by Hamming distance.

Hashes need only a few dozen pixels, so images are decoded at reduced size (JPEG draft mode,
`reduce`) through `load_rgb(max_side=...)`. With `invariant=True` each image also gets the
hashes of its seven mirrored and rotated versions (the dihedral group), and a pair's distance
is the smallest over them, so a flipped or rotated copy is still a duplicate.

Images are seen as `appearance.hashing_view` shows them (real transparency over mid-grey). A
feature row ends with one flag row: byte 0 is 1 when the image is flat (near-constant), and
flat rows are left out of the Hamming search (their hashes are degenerate); the action pairs
them only by identical pixels.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import imagehash
import numpy as np
from PIL import Image

from .appearance import FLAT_LUMA_STD, hashing_view
from ..parallel import Outcome, WorkKind
from .index import Pairs, hamming_pairs

HASHES = {"phash": imagehash.phash, "dhash": imagehash.dhash,
          "ahash": imagehash.average_hash, "whash": imagehash.whash}
T = Image.Transpose
#: the seven non-identity symmetries of a rectangle's pixel grid: mirrors and 90-degree turns
SYMMETRIES = (T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_90, T.ROTATE_180, T.ROTATE_270,
              T.TRANSPOSE, T.TRANSVERSE)
DEFAULT_MAX_DISTANCE_64 = 10   # for 64-bit hashes; scaled with the number of bits


def default_max_distance(hash_size: int) -> int:
    """The default tolerance, as a fraction of the bits measured on 64-bit hashes."""
    return max(1, round(DEFAULT_MAX_DISTANCE_64 * hash_size * hash_size / 64))


def decode_side(hash_size: int) -> int:
    """Pixels to decode: generous against aliasing, tiny against a full decode."""
    return max(128, hash_size * 16)


def hash_image(path: str | Path, kind: str, hash_size: int, invariant: bool) -> np.ndarray:
    """Packed hash bits of one image, shape (versions + 1, bits/8): the plain hash, its seven
    symmetries when `invariant`, then the flag row (byte 0: 1 if the image is flat)."""
    grey, flat = hashing_view(path, decode_side(hash_size))
    versions = [grey] + ([grey.transpose(t) for t in SYMMETRIES] if invariant else [])
    fn = HASHES[kind]
    rows = [np.packbits(fn(v, hash_size=hash_size).hash.ravel()) for v in versions]
    flag = np.zeros_like(rows[0])
    flag[0] = flat
    return np.stack([*rows, flag])


def flat_mask(features: np.ndarray) -> np.ndarray:
    """Which feature rows belong to flat images."""
    return features[:, -1, 0] == 1


class PerceptualHash:
    metric = "hamming distance"
    higher_is_closer = False
    feature_dtype = np.uint8

    def __init__(self, kind: str = "phash", hash_size: int = 8, max_distance: int | None = None,
                 invariant: bool = False) -> None:
        if kind not in HASHES:
            raise ValueError(f"unknown hash {kind!r}; one of {', '.join(HASHES)}")
        if hash_size < 4 or hash_size * hash_size % 8:
            raise ValueError("hash size must be at least 4 and give a whole number of bytes")
        if kind == "whash" and hash_size & (hash_size - 1):
            raise ValueError("whash needs a power-of-two hash size (4, 8, 16, 32)")
        self.name, self.hash_size, self.invariant = kind, hash_size, invariant
        self.max_distance = default_max_distance(hash_size) if max_distance is None else int(max_distance)
        self.feature_shape = ((8 if invariant else 1) + 1, hash_size * hash_size // 8)

    @property
    def key(self) -> str:
        symmetry = "dihedral" if self.invariant else "plain"
        return f"{self.name}:{self.hash_size}:{symmetry}:alpha-grey:flat{FLAT_LUMA_STD}"

    def encode(self, ctx: Any, paths: list) -> Iterator[Outcome]:
        fn = functools.partial(hash_image, kind=self.name, hash_size=self.hash_size,
                               invariant=self.invariant)
        return ctx.map(fn, paths, kind=WorkKind.CPU, label=f"{self.name} hashes")

    def flat_mask(self, features: np.ndarray) -> np.ndarray:
        return flat_mask(features)

    def find_pairs(self, features: np.ndarray, *, first_query: int = 0) -> Pairs:
        """Pairs among the images that are not flat (flat hashes all look alike)."""
        rows = np.flatnonzero(~flat_mask(features))
        hashes = features[rows, :-1]
        variants = hashes[:, 1:].transpose(1, 0, 2) if hashes.shape[1] > 1 else None
        found = hamming_pairs(np.ascontiguousarray(hashes[:, 0]), self.max_distance,
                              variants=variants,
                              first_query=int(np.searchsorted(rows, first_query)))
        return Pairs(rows[found.i], rows[found.j], found.score)

    def score_pairs(self, features: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Smallest Hamming distance between row i's hashes and row j's plain hash."""
        xor = np.bitwise_xor(features[i, :-1], features[j][:, :1])
        return np.unpackbits(xor, axis=2).sum(axis=2).min(axis=1).astype(np.float32)
