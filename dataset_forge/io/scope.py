"""Write scopes: an item the core gave up on cannot leave an output that its report omits.

A thread cannot be interrupted, so when an item runs past its timeout in thread mode the core
stops waiting for it and abandons its scope. From then on the item's atomic writes refuse their
final rename (the temporary file is removed), and the files it had already created are deleted.
Outside a scope (serial runs, process workers, the main thread) writes simply go ahead.

    scope = WriteScope()
    with write_scope(scope):          # in the worker thread, around one item
        atomic_save(dest, save)       # renames through scope.commit
    replaced = scope.abandon()        # from the core: files it had replaced (cannot be undone)
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Iterator


class ItemAbandoned(RuntimeError):
    """An atomic write refused: the item it belongs to was given up (timed out)."""


class WriteScope:
    """The files one item writes, and whether the core has given up on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.abandoned = False
        self.started: float | None = None  # time.monotonic() when the item began
        self.created: list[Path] = []      # new files, deleted if the item is abandoned
        self.replaced: list[Path] = []     # existing files it replaced before being abandoned

    def start(self) -> None:
        self.started = time.monotonic()

    def commit(self, tmp: str | Path, path: str | Path) -> None:
        """`os.replace(tmp, path)`, unless the item was abandoned (then ItemAbandoned)."""
        with self._lock:
            if self.abandoned:
                raise ItemAbandoned(f"{path}: not written, the item timed out")
            existed = os.path.lexists(path)
            os.replace(tmp, path)
            (self.replaced if existed else self.created).append(Path(path))

    def abandon(self) -> list[Path]:
        """Refuse the item's further writes and delete the files it created; return the
        existing files it had already replaced (those cannot be taken back)."""
        with self._lock:
            self.abandoned = True
            for path in self.created:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            self.created.clear()
            return list(self.replaced)


_local = threading.local()


@contextlib.contextmanager
def write_scope(scope: WriteScope | None) -> Iterator[None]:
    """Make `scope` the current thread's scope for the duration of the block."""
    previous = getattr(_local, "scope", None)
    _local.scope = scope
    try:
        yield
    finally:
        _local.scope = previous


def commit(tmp: str | Path, path: str | Path) -> None:
    """The final rename of an atomic write, through the current thread's scope if it has one."""
    scope = getattr(_local, "scope", None)
    if scope is None:
        os.replace(tmp, path)
    else:
        scope.commit(tmp, path)
