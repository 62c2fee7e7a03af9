"""Finding images under a folder: deterministic order, symlink-cycle safe, hidden files skipped.

`iter_files` walks; `iter_images` keeps files whose extension names an image format Pillow reads.
Content sniffing (extension mismatches, non-images) lives with the analysis actions.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".dib", ".gif", ".tif", ".tiff",
    ".avif", ".heic", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico", ".jp2", ".j2k", ".qoi",
    ".dds", ".psd", ".pcx", ".sgi", ".im", ".xbm",
})


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def iter_files(root: str | Path, *, include_hidden: bool = False,
               follow_symlinks: bool = True) -> Iterator[Path]:
    """Every regular file under `root` in a deterministic, depth-first order: a folder's files
    (by name) before its sub-folders (by name); each real folder is visited once."""
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue  # a symlink cycle or a folder linked twice
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
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
            except OSError:
                continue
        stack.extend(reversed(subdirs))


def iter_images(root: str | Path, *, include_hidden: bool = False) -> Iterator[Path]:
    """Files under `root` with an image extension, in deterministic order."""
    for path in iter_files(root, include_hidden=include_hidden):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            yield path
