"""A cache of features (hashes, embeddings), so a second scan only computes new or changed files.

    cache = FeatureCache.open(None)                 # the platform cache folder
    stats = [file_stat(p) for p in paths]
    found = cache.lookup("phash:8:plain", stats)    # {index: bytes} for unchanged files
    cache.store("phash:8:plain", [(stats[k], blob), ...])

One SQLite table keyed by (absolute path, method key); a row counts only while the file's size
and modification time (nanoseconds) are what they were when it was computed. The method key
holds every setting that changes the features (hash size, invariance, model and weights).
Values are read only where needed (`present` checks without reading them, `lookup_one` reads
one), so large values (the verifier's signatures) stay on disk, not in memory.

`FeatureCache.scratch()` is a temporary cache for one run (deleted on close): a run without
a cache (`--cache off`) keeps what it computes there instead of in memory.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

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

    def __init__(self, path: Path | None, *, temporary: bool = False) -> None:
        self.path = path
        self.temporary = temporary
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            if temporary:       # nothing to keep if the run dies: no journal, no syncs
                self._db.execute("PRAGMA journal_mode=OFF")
                self._db.execute("PRAGMA synchronous=OFF")
            else:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)

    @classmethod
    def scratch(cls) -> "FeatureCache":
        """A cache in a temporary file, deleted when it is closed."""
        fd, name = tempfile.mkstemp(prefix="forge-dedup-", suffix=".sqlite")
        os.close(fd)
        return cls(Path(name), temporary=True)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    @classmethod
    def open(cls, setting: str | None) -> "FeatureCache":
        """'' or None: the default location; 'off': no cache; anything else: a file path."""
        if setting == "off":
            return cls(None)
        return cls(Path(setting).expanduser() if setting else default_cache_path())

    def lookup(self, method: str, stats: list[FileStat]) -> dict[int, bytes]:
        """Cached values of unchanged files, by position in `stats`."""
        return dict(self._unchanged(method, stats, "value"))

    def present(self, method: str, stats: list[FileStat]) -> set[int]:
        """Positions in `stats` of unchanged files that have a cached value (not read)."""
        return {k for k, _ in self._unchanged(method, stats, "NULL")}

    def _unchanged(self, method: str, stats: list[FileStat], column: str):
        """(position, `column`) of each unchanged file of `stats` cached under `method`."""
        if self._db is None:
            return
        where = {s.path: k for k, s in enumerate(stats)}
        paths = list(where)
        for start in range(0, len(paths), LOOKUP_CHUNK):
            part = paths[start:start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT path, size, mtime_ns, {column} FROM features WHERE method = ? "
                f"AND path IN ({marks})", [method, *part])
            for path, size, mtime_ns, value in rows:
                k = where[path]
                if stats[k].size == size and stats[k].mtime_ns == mtime_ns:
                    yield k, value

    def lookup_one(self, method: str, stat: FileStat) -> bytes | None:
        """The cached value of one unchanged file, or None."""
        if self._db is None:
            return None
        row = self._db.execute("SELECT size, mtime_ns, value FROM features WHERE path = ? AND "
                               "method = ?", (stat.path, method)).fetchone()
        if row is None or row[0] != stat.size or row[1] != stat.mtime_ns:
            return None
        return row[2]

    def lookup_pairs(self, tag: str, pairs: list[tuple[FileStat, FileStat]]) -> dict[int, bytes]:
        """Cached values of pairs of unchanged files (a verifier's scores), by position. A pair
        is stored under its first file, with the second file's path, size and time in the key."""
        found: dict[int, bytes] = {}
        for k, (a, b) in enumerate(pairs):
            value = self.lookup_one(_pair_key(tag, b), a)
            if value is not None:
                found[k] = value
        return found

    def store_pairs(self, tag: str, items: Iterable[tuple[FileStat, FileStat, bytes]]) -> int:
        """Values of pairs (one transaction)."""
        return self._insert([(a.path, _pair_key(tag, b), a.size, a.mtime_ns, value)
                             for a, b, value in items])

    def store(self, method: str, items: Iterable[tuple[FileStat, bytes]]) -> int:
        return self._insert([(s.path, method, s.size, s.mtime_ns, value) for s, value in items])

    def _insert(self, rows: list[tuple]) -> int:
        if self._db is None or not rows:
            return 0
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            if self.temporary and self.path is not None:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.path}{suffix}")

    def __enter__(self) -> "FeatureCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class RunStores:
    """Where one run keeps what it computes: `features` (the feature cache, or the run's scratch
    when the cache is off) and `scratch` (this run only: thumbnails made while hashing)."""
    features: FeatureCache
    scratch: FeatureCache

    @classmethod
    @contextlib.contextmanager
    def open(cls, setting: str | None) -> Iterator["RunStores"]:
        with FeatureCache.open(setting) as cache, FeatureCache.scratch() as scratch:
            yield cls(cache if cache.enabled else scratch, scratch)
