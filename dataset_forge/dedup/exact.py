"""Exact duplicates: the same bytes (SHA-256), or (with `pixels=True`) the same decoded pixels.

A pixel digest catches one picture saved twice with different metadata or a different lossless
encoder (PNG vs BMP vs lossless WebP); it costs a full decode, the byte digest only a read.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import ImageOps

from ..io import decode, open_image
from ..parallel import Outcome, WorkKind
from .index import Pairs, equal_pairs

DIGEST_BYTES = 32
READ_CHUNK = 1 << 20


def file_digest(path: str | Path) -> np.ndarray:
    """SHA-256 of the file's bytes: the digest the undo manifest records, so an applied exact
    run reuses it instead of reading each file again (and SHA-256 has CPU support)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            h.update(chunk)
    return np.frombuffer(h.digest(), np.uint8)


def _canonical(im):
    """The decoded pixels with nothing lost: palettes expanded (to RGBA when they carry
    transparency) and a fully opaque alpha channel dropped, so the same picture hashes alike
    across encoders; 16-bit depth and real alpha stay."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    return im


def pixel_digest(path: str | Path) -> np.ndarray:
    """Digest of the decoded pixels (orientation applied) with their mode and size."""
    with open_image(path) as im:
        im = _canonical(ImageOps.exif_transpose(decode(im)))
        h = hashlib.blake2b(f"{im.mode} {im.width}x{im.height}".encode(),
                            digest_size=DIGEST_BYTES)
        h.update(im.tobytes())
    return np.frombuffer(h.digest(), np.uint8)


class ExactHash:
    metric = "identical"
    higher_is_closer = False
    feature_dtype = np.uint8
    feature_shape = (DIGEST_BYTES,)

    def __init__(self, pixels: bool = False) -> None:
        self.pixels = pixels
        self.name = "exact-pixels" if pixels else "exact"

    @property
    def key(self) -> str:
        """Cache key (new ones since pixel digests keep alpha and bit depth and byte digests
        are SHA-256, so older cached rows are not reused)."""
        return "exact-pixels:lossless" if self.pixels else "exact:sha256"

    def file_sha256(self, features: np.ndarray) -> list[str | None]:
        """Each row's SHA-256 (hex) where the features are byte digests, else None."""
        if self.pixels:
            return [None] * len(features)
        return [row.tobytes().hex() for row in features]

    def encode(self, ctx: Any, paths: list) -> Iterator[Outcome]:
        if self.pixels:
            return ctx.map(pixel_digest, paths, kind=WorkKind.CPU, label="pixel digests")
        return ctx.map(file_digest, paths, kind=WorkKind.IO, label="file digests")

    def find_pairs(self, features: np.ndarray, *, first_query: int = 0) -> Pairs:
        return equal_pairs(features, first_query=first_query)

    def score_pairs(self, features: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """0 where the digests agree, 1 where they differ."""
        return np.any(features[i] != features[j], axis=1).astype(np.float32)

