"""Turning the shards' part files into the finished outputs, in one streaming pass.

Parts are read in shard order; each record goes to the manifest (JSON lines or Parquet, written
part by part), to its side's `meta_info.txt`, and into the running statistics. Every output is
written under a temporary name and renamed when whole, so memory stays flat and a kill here
leaves the previous version or none.
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator

from ..errors import UsageError
from ..io import atomic_write
from . import lmdbio
from .columns import ExtraColumns
from .plan import Shard
from .stats import StatsAccumulator
from .worker import ExportConfig

BASE_COLUMNS = {"key": "string", "split": "string", "role": "string", "path": "string",
                "partner": "string", "format": "string", "mode": "string", "width": "int64",
                "height": "int64", "channels": "int64", "bytes": "int64", "sha256": "string",
                "stored_ext": "string", "stored_bytes": "int64", "stored_sha256": "string",
                "shard": "int64"}
MANIFEST_FORMATS = ("parquet", "jsonl")


def read_part(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UsageError("Parquet export needs pyarrow: pip install 'dataset-forge[export]'"
                         ) from None
    return pyarrow


class _JsonlManifest:
    def __init__(self, fh) -> None:
        self.fh = fh

    def write(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.fh.write(json.dumps(row) + "\n")

    def close(self) -> None:
        pass


class _ParquetManifest:
    def __init__(self, fh, columns: dict[str, str]) -> None:
        pa = _pyarrow()
        types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(),
                 "bool": pa.bool_()}
        self.schema = pa.schema([(name, types[kind]) for name, kind in columns.items()])
        self.writer = pa.parquet.ParquetWriter(fh, self.schema)
        self.pa = pa

    def write(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def _manifest(stack: contextlib.ExitStack, out: Path, fmt: str, columns: dict[str, str]):
    if fmt == "jsonl":
        return _JsonlManifest(stack.enter_context(atomic_write(out / "manifest.jsonl", "w",
                                                               encoding="utf-8")))
    return _ParquetManifest(stack.enter_context(atomic_write(out / "manifest.parquet")), columns)


def iter_records(cfg: ExportConfig, shards: list[Shard]) -> Iterator[list[dict[str, Any]]]:
    for shard in shards:
        yield read_part(cfg.part_path(shard))


def assemble(cfg: ExportConfig, shards: list[Shard], extra: ExtraColumns,
             stats: StatsAccumulator, compression: int) -> list[Path]:
    """Write manifests and meta_info files from the parts; fill `stats`. Returns the paths."""
    columns = {**BASE_COLUMNS, **extra.columns}
    written: list[Path] = []
    with contextlib.ExitStack() as stack:
        manifests = [_manifest(stack, cfg.out, f, columns)
                     for f in MANIFEST_FORMATS if f in cfg.formats]
        metas = {role: stack.enter_context(atomic_write(
                     cfg.lmdb_path(role) / lmdbio.META_INFO, "w", encoding="utf-8"))
                 for role in cfg.roots} if "lmdb" in cfg.formats else {}
        for rows in iter_records(cfg, shards):
            for row in rows:
                row.update(extra.lookup(row, cfg.roots[row["role"]]))
                stats.add(row)
                if row["role"] in metas:
                    name = row["key"] + row["stored_ext"]
                    metas[row["role"]].write(lmdbio.meta_line(
                        name, row["height"], row["width"], row["channels"], compression) + "\n")
            for manifest in manifests:
                manifest.write(rows)
        for manifest in manifests:
            manifest.close()
        written += [cfg.out / f"manifest.{f}" for f in MANIFEST_FORMATS if f in cfg.formats]
        written += [cfg.lmdb_path(role) / lmdbio.META_INFO for role in metas]
    return written
