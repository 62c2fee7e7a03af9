"""Atomic writes: a temporary file beside the target, fsync, then `os.replace`.

An interrupted write (Ctrl-C, kill, power loss) leaves the old file or none, never half a file;
the temporary file is removed on any exception, SIGTERM included (workers turn it into SystemExit).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

TMP_SUFFIX = ".forge-tmp"


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with open(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_save(path: str | Path, save: Callable[[IO], None],
                verify: Callable[[Path], None] | None = None) -> Path:
    """Call `save(fh)` into a temporary file; run `verify(tmp_path)` (e.g. decode it) before
    the atomic swap, so a file that does not read back never replaces anything."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with open(fd, "wb") as fh:
            save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if verify is not None:
            verify(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def leftover_temporaries(folder: str | Path) -> list[Path]:
    """Temporary files a hard kill (SIGKILL, power loss) may leave behind, for cleanup."""
    return sorted(Path(folder).rglob(f".*{TMP_SUFFIX}"))
