"""Replacing originals in place without ever losing one, even under kill -9.

    intents = IntentLog(journal_dir / "compress.intents.jsonl", fingerprint)
    swap_in(source, dest, data, verify, key=key, row=row, intents=intents, trash=True)
    intents.finish_cut_swaps()                     # a rerun, first thing
    recognised = intents.recognise(pending_keys)   # key -> row of swaps already made

The order of a swap: the new bytes are staged beside the target (unique name, fsynced,
verified); the intent (key, digest of the new bytes, staged name) is journaled; the original
goes to the system trash when it must be kept (lossy results, new names: the caller logs the
undo manifest first); the staged file is renamed into place. A rerun therefore recognises its
own outputs by digest (no second lossy re-encode) and finishes a swap cut between the trash and
the rename; a staged file whose swap never started is a plain leftover temporary.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

from ..io.atomic import TMP_SUFFIX, fsync_folder
from ..io.trash import to_trash
from ..io.undo import sha256_of


class IntentLog:
    """Write-ahead intents of in-place swaps, appended by workers (one write per line)."""

    def __init__(self, path: str | Path, fingerprint: str) -> None:
        self.path, self.fingerprint = str(path), fingerprint

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps({"fp": self.fingerprint, **entry}, default=str) + "\n"
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> dict[str, dict[str, Any]]:
        """The latest intent per key from runs with this fingerprint (torn lines ignored)."""
        found: dict[str, dict[str, Any]] = {}
        with contextlib.suppress(FileNotFoundError):
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    with contextlib.suppress(json.JSONDecodeError):
                        entry = json.loads(line)
                        if isinstance(entry, dict) and entry.get("fp") == self.fingerprint:
                            found[entry["key"]] = entry
        return found

    def finish_cut_swaps(self) -> int:
        """Finish the swaps a hard kill cut after the original went to the trash and before
        the new file was renamed into place (run before leftover temporaries are removed).
        Returns how many were finished."""
        finished = 0
        for entry in self.entries().values():
            dest, staged = Path(entry["dest"]), Path(entry["staged"])
            if not dest.exists() and staged.is_file() and not Path(entry["source"]).exists() \
                    and sha256_of(staged) == entry["sha256"]:
                os.replace(staged, dest)
                finished += 1
        return finished

    def recognise(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """For the given unfinished keys: key -> report row of each swap that did happen (the
        file at its output is, byte for byte, the one this run's parameters made). Intents of
        swaps that never happened are ignored: those items run again from the original."""
        entries, done = self.entries(), {}
        for key in keys:
            entry = entries.get(key)
            dest = Path(entry["dest"]) if entry else None
            if dest is not None and dest.is_file() and sha256_of(dest) == entry["sha256"]:
                done[key] = entry["row"]
        return done


def stage(dest: Path, data: bytes, verify: Callable[[Path], None] | None,
          mode_from: Path) -> Path:
    """Write `data` to a new temporary file beside `dest` (permissions of `mode_from`),
    fsync it and verify it; the caller renames it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TMP_SUFFIX, dir=dest.parent)
    try:
        os.fchmod(fd, os.stat(mode_from).st_mode & 0o7777)
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if verify is not None:
            verify(Path(tmp))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def swap_in(source: Path, dest: Path, data: bytes, verify: Callable[[Path], None] | None, *,
            key: str, row: dict[str, Any], intents: IntentLog | None, trash: bool) -> None:
    """Put `data` at `dest` in place of `source` (see the module docstring for the order).
    With `trash`, the original goes to the system trash; otherwise it is replaced."""
    staged = stage(dest, data, verify, source)
    try:
        if intents is not None:
            intents.record({"key": key, "source": str(source), "dest": str(dest),
                            "staged": str(staged), "sha256": hashlib.sha256(data).hexdigest(),
                            "row": row})
        if trash:
            to_trash(source)
        os.replace(staged, dest)
    except BaseException:
        if source.exists() or not staged.exists():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)      # nothing was swapped: the original still stands
        else:
            os.replace(staged, dest)   # the original is already in the trash: finish
        raise
    fsync_folder(dest.parent)
