"""One writing run per folder: an advisory lock that a second identical run meets at once.

    with RunLock(out_dir, "compress"):      # raises RunLocked (a one-line message) if held
        ... clean leftovers, write, journal ...

The lock is `flock` on `<folder>/.forge-journal/lock`, so the operating system releases it
when the holder exits, kill -9 included: no stale lock to clean by hand. The file records who
holds it (action, pid, start time) for the message. Where `fcntl` is missing (Windows) the lock
is a no-op.
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = Path(".forge-journal") / "lock"


class RunLocked(RuntimeError):
    """Another run holds the folder; the message names it."""


class RunLock:
    def __init__(self, folder: str | Path, action: str) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.action = action
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another run"
            os.close(fd)
            raise RunLocked(f"{self.path.parent.parent} is in use by {holder}; wait for it to "
                            "finish (or write to another folder)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.action} (pid {os.getpid()}, since "
                      f"{time.strftime('%H:%M:%S')})\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)     # closing drops the flock
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
