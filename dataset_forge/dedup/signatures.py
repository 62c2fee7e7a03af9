"""One decode per file: the hash, the verifier's signature and the page's thumbnail all come
from it, and the verifier scores pairs from stored signatures, never decoding a file again.

    fn = hash_with_signature(kind="phash", hash_size=8, invariant=True, crops=True)
    decoded = fn(path)            # Decoded(row, stored={SIGNATURE_KEY: blob}, spooled={thumb})
    refs = SignatureRefs(store, paths)
    for outcome in ctx.map(score_refs, ((refs[a], refs[b]) for a, b in pairs)): ...

The file is decoded once, at the verifier's side (`aligned.SOURCE_SIDE`, reduced decode: JPEG
draft, libvips shrink-on-load); the hash is computed from that picture reduced to the hash's
side, the signature (`aligned.signature`) from the picture itself, and a JPEG thumbnail for
dedup.html from it too. Signatures are stored in the feature cache (`SIGNATURE_KEY`; a scratch
cache when the run has none), lossless (`pack`: planes, each row as its difference from the
row above, LZ4; about 27 KB each at 192 px, 9x faster to pack and 2x faster to unpack than
PNG at 1.3x its size: benchmarks/RESULTS.md), on disk, read one pair at a time, so
memory stays flat however large the collection. Thumbnails are spooled to the run's scratch
cache only; the page copies those of group members into the feature cache.

A signature missing from the store (the file changed during the run) travels as its path and
the worker decodes it: `score_refs` returns how many files it decoded, and the action reports
every decode of the run (`decoded` in the summary), so a warm run is seen to decode nothing.
"""
from __future__ import annotations

import collections
import functools
import struct
from dataclasses import dataclass, field
from pathlib import Path

import lz4.block
import numpy as np

from . import aligned
from .appearance import fit, hashing_rgb
from .cache import FeatureCache, file_stat
from .outputs import THUMB_KEY, THUMB_SIDE, thumbnail_of
from .perceptual import decode_side, hash_rgb

PACKED = "dlz4"               # the stored format (`pack`); part of the cache key
HEADER = struct.Struct(">4sHHB")  # magic, height, width, planes
MAGIC = b"DFS1"
SIGNATURE_KEY = f"signature:{aligned.AlignedVerifier.key}:{PACKED}"
READ_CACHE = 256             # signatures the main process keeps while feeding pairs
UNPACKED_CACHE = 32          # signatures a worker keeps unpacked


@dataclass
class Decoded:
    """A worker's result for one file: its feature row, values for the feature cache (stored)
    and values for this run only (spooled)."""
    row: np.ndarray
    stored: dict[str, bytes] = field(default_factory=dict)
    spooled: dict[str, bytes] = field(default_factory=dict)


def pack(sig: np.ndarray) -> bytes:
    """A uint8 signature (H x W, or H x W x planes) as bytes: a header (`HEADER`), then its
    planes, each row stored as its difference from the row above (smooth pictures give many
    small values), LZ4-compressed. Lossless; `unpack` inverts it."""
    planes = sig[None] if sig.ndim == 2 else sig.transpose(2, 0, 1)
    delta = np.diff(planes, axis=1, prepend=np.uint8(0))      # modulo 256
    head = HEADER.pack(MAGIC, sig.shape[0], sig.shape[1], 0 if sig.ndim == 2 else sig.shape[2])
    return head + lz4.block.compress(np.ascontiguousarray(delta).tobytes(), store_size=True)


def unpack(blob: bytes) -> np.ndarray:
    magic, h, w, n = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("not a packed signature")
    delta = np.frombuffer(lz4.block.decompress(blob[HEADER.size:]), np.uint8)
    planes = np.cumsum(delta.reshape(max(n, 1), h, w), axis=1, dtype=np.uint8)  # modulo 256
    return planes[0] if n == 0 else np.ascontiguousarray(planes.transpose(1, 2, 0))


def decode_signature(path: str | Path) -> np.ndarray:
    """The signature of a file, decoding it (the fallback when none is stored)."""
    return aligned.signature(hashing_rgb(path, aligned.SOURCE_SIDE))


def _hash_and_signature(path: str | Path, kind: str, hash_size: int, invariant: bool,
                        crops: bool, thumbnails: bool) -> Decoded:
    """Worker: decode once; the hash row, the signature and (optionally) the thumbnail. The
    hash's picture is reduced once; the thumbnail is made from it when their sides agree (the
    same pixels as from the decoded picture, one reduction fewer)."""
    rgb = hashing_rgb(path, aligned.SOURCE_SIDE)
    side = decode_side(hash_size)
    small = fit(rgb, side)
    out = Decoded(hash_rgb(small, kind, hash_size, invariant, crops),
                  stored={SIGNATURE_KEY: pack(aligned.signature(rgb))})
    if thumbnails:
        out.spooled[THUMB_KEY] = thumbnail_of(small if side == THUMB_SIDE else rgb)
    return out


def hash_with_signature(*, kind: str, hash_size: int, invariant: bool, crops: bool,
                        thumbnails: bool = True):
    """The worker function for a hash method whose candidates the aligned verifier confirms."""
    return functools.partial(_hash_and_signature, kind=kind, hash_size=hash_size,
                             invariant=invariant, crops=crops, thumbnails=thumbnails)


class SignatureRefs:
    """What the main process sends a worker for a catalog row: the stored signature (`pack`
    bytes) of the unchanged file, else its path (the worker decodes it). The last READ_CACHE
    signatures read are kept, as pairs arrive sorted by their first file."""

    def __init__(self, store: FeatureCache, paths: list[Path]) -> None:
        self.store, self.paths = store, paths
        self._recent: collections.OrderedDict[int, bytes | str] = collections.OrderedDict()

    def __getitem__(self, row: int) -> bytes | str:
        ref = self._recent.get(row)
        if ref is not None:
            self._recent.move_to_end(row)
            return ref
        path = self.paths[row]
        try:
            blob = self.store.lookup_one(SIGNATURE_KEY, file_stat(path))
        except OSError:
            blob = None
        ref = str(path) if blob is None else bytes(blob)
        self._recent[row] = ref
        if len(self._recent) > READ_CACHE:
            self._recent.popitem(last=False)
        return ref


def signature_size(ref: bytes | str) -> tuple[int, int] | None:
    """(width, height) of a stored signature, read from its header; None for a path."""
    if isinstance(ref, bytes) and ref[:len(MAGIC)] == MAGIC:
        _, h, w, _ = HEADER.unpack_from(ref)
        return w, h
    return None


@functools.lru_cache(maxsize=UNPACKED_CACHE)
def _unpacked(blob: bytes) -> np.ndarray:
    """`unpack`, remembered per worker: pairs arrive sorted by their first file, which
    therefore repeats from pair to pair (keyed by the bytes themselves, so never confused)."""
    sig = unpack(blob)
    sig.flags.writeable = False
    return sig


def _signature(ref: bytes | str) -> tuple[np.ndarray, int]:
    """(signature, 1 if a file had to be decoded for it else 0)."""
    if isinstance(ref, bytes):
        return _unpacked(ref), 0
    return decode_signature(ref), 1


def score_refs(pair: tuple[bytes | str, bytes | str]) -> tuple[float, int]:
    """Worker: (the verifier's score of one pair, files decoded for it)."""
    (a, da), (b, db) = _signature(pair[0]), _signature(pair[1])
    return aligned.score_signatures(a, b), da + db
