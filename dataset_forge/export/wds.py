"""WebDataset tar shards, written and read with the standard `tarfile` module.

A sample's members share a `__key__`: everything before the first dot of the member's base name,
so the members of pair `sub/img` are `sub/img.hq.png`, `sub/img.lq.jpg` and `sub/img.json`.
Dots and percent signs inside keys are percent-encoded (`quote_key`), so a stem such as
`img.v2` cannot be cut short by readers. Members carry fixed owner, mode and the source's
mtime, so the same input gives the same shard bytes.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import IO, Iterator


def quote_key(key: str) -> str:
    return key.replace("%", "%25").replace(".", "%2E")


def unquote_key(key: str) -> str:
    return key.replace("%2E", ".").replace("%25", "%")


def split_member(name: str) -> tuple[str, str]:
    """('sub/img', 'hq.png') for 'sub/img.hq.png': WebDataset's key/extension rule."""
    folder, _, base = name.rpartition("/")
    stem, _, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext


class ShardWriter:
    """Append samples to an open binary file as tar members."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._tar = tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT)
        self.samples = 0

    def add(self, key: str, members: dict[str, bytes], mtime: float = 0.0) -> None:
        """members: extension -> bytes, e.g. {"hq.png": ..., "lq.png": ..., "json": ...}."""
        base = quote_key(key)
        for ext, data in members.items():
            info = tarfile.TarInfo(f"{base}.{ext}")
            info.size, info.mtime, info.mode = len(data), int(mtime), 0o644
            info.uname = info.gname = ""
            self._tar.addfile(info, io.BytesIO(data))
        self.samples += 1

    def close(self) -> None:
        self._tar.close()


def iter_shard(path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) per sample, in shard order. A damaged tar raises
    `tarfile.TarError` (or OSError) where the damage starts."""
    key, members = None, {}
    with tarfile.open(path, mode="r:") as tar:
        for info in tar:
            if not info.isfile():
                continue
            member_key, ext = split_member(info.name)
            if member_key != key and members:
                yield unquote_key(key), members
                members = {}
            key = member_key
            members[ext] = tar.extractfile(info).read()
    if members:
        yield unquote_key(key), members
