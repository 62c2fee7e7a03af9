"""The per-shard worker: read each sample's files once, then write every asked-for format.

One call exports one shard: the files' facts and checksums go to a part file (the manifest's,
`meta_info.txt`'s and `stats.json`'s source), the bytes into a WebDataset tar (written under a
temporary name, renamed when whole) and/or LMDB transactions of at most 64 MiB per side. A sample whose file
cannot be read is skipped and reported; the rest of the shard goes on.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..io import ImageReadError, atomic_write
from ..io.images import DEFAULT_MAX_PIXELS
from . import lmdbio
from .inputs import Sample
from .plan import Shard
from .wds import ShardWriter

PARTS_DIR = Path(".forge-journal") / "export-parts"
LMDB_FLUSH_BYTES = 64 << 20   # bytes a worker holds before committing them to LMDB
PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"})


@dataclass(frozen=True)
class ExportConfig:
    """What every shard of one subset shares (pickled once per worker chunk)."""

    out: Path                        # the subset's output folder
    split: str                       # subset name ("" for a single folder or pair set)
    roots: dict[str, Path]           # role -> root the relative paths start from
    formats: tuple[str, ...]
    reencode: str = "none"           # none | png
    png_level: int = 1
    verify: bool = False
    metadata: bool = True
    map_size: int = 1 << 30

    def shard_path(self, shard: Shard) -> Path:
        return self.out / "webdataset" / f"{self.split or 'data'}-{shard.name}.tar"

    def lmdb_path(self, role: str) -> Path:
        return self.out / lmdbio.lmdb_name(role)

    def part_path(self, shard: Shard) -> Path:
        return self.out / PARTS_DIR / f"{shard.name}.jsonl"


@dataclass
class StoredFile:
    role: str
    path: Path
    data: bytes
    facts: dict[str, Any]
    mtime: float


def _channels(im: Image.Image) -> int:
    if im.mode == "P":
        return 4 if "transparency" in im.info else 3
    return len(im.getbands())


def _open_bytes(data: bytes, verify: bool) -> Image.Image:
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > DEFAULT_MAX_PIXELS:
                raise ImageReadError(f"decompression bomb: {im.width}x{im.height} pixels")
            if verify:
                im.load()
    except Image.UnidentifiedImageError:
        raise ImageReadError("not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageReadError("decompression bomb: too many pixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image data ({exc})") from None
    return im


def _to_png(im: Image.Image, level: int) -> bytes:
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(f"corrupt or truncated image data ({exc})") from None
    if im.mode not in PNG_MODES:
        im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=level)
    return buf.getvalue()


def read_file(role: str, path: Path, root: Path, cfg: ExportConfig) -> StoredFile:
    """Read one file, take its facts from the header (or a full decode with `verify`)."""
    data = path.read_bytes()
    im = _open_bytes(data, cfg.verify)
    stored, ext = data, path.suffix.lower()
    if cfg.reencode == "png":
        stored, ext = _to_png(im, cfg.png_level), ".png"
    digest = hashlib.sha256(data).hexdigest()
    facts = {"role": role, "path": path.relative_to(root).as_posix(), "format": im.format,
             "mode": im.mode, "width": im.width, "height": im.height, "channels": _channels(im),
             "bytes": len(data), "sha256": digest, "stored_ext": ext,
             "stored_bytes": len(stored),
             "stored_sha256": digest if stored is data else hashlib.sha256(stored).hexdigest()}
    return StoredFile(role, path, stored, facts, os.stat(path).st_mtime)


def _members(files: list[StoredFile], sample_key: str, cfg: ExportConfig) -> dict[str, bytes]:
    paired = len(files) > 1
    members = {(f"{f.role}{f.facts['stored_ext']}" if paired else f.facts["stored_ext"][1:]):
               f.data for f in files}
    if cfg.metadata:
        members["json"] = json.dumps({"key": sample_key, "split": cfg.split,
                                      **{f.role: f.facts for f in files}}).encode()
    return members


def _read_sample(sample: Sample, cfg: ExportConfig, failures: list) -> list[StoredFile] | None:
    """All of a sample's files, or None (and a failure line) if one of them cannot be read."""
    files = []
    for role, path in sample.files:
        try:
            files.append(read_file(role, path, cfg.roots[role], cfg))
        except (ImageReadError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            failures.append([str(path), type(exc).__name__, reason])
            return None
    return files


def _flush(cfg: ExportConfig, lmdb_items: dict[str, list[tuple[str, bytes]]]) -> None:
    """Commit the held LMDB values (one transaction per side). Puts are idempotent, so a shard
    redone after a kill rewrites the same keys with the same bytes."""
    for role, items in lmdb_items.items():
        if items:
            lmdbio.put_all(cfg.lmdb_path(role), items, cfg.map_size)
            items.clear()


def export_shard(cfg: ExportConfig, shard: Shard) -> dict[str, Any]:
    """Export one shard; returns its counts and the files that failed."""
    records: list[dict[str, Any]] = []
    failures: list[list[str]] = []
    lmdb_items: dict[str, list[tuple[str, bytes]]] = {role: [] for role in cfg.roots}
    stored_bytes = held = 0
    with contextlib.ExitStack() as stack:
        writer = None
        if "webdataset" in cfg.formats:
            writer = ShardWriter(stack.enter_context(atomic_write(cfg.shard_path(shard))))
        for sample in shard.samples:
            files = _read_sample(sample, cfg, failures)
            if files is None:
                continue
            for f in files:
                partner = next((o.facts["path"] for o in files if o is not f), None)
                records.append({"key": sample.key, "split": cfg.split, **f.facts,
                                "partner": partner, "shard": shard.index})
                stored_bytes += len(f.data)
                if "lmdb" in cfg.formats:
                    lmdb_items[f.role].append((sample.key, f.data))
                    held += len(f.data)
            if held > LMDB_FLUSH_BYTES:
                _flush(cfg, lmdb_items)
                held = 0
            if writer is not None:
                writer.add(sample.key, _members(files, sample.key, cfg),
                           max(f.mtime for f in files))
        if writer is not None:
            writer.close()
    _flush(cfg, lmdb_items)
    with atomic_write(cfg.part_path(shard), "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return {"shard": shard.index, "samples": len(shard.samples) - len(failures),
            "bytes": stored_bytes, "failures": failures,
            "tar": cfg.shard_path(shard).name if writer is not None else None}
