"""Atomic writes: a temporary file beside the target, fsync, `os.replace`, fsync of the folder.

An interrupted write (Ctrl-C, kill, power loss) leaves the old file or none, never half a file;
the temporary file is removed on any exception, SIGTERM included (workers turn it into SystemExit).
A replaced file keeps its permission bits; a new one gets 0o666 less the process umask, as
`open()` would give it (not mkstemp's 0o600).
"""
from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

from .scope import commit

TMP_SUFFIX = ".forge-tmp"


@functools.cache
def _umask() -> int:
    """The process umask, read once (from /proc where it can be read without changing it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)   # no /proc: the only portable way is to set it and put it back
    os.umask(mask)
    return mask


def _target_mode(path: Path) -> int:
    """Permission bits for the file that will stand at `path`."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where folders cannot be opened/fsynced)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def naming(path: str | Path) -> Iterator[None]:
    """Give an OSError that names no file (a write on a full disk) the name `path`."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


@contextlib.contextmanager
def _staged(path: Path, mode: str, verify: Callable[[Path], None] | None = None,
            **open_kwargs) -> Iterator[tuple[IO, Path]]:
    """Yield (file, temporary path); on success verify the temporary file, then swap it in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, _target_mode(path))
        with naming(path), open(fd, mode, **open_kwargs) as fh:
            yield fh, Path(tmp)
            fh.flush()
            os.fsync(fh.fileno())
        if verify is not None:
            verify(Path(tmp))
        commit(tmp, path)  # os.replace, refused if the item has been abandoned (io.scope)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """`with atomic_write(path) as fh: fh.write(...)`: `path` changes only if the block ends."""
    with _staged(Path(path), mode, **open_kwargs) as (fh, _tmp):
        yield fh


def atomic_save(path: str | Path, save: Callable[[IO], None],
                verify: Callable[[Path], None] | None = None) -> Path:
    """Call `save(fh)` into a temporary file; run `verify(tmp_path)` (e.g. decode it) before
    the atomic swap, so a file that does not read back never replaces anything."""
    path = Path(path)
    with _staged(path, "wb", verify) as (fh, _tmp):
        save(fh)
    return path


def atomic_copy(src: str | Path, dst: str | Path) -> Path:
    """Copy `src`'s bytes and metadata (shutil.copystat: mode, times) to `dst` atomically."""
    src, dst = Path(src), Path(dst)
    with open(src, "rb") as fin, _staged(dst, "wb") as (fout, tmp):
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        shutil.copystat(src, tmp)
    return dst


def leftover_temporaries(folder: str | Path) -> list[Path]:
    """Temporary files a hard kill (SIGKILL, power loss) may leave behind, for cleanup."""
    return sorted(Path(folder).rglob(f".*{TMP_SUFFIX}"))


def remove_leftover_temporaries(folder: str | Path) -> int:
    """Delete the temporary files a hard kill left under `folder`; returns how many."""
    if not Path(folder).is_dir():
        return 0
    found = leftover_temporaries(folder)
    for path in found:
        path.unlink(missing_ok=True)
    return len(found)
