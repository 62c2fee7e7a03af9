"""Send a file to the system trash safely from many workers at once.

    to_trash(path)

send2trash picks the trashed file's name by checking what exists, then creates the folders and
renames: two processes trashing files of the same name (hq/0001.png and lq/0001.png) at once can
pick the same name, and the second rename then replaces the first trashed original. Here every
call holds an exclusive `flock` on one lock file per user while it trashes, so names are picked
one at a time (across runs too). Where `fcntl` is missing the call is not serialised.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _lock_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / ".dataset-forge-trash.lock"


@contextlib.contextmanager
def _serialised():
    if fcntl is None:
        yield
        return
    path = _lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def to_trash(path: str | Path) -> None:
    """Move `path` to the system trash (raises OSError with the reason if it cannot)."""
    from send2trash import send2trash
    with _serialised():
        send2trash(str(path))
