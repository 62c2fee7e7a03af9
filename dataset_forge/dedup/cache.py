"""A cache of features (hashes, embeddings), so a second scan only computes new or changed files.

    cache = FeatureCache.open(None)                 # the platform cache folder
    stats = [file_stat(p) for p in paths]
    found = cache.lookup("phash:8:plain", stats)    # {index: bytes} for unchanged files
    cache.store("phash:8:plain", [(stats[k], blob), ...])

One SQLite table keyed by (absolute path, method key); a row counts only while the file's size
and modification time (nanoseconds) are what they were when it was computed. The method key
holds every setting that changes the features (hash size, invariance, model and weights).
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import platformdirs

LOOKUP_CHUNK = 900  # SQLite's default limit on bound parameters is 999
SCHEMA = """CREATE TABLE IF NOT EXISTS features (
    path TEXT NOT NULL, method TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    value BLOB NOT NULL, PRIMARY KEY (path, method)) WITHOUT ROWID"""


@dataclass(frozen=True)
class FileStat:
    path: str        # absolute
    size: int
    mtime_ns: int


def file_stat(path: str | Path) -> FileStat:
    st = os.stat(path)
    return FileStat(os.path.abspath(path), st.st_size, st.st_mtime_ns)


def _pair_key(tag: str, other: FileStat) -> str:
    return f"{tag}|{other.path}|{other.size}|{other.mtime_ns}"


def default_cache_path() -> Path:
    return Path(platformdirs.user_cache_dir("dataset-forge")) / "dedup-features.sqlite"


class FeatureCache:
    """SQLite-backed; `FeatureCache(None)` is a cache that remembers nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)

    @classmethod
    def open(cls, setting: str | None) -> "FeatureCache":
        """'' or None: the default location; 'off': no cache; anything else: a file path."""
        if setting == "off":
            return cls(None)
        return cls(Path(setting).expanduser() if setting else default_cache_path())

    def lookup(self, method: str, stats: list[FileStat]) -> dict[int, bytes]:
        """Cached values of unchanged files, by position in `stats`."""
        if self._db is None:
            return {}
        where = {s.path: k for k, s in enumerate(stats)}
        found: dict[int, bytes] = {}
        paths = list(where)
        for start in range(0, len(paths), LOOKUP_CHUNK):
            part = paths[start:start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT path, size, mtime_ns, value FROM features WHERE method = ? "
                f"AND path IN ({marks})", [method, *part])
            for path, size, mtime_ns, value in rows:
                k = where[path]
                if stats[k].size == size and stats[k].mtime_ns == mtime_ns:
                    found[k] = value
        return found

    def lookup_pairs(self, tag: str, pairs: list[tuple[FileStat, FileStat]]) -> dict[int, bytes]:
        """Cached values of pairs of unchanged files (a verifier's scores), by position. A pair
        is stored under its first file, with the second file's path, size and time in the key."""
        if self._db is None:
            return {}
        found: dict[int, bytes] = {}
        for k, (a, b) in enumerate(pairs):
            row = self._db.execute("SELECT size, mtime_ns, value FROM features WHERE path = ? "
                                   "AND method = ?", (a.path, _pair_key(tag, b))).fetchone()
            if row is not None and row[0] == a.size and row[1] == a.mtime_ns:
                found[k] = row[2]
        return found

    def store_pairs(self, tag: str, items: Iterable[tuple[FileStat, FileStat, bytes]]) -> int:
        return sum(self.store(_pair_key(tag, b), [(a, value)]) for a, b, value in items)

    def store(self, method: str, items: Iterable[tuple[FileStat, bytes]]) -> int:
        if self._db is None:
            return 0
        rows = [(s.path, method, s.size, s.mtime_ns, value) for s, value in items]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "FeatureCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
