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
cache when the run has none) as lossless PNG: about 9 KB each at 192 px, on disk, read one pair
at a time, so memory stays flat however large the collection. Thumbnails are spooled to the
run's scratch cache only; the page copies those of group members into the feature cache.

A signature missing from the store (the file changed during the run) travels as its path and
the worker decodes it: `score_refs` returns how many files it decoded, and the action reports
every decode of the run (`decoded` in the summary), so a warm run is seen to decode nothing.
"""
from __future__ import annotations

import collections
import functools
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import aligned
from .appearance import hashing_rgb
from .cache import FeatureCache, file_stat
from .outputs import THUMB_KEY, thumbnail_of
from .perceptual import hash_rgb

SIGNATURE_KEY = f"signature:{aligned.AlignedVerifier.key}:png"
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
    """A uint8 signature (H x W, or H x W x 3) as lossless PNG (fast, small for smooth
    pictures)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(sig)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def unpack(blob: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(blob)) as im:
        return np.asarray(im)


def decode_signature(path: str | Path) -> np.ndarray:
    """The signature of a file, decoding it (the fallback when none is stored)."""
    return aligned.signature(hashing_rgb(path, aligned.SOURCE_SIDE))


def _hash_and_signature(path: str | Path, kind: str, hash_size: int, invariant: bool,
                        crops: bool, thumbnails: bool) -> Decoded:
    """Worker: decode once; the hash row, the signature and (optionally) the thumbnail."""
    rgb = hashing_rgb(path, aligned.SOURCE_SIDE)
    out = Decoded(hash_rgb(rgb, kind, hash_size, invariant, crops),
                  stored={SIGNATURE_KEY: pack(aligned.signature(rgb))})
    if thumbnails:
        out.spooled[THUMB_KEY] = thumbnail_of(rgb)
    return out


def hash_with_signature(*, kind: str, hash_size: int, invariant: bool, crops: bool,
                        thumbnails: bool = True):
    """The worker function for a hash method whose candidates the aligned verifier confirms."""
    return functools.partial(_hash_and_signature, kind=kind, hash_size=hash_size,
                             invariant=invariant, crops=crops, thumbnails=thumbnails)


class SignatureRefs:
    """What the main process sends a worker for a catalog row: the stored signature (PNG
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
    """(width, height) of a stored signature, read from its PNG header; None for a path."""
    if isinstance(ref, bytes) and ref[:8] == b"\x89PNG\r\n\x1a\n":
        return struct.unpack(">II", ref[16:24])
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
