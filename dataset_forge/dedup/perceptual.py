"""Perceptual hashes (pHash, dHash, aHash, wHash) compared by Hamming distance.

Hashes need only a few dozen pixels, so images are decoded at reduced size (JPEG draft mode,
`reduce`). pHash is computed here, vectorised: the 32 x 32 grey grid, its low-frequency DCT
block (a matrix product), bits above the block's median, as imagehash's `phash` defines it;
dHash, aHash and wHash come from imagehash.

Codes per image (one feature row each), then one flag row:
- the plain hash, and with `invariant` the hashes of its seven mirrored and 90-degree-turned
  versions (the dihedral group): a pair's distance is the smallest over them, so a flipped or
  turned copy is still found;
- with `crops`, the hash of the central `CROP_SIDE` x `CROP_SIDE` part. Crop codes are indexed
  beside the plain ones, so a copy cropped to 80-90% of the area meets its original's crop
  code, and two copies turned by a few degrees meet crop to crop (the turned-in corners are
  cut away). Such candidates are confirmed by the verifier (`aligned.py`).

Images are seen as `appearance.hashing_view` shows them (real transparency over mid-grey). The
flag row's byte 0 is 1 when the image is flat (`appearance.is_flat`: its low-frequency
coefficients are at the level of rounding noise); flat rows are left out of the Hamming search
and the action pairs them only by identical pixels.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from .aligned import SOURCE_SIDE
from .appearance import (FLAT_AC, GRID, LOW, ac_spread, fit, grid_of, hashing_rgb,
                         low_frequencies)
from ..parallel import Outcome, WorkKind
from .index import Pairs, hamming_pairs

#: hash name -> imagehash's function name (imported when used: pHash is computed here)
HASHES = {"phash": "phash", "dhash": "dhash", "ahash": "average_hash", "whash": "whash"}
T = Image.Transpose
#: the seven non-identity symmetries of a rectangle's pixel grid: mirrors and 90-degree turns
SYMMETRIES = (T.FLIP_LEFT_RIGHT, T.FLIP_TOP_BOTTOM, T.ROTATE_90, T.ROTATE_180, T.ROTATE_270,
              T.TRANSPOSE, T.TRANSVERSE)
GRID_SYMMETRIES = (lambda g: g[:, ::-1], lambda g: g[::-1, :], lambda g: np.rot90(g, 1),
                   lambda g: np.rot90(g, 2), lambda g: np.rot90(g, 3), lambda g: g.T,
                   lambda g: np.rot90(g, 2).T)
CROP_SIDE = 0.9                # side fraction of the centre-crop code (81% of the area)
DEFAULT_MAX_DISTANCE_64 = 10   # for 64-bit hashes without verification; scaled with the bits
VERIFIED_MAX_DISTANCE_64 = 16  # ... when a verifier confirms every candidate (measured)
_UNIFORM = np.ones(LOW)
_UNIFORM[0] = np.sqrt(2.0)     # orthonormal -> imagehash's uniformly scaled DCT (same bits)


def default_max_distance(hash_size: int, verified: bool = False) -> int:
    """The default tolerance, as a fraction of the bits measured on 64-bit hashes: wider when a
    verifier confirms the candidates (benchmarks/RESULTS.md, Deduplication)."""
    bits64 = VERIFIED_MAX_DISTANCE_64 if verified else DEFAULT_MAX_DISTANCE_64
    return max(1, round(bits64 * hash_size * hash_size / 64))


def decode_side(hash_size: int) -> int:
    """Pixels to decode: generous against aliasing, tiny against a full decode."""
    return max(128, hash_size * 16)


def centre_crop(im: Image.Image, side: float = CROP_SIDE) -> Image.Image:
    w, h = im.size
    dx, dy = w * (1 - side) / 2, h * (1 - side) / 2
    return im.resize((max(1, round(w * side)), max(1, round(h * side))),
                     Image.Resampling.BILINEAR, box=(dx, dy, w - dx, h - dy))


def phash_bits(grid: np.ndarray) -> np.ndarray:
    """64 pHash bits of a 32 x 32 grid, packed (imagehash's definition)."""
    low = low_frequencies(grid) * _UNIFORM[:, None] * _UNIFORM[None, :]
    return np.packbits(low > np.median(low))


def hash_image(path: str | Path, kind: str, hash_size: int, invariant: bool,
               crops: bool = False) -> np.ndarray:
    """Packed hash bits of one image, shape (codes + 1, bits/8): the plain hash, its seven
    symmetries when `invariant`, the centre-crop hash when `crops`, then the flag row."""
    return hash_rgb(hashing_rgb(path, decode_side(hash_size)), kind, hash_size, invariant, crops)


def hash_rgb(rgb: Image.Image, kind: str, hash_size: int, invariant: bool,
             crops: bool = False) -> np.ndarray:
    """`hash_image` of a picture already decoded (`appearance.hashing_rgb`); one larger than
    `decode_side(hash_size)` is reduced to it first, as a decode at that side would be."""
    grey = fit(rgb, decode_side(hash_size)).convert("L")
    grid = grid_of(grey)
    flat = ac_spread(grid) < FLAT_AC
    if kind == "phash" and hash_size * 4 == GRID:
        rows = [phash_bits(grid)]
        rows += [phash_bits(fn(grid)) for fn in GRID_SYMMETRIES] if invariant else []
        rows += [phash_bits(grid_of(centre_crop(grey)))] if crops else []
    else:
        import imagehash
        fn = getattr(imagehash, HASHES[kind])
        versions = [grey] + ([grey.transpose(t) for t in SYMMETRIES] if invariant else [])
        versions += [centre_crop(grey)] if crops else []
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
                 invariant: bool = False, crops: bool = False, verified: bool = False,
                 signatures: bool = False) -> None:
        if kind not in HASHES:
            raise ValueError(f"unknown hash {kind!r}; one of {', '.join(HASHES)}")
        if hash_size < 4 or hash_size * hash_size % 8:
            raise ValueError("hash size must be at least 4 and give a whole number of bytes")
        if kind == "whash" and hash_size & (hash_size - 1):
            raise ValueError("whash needs a power-of-two hash size (4, 8, 16, 32)")
        self.name, self.hash_size = kind, hash_size
        self.invariant, self.crops = invariant, crops
        self.max_distance = (default_max_distance(hash_size, verified) if max_distance is None
                             else int(max_distance))
        self.feature_shape = ((8 if invariant else 1) + int(crops) + 1, hash_size * hash_size // 8)
        #: with the aligned verifier: each file is decoded once, at the verifier's side, for
        #: its hash and its signature (`signatures.py`), which is kept under this key
        self.signature_key: str | None = None
        if signatures:
            from .signatures import SIGNATURE_KEY
            self.signature_key = SIGNATURE_KEY

    @property
    def key(self) -> str:
        symmetry = "dihedral" if self.invariant else "plain"
        crop = f":crop{CROP_SIDE}" if self.crops else ""
        decoded = f":from{SOURCE_SIDE}" if self.signature_key else ""
        return (f"{self.name}:{self.hash_size}:{symmetry}{crop}:alpha-grey:ac{FLAT_AC}:vips"
                f"{decoded}")

    def encode(self, ctx: Any, paths: list) -> Iterator[Outcome]:
        args = dict(kind=self.name, hash_size=self.hash_size, invariant=self.invariant,
                    crops=self.crops)
        if self.signature_key:
            from .signatures import hash_with_signature
            fn = hash_with_signature(**args)
        else:
            fn = functools.partial(hash_image, **args)
        return ctx.map(fn, paths, kind=WorkKind.CPU, label=f"{self.name} hashes")

    def flat_mask(self, features: np.ndarray) -> np.ndarray:
        return flat_mask(features)

    def find_pairs(self, features: np.ndarray, *, first_query: int = 0) -> Pairs:
        """Pairs among the images that are not flat (flat hashes all look alike). The plain
        and crop codes are indexed; every code of a row queries them."""
        rows = np.flatnonzero(~flat_mask(features))
        hashes = features[rows, :-1]
        variants = hashes[:, 1:].transpose(1, 0, 2) if hashes.shape[1] > 1 else None
        extra = hashes[:, -1:].transpose(1, 0, 2) if self.crops else None
        found = hamming_pairs(np.ascontiguousarray(hashes[:, 0]), self.max_distance,
                              variants=variants, indexed=extra,
                              first_query=int(np.searchsorted(rows, first_query)))
        return Pairs(rows[found.i], rows[found.j], found.score)

    def score_pairs(self, features: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Smallest Hamming distance between any code of row i and row j's indexed codes."""
        codes = features[:, :-1]
        targets = [0] + ([codes.shape[1] - 1] if self.crops else [])
        best = None
        for t in targets:
            xor = np.bitwise_xor(codes[i], codes[j][:, t:t + 1])
            d = np.unpackbits(xor, axis=2).sum(axis=2).min(axis=1)
            best = d if best is None else np.minimum(best, d)
        return best.astype(np.float32)
