"""Checks on the folders a command reads and writes."""
from __future__ import annotations

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
