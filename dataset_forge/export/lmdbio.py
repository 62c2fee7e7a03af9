"""LMDB in the BasicSR / traiNNer layout: one environment per side (`hq.lmdb`, `lq.lmdb`, or
`images.lmdb`), keys are relative paths without extension, values the image file's bytes, and a
`meta_info.txt` inside each environment folder with one line per image:

    sub/0001.png (480,640,3) 1

(name with extension, (height,width,channels), PNG compression level; 0 where the original
bytes are stored as they are). BasicSR takes the key as the text before the first dot.

Writers open each environment once per process (`writer_env`); LMDB serialises write
transactions between threads and processes of one machine, and a transaction that was never
committed (a killed worker) leaves no trace.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

from ..errors import UsageError

META_INFO = "meta_info.txt"
_envs: dict[str, Any] = {}
_lock = threading.Lock()


def _lmdb():
    """The optional `lmdb` package, or a one-line usage error naming the extra."""
    try:
        import lmdb
    except ImportError:
        raise UsageError("LMDB export needs the lmdb package: pip install "
                         "'dataset-forge[export]'") from None
    return lmdb


def lmdb_name(role: str) -> str:
    return "images.lmdb" if role == "image" else f"{role}.lmdb"


def meta_line(name: str, height: int, width: int, channels: int, compression: int) -> str:
    return f"{name} ({height},{width},{channels}) {compression}"


def parse_meta_line(line: str) -> tuple[str, tuple[int, int, int], int]:
    """('sub/0001', (h, w, c), level) from a meta_info.txt line."""
    name, shape, level = line.rsplit(" ", 2)
    h, w, c = (int(v) for v in shape.strip("()").split(","))
    return name.rsplit(".", 1)[0], (h, w, c), int(level)


def writer_env(path: Path, map_size: int) -> Any:
    """This process's writable environment at `path` (opened once, grown when asked)."""
    key = str(path)
    with _lock:
        env = _envs.get(key)
        if env is None:
            path.mkdir(parents=True, exist_ok=True)
            env = _envs[key] = _lmdb().open(key, map_size=map_size, readahead=False,
                                         meminit=False, max_dbs=0)
        elif env.info()["map_size"] < map_size:
            env.set_mapsize(map_size)
        return env


def put_all(path: Path, items: list[tuple[str, bytes]], map_size: int) -> None:
    """Write `items` in one transaction; grow the map and retry if it is full."""
    env = writer_env(path, map_size)
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, data in items:
                    txn.put(key.encode("utf-8"), data)
            return
        except _lmdb().MapFullError:
            map_size = env.info()["map_size"] * 2
            with _lock:
                env.set_mapsize(map_size)


def close_writers() -> None:
    """Close every environment this process opened for writing (end of an export)."""
    with _lock:
        for env in _envs.values():
            env.close()
        _envs.clear()


class LmdbReader:
    """Read-only access to an exported environment: `keys()` from meta_info.txt, `get(key)`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._env: Any = None

    def keys(self) -> list[str]:
        meta = self.path / META_INFO
        if meta.exists():
            return [parse_meta_line(line)[0]
                    for line in meta.read_text(encoding="utf-8").splitlines() if line.strip()]
        with self._open().begin() as txn:
            return [k.decode("utf-8") for k in txn.cursor().iternext(values=False)]

    def _open(self) -> Any:
        if self._env is None:   # opened lazily, so a reader pickles into DataLoader workers
            self._env = _lmdb().open(str(self.path), readonly=True, lock=False, readahead=False,
                                  meminit=False)
        return self._env

    def get(self, key: str) -> bytes | None:
        with self._open().begin(buffers=False) as txn:
            return txn.get(key.encode("utf-8"))

    def items(self) -> Iterator[tuple[str, bytes]]:
        with self._open().begin() as txn:
            for k, v in txn.cursor():
                yield k.decode("utf-8"), bytes(v)

    def __getstate__(self) -> dict:
        return {"path": self.path, "_env": None}

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
