"""A journal of finished items, so rerunning an interrupted command skips completed work.

    journal = Journal(out_dir / ".forge-journal" / "compress.jsonl", fingerprint=params_hash)
    if journal.done(key): skip
    ... write output atomically ...
    journal.mark(key, {"bytes": n})

Lines are appended and flushed one by one; a torn last line (power loss) is ignored on read.
A journal from a run with different parameters (another fingerprint) is ignored, not trusted.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .atomic import naming


def fingerprint(params: dict[str, Any]) -> str:
    """A short stable hash of the parameters that decide what outputs look like."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """A short hash of a file's bytes (a model file's identity in a fingerprint)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class Journal:
    def __init__(self, path: Path, fingerprint: str = "") -> None:
        self.path = Path(path)
        self.fingerprint = fingerprint
        self._done: dict[str, Any] = {}
        self._load()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        end_cut_line(self.path)
        self._fh = open(self.path, "a", encoding="utf-8")
        if self.path.stat().st_size == 0:
            self._append({"fingerprint": fingerprint})

    def _load(self) -> None:
        if not self.path.exists():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        header = _parse(lines[0]) if lines else None
        if not header or header.get("fingerprint") != self.fingerprint:
            self.path.unlink()  # parameters changed: earlier results do not count
            return
        for line in lines[1:]:
            entry = _parse(line)
            if entry and "key" in entry:
                self._done[entry["key"]] = entry.get("info")

    def _append(self, entry: dict[str, Any]) -> None:
        # flushed, not fsynced: a line lost to power loss only means that item is redone,
        # and its output is rewritten atomically
        with naming(self.path):
            self._fh.write(json.dumps(entry, default=str) + "\n")
            self._fh.flush()

    def done(self, key: str) -> bool:
        return key in self._done

    def info(self, key: str) -> Any:
        return self._done.get(key)

    def mark(self, key: str, info: Any = None) -> None:
        self._done[key] = info
        self._append({"key": key, "info": info})

    def __len__(self) -> int:
        return len(self._done)

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def end_cut_line(path: Path) -> None:
    """A hard kill can leave a log's last line cut short: end it, so the lines appended next
    stay whole (readers skip the cut one) instead of being glued onto it and lost."""
    try:
        with open(path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    except OSError:
        pass   # no file yet, or an empty one


def _parse(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
