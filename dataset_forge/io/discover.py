"""Finding images under a folder: one rule, used by every action family and by the runner.

The rule: a file is an image to read when

1. its extension names an image format (`IMAGE_EXTENSIONS`): taken without reading it, since
   the worker that opens it reports corruption or an extension that lies about the content; or
2. whatever its name, its first 64 bytes carry an image signature (`sniff.magic_format`): a
   PNG saved without an extension, a JPEG renamed `.dat`. Only files of rule 1's complement
   are read, one small read each.

Hidden files and folders (names starting with ".") are skipped unless asked for; the order is
deterministic (a folder's files by name, then its sub-folders by name); a folder reached twice
through symbolic links is walked once. What cannot be walked is a `WalkProblem`, never a
silent skip: a dangling symbolic link, a sub-folder that cannot be listed.

    for path in iter_images(root):                    # stream (writing actions)
        ...
    found = discover(root)                            # list + counts + problems (analysis)
    found.images, found.renamed, found.other_files, found.problems

Cost on the 1,121 real photos (benchmarks/RESULTS.md, "discovery"): the walk alone and the walk
with rule 2 for every file differ by the reads of rule 2; rule 1 keeps image-named files free.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .sniff import IMAGE_EXTENSIONS, sniff_format

__all__ = ["Discovery", "IMAGE_EXTENSIONS", "WalkProblem", "discover", "first_image",
           "is_hidden", "iter_files", "iter_images"]


def is_hidden(name: str) -> bool:
    return name.startswith(".")


@dataclass(frozen=True)
class WalkProblem:
    """Something under the root that could not be walked: `dangling_symlink` or
    `unreadable_folder`, with the operating system's reason."""

    kind: str
    path: Path
    reason: str

    def finding(self) -> dict[str, str]:
        return {"kind": self.kind, "path": str(self.path), "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.replace('_', ' ')} ({self.reason})"


def iter_files(root: str | Path, *, include_hidden: bool = False, follow_symlinks: bool = True,
               problems: list[WalkProblem] | None = None) -> Iterator[Path]:
    """Every regular file under `root` in a deterministic, depth-first order: a folder's files
    (by name) before its sub-folders (by name); each real folder is visited once. Dangling
    links and folders that cannot be listed are appended to `problems` when it is given."""
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    stack = [root]
    note = problems.append if problems is not None else (lambda problem: None)
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue  # a symlink cycle or a folder linked twice
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            note(WalkProblem("unreadable_folder", folder, exc.strerror or str(exc)))
            continue
        subdirs = []
        for entry in entries:
            if not include_hidden and is_hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=follow_symlinks):
                    subdirs.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=follow_symlinks):
                    yield Path(entry.path)
                elif entry.is_symlink() and not os.path.exists(entry.path):
                    note(WalkProblem("dangling_symlink", Path(entry.path),
                                     "points to " + os.readlink(entry.path)))
            except OSError as exc:
                note(WalkProblem("unreadable_folder", Path(entry.path), exc.strerror or str(exc)))
        stack.extend(reversed(subdirs))


def image_format(path: Path) -> str | None:
    """The rule for one file: 'name' when its extension names an image format, the sniffed
    format when its content is an image, else None."""
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return "name"
    return sniff_format(path, identify=False)


def iter_images(root: str | Path, *, include_hidden: bool = False,
                problems: list[WalkProblem] | None = None) -> Iterator[Path]:
    """Images under `root` by the rule above, in deterministic order."""
    for path in iter_files(root, include_hidden=include_hidden, problems=problems):
        if image_format(path) is not None:
            yield path


def first_image(root: str | Path, *, include_hidden: bool = False) -> Path | None:
    """The first image by the rule, or None: however many other files come before it."""
    return next(iter_images(root, include_hidden=include_hidden), None)


@dataclass
class Discovery:
    """What `discover` found: `images` (every image by the rule), `renamed` (those found by
    content alone, with their real format), `other_files` (neither) and `problems`."""

    images: list[Path] = field(default_factory=list)
    renamed: list[tuple[Path, str]] = field(default_factory=list)
    other_files: int = 0
    problems: list[WalkProblem] = field(default_factory=list)


def discover(root: str | Path, include_hidden: bool = False) -> Discovery:
    """Walk `root` once by the rule and keep everything it learned."""
    found = Discovery()
    for path in iter_files(root, include_hidden=include_hidden, problems=found.problems):
        fmt = image_format(path)
        if fmt is None:
            found.other_files += 1
            continue
        found.images.append(path)
        if fmt != "name":
            found.renamed.append((path, fmt))
    return found
