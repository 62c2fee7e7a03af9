"""Where samples come from: a folder, a pair set, WebDataset shards or an LMDB export.

Every source is a list of *parts* (a file, a pair, a shard, an LMDB key) that can be dealt out
to loader workers and ranks, and `read(part)` that yields `(key, {role: bytes})` samples; roles
are "image" for unpaired data and "hq"/"lq" for pairs. Nothing here needs torch; a source
pickles into DataLoader workers (LMDB environments are opened lazily in each worker).

    source = open_source("export/train")            # finds webdataset/*.tar, *.lmdb, hq/+lq/
    source = open_source(hq="data/hq", lq="data/lq")
"""
from __future__ import annotations

import glob
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..export.lmdbio import LmdbReader
from ..export.wds import iter_shard
from ..io import IMAGE_EXTENSIONS, iter_images, pair_folders, pair_key

KINDS = ("auto", "folder", "pairs", "webdataset", "lmdb")
Sample = tuple[str, dict[str, bytes]]


class SourceError(ValueError):
    """A source that cannot be opened as asked (one line)."""


@dataclass
class FolderSource:
    root: Path
    files: list[Path] = field(default_factory=list)
    roles: tuple[str, ...] = ("image",)
    part_level = True      # one part per sample

    def __post_init__(self) -> None:
        self.files = self.files or list(iter_images(self.root))

    def parts(self) -> list[Any]:
        return self.files

    def read(self, part: Path) -> Iterator[Sample]:
        yield pair_key(part, self.root), {"image": part.read_bytes()}


@dataclass
class PairSource:
    hq: Path
    lq: Path
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    roles: tuple[str, ...] = ("hq", "lq")
    part_level = True

    def __post_init__(self) -> None:
        self.pairs = self.pairs or pair_folders(self.hq, self.lq).pairs

    def parts(self) -> list[Any]:
        return self.pairs

    def read(self, part: tuple[Path, Path]) -> Iterator[Sample]:
        hq, lq = part
        yield pair_key(hq, self.hq), {"hq": hq.read_bytes(), "lq": lq.read_bytes()}


def _member_role(ext: str) -> str | None:
    """'hq.png' -> 'hq', 'png' -> 'image', 'json' -> None."""
    head, _, tail = ext.rpartition(".")
    if f".{tail.lower()}" not in IMAGE_EXTENSIONS:
        return None
    return head if head in ("hq", "lq") else "image" if not head else None


@dataclass
class TarSource:
    shards: list[Path]
    roles: tuple[str, ...] = ("image",)
    part_level = False     # parts are shards of many samples

    def parts(self) -> list[Any]:
        return self.shards

    def read(self, part: Path) -> Iterator[Sample]:
        for key, members in iter_shard(part):
            images = {role: data for ext, data in members.items()
                      if (role := _member_role(ext)) is not None}
            yield key, images


@dataclass
class LmdbSource:
    envs: dict[str, Path]          # role -> environment folder
    keys: list[str] = field(default_factory=list)
    part_level = True

    def __post_init__(self) -> None:
        self.readers = {role: LmdbReader(path) for role, path in self.envs.items()}
        self.keys = self.keys or next(iter(self.readers.values())).keys()

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.envs)

    def parts(self) -> list[Any]:
        return self.keys

    def read(self, part: str) -> Iterator[Sample]:
        yield part, {role: reader.get(part) for role, reader in self.readers.items()}


def _tar_list(spec: str | Path | Sequence) -> list[Path] | None:
    if isinstance(spec, (list, tuple)):
        return [Path(p) for p in spec]
    text = str(spec)
    if any(c in text for c in "*?["):
        return [Path(p) for p in sorted(glob.glob(text))]
    if text.endswith(".tar"):
        return [Path(text)]
    return None


def _detect(root: Path) -> str:
    found = []
    if sorted(root.glob("*.tar")) or sorted((root / "webdataset").glob("*.tar")):
        found.append("webdataset")
    if (root / "data.mdb").exists() or any((root / n / "data.mdb").exists()
                                           for n in ("hq.lmdb", "lq.lmdb", "images.lmdb")):
        found.append("lmdb")
    if len(found) > 1:
        raise SourceError(f"{root} holds both WebDataset shards and LMDB; "
                          "pass kind='webdataset' or kind='lmdb'")
    if found:
        return found[0]
    return "pairs" if (root / "hq").is_dir() and (root / "lq").is_dir() else "folder"


def open_source(source: str | Path | Sequence | None = None, *, hq: str | Path | None = None,
                lq: str | Path | None = None, kind: str = "auto"):
    """A source from a folder, an export folder, a shard list or glob, an LMDB folder, or
    hq=/lq= folders (pairs) or hq=/lq= LMDB environments."""
    if kind not in KINDS:
        raise SourceError(f"kind {kind!r}: must be one of {', '.join(KINDS)}")
    if hq is not None or lq is not None:
        if not (hq and lq):
            raise SourceError("give both hq= and lq=")
        hq, lq = Path(hq), Path(lq)
        if (hq / "data.mdb").exists():
            return LmdbSource({"hq": hq, "lq": lq})
        return PairSource(hq, lq)
    if source is None:
        raise SourceError("give a source, or hq= and lq=")
    shards = _tar_list(source)
    if shards is not None or kind == "webdataset":
        root = Path(source) if shards is None else None
        shards = shards if shards is not None else sorted(root.glob("*.tar")) or sorted(
            (root / "webdataset").glob("*.tar"))
        if not shards:
            raise SourceError(f"{source}: no .tar shards")
        return _with_roles(TarSource(shards))
    root = Path(source)
    if not root.is_dir():
        raise SourceError(f"{root}: no such folder")
    kind = _detect(root) if kind == "auto" else kind
    if kind == "webdataset":
        return open_source(root, kind="webdataset")
    if kind == "lmdb":
        if (root / "data.mdb").exists():
            return LmdbSource({"image": root})
        envs = {r: root / f"{r}.lmdb" for r in ("hq", "lq") if (root / f"{r}.lmdb").exists()}
        return LmdbSource(envs if len(envs) == 2 else {"image": root / "images.lmdb"})
    if kind == "pairs":
        return PairSource(root / "hq", root / "lq")
    return FolderSource(root)


def _with_roles(source: TarSource) -> TarSource:
    """Peek at the first sample of the first shard to learn whether the shards hold pairs."""
    for shard in source.shards:
        try:
            for _key, images in source.read(shard):
                source.roles = tuple(sorted(images, key=("hq", "lq", "image").index))
                return source
        except (OSError, EOFError, ValueError, tarfile.TarError):
            continue
    return source
