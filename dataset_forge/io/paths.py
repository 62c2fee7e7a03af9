"""Checks on the folders a command reads and writes."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable

from ..errors import UsageError


def check_output(output: Path, inputs: Iterable[Path | None], flag: str = "--output") -> None:
    """Refuse an output folder that is, holds, or lies inside one of the input folders
    (`None` inputs are skipped): raises UsageError with one line."""
    out = Path(output).expanduser().resolve()
    for folder in filter(None, inputs):
        src = Path(folder).expanduser().resolve()
        if out == src:
            raise UsageError(f"{flag} {output} is the input folder {folder}; choose a new folder")
        if out.is_relative_to(src):
            raise UsageError(f"{flag} {output} is inside the input folder {folder}; choose a "
                             "folder outside it")
        if src.is_relative_to(out):
            raise UsageError(f"{flag} {output} contains the input folder {folder}; choose a "
                             "folder outside it")


class OutputClaims:
    """Output paths claimed before anything is written, so two inputs never share one output.

        claims = OutputClaims()
        clash = claims.claim(source, dest)   # None, or a one-line reason naming both inputs

    The first claim on a path wins (call in the deterministic input order); `reserved` paths
    (the originals of an in-place run) may only be claimed by themselves.
    """

    def __init__(self, reserved: Iterable[Path] = ()) -> None:
        self._owner: dict[Path, Path] = {}
        self._reserved = frozenset(reserved)

    def claim(self, source: Path, dest: Path) -> str | None:
        other = self._owner.get(dest)
        if other is None and dest != source and dest in self._reserved:
            other = dest
        if other is not None:
            return f"{dest} is claimed by {other} too (same name stem); rename one of them"
        self._owner[dest] = source
        return None


def check_writable_folder(folder: str | Path, name: str) -> None:
    """Refuse, before anything runs, a folder that cannot be used for writing: it is a file,
    or it is missing and cannot be created (its nearest existing parent is a file, is not
    writable, or refuses a new folder, as /proc or a read-only disk do: tried by creating the
    missing folders and removing them again). `name` is what the user set (a flag or a
    settings key); the error is one line naming the folder and the reason."""
    path = Path(folder).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{name} {folder}: exists and is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{name} {folder}: the folder is not writable")
        return
    missing = [path.absolute()]
    while not missing[-1].parent.exists():
        missing.append(missing[-1].parent)
    parent = missing[-1].parent
    if not parent.is_dir():
        raise UsageError(f"{name} {folder}: cannot create it, {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{name} {folder}: cannot create it, {parent} is not writable")
    try:
        missing[0].mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"{name} {folder}: cannot create it in {parent}: "
                         f"{exc.strerror or exc}") from None
    finally:
        for made in missing:                  # deepest first; the action creates them itself
            with contextlib.suppress(OSError):
                made.rmdir()
