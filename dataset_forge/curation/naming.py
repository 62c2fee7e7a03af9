"""New names and folders for files: rename patterns, organise categories, flattening, and the
two-phase moves that let renames swap names safely.

    fields = pattern_fields("{index:06d}_{hash8}")       # {"index", "hash8"}; ValueError if bad
    render("{index:06d}_{hash8}", {"index": 3, "hash8": "1a2b3c4d", ...})   # '000003_1a2b3c4d'
    category("orientation", facts)                        # 'landscape'
    flat_name("a/b/c.png", "_")                           # 'a_b_c.png'
    staged = two_phase(moves)                             # temporary names where names cycle
"""
from __future__ import annotations

import math
import string
from pathlib import Path
from typing import Any, Sequence

PLACEHOLDERS = {
    "index": "position in the sorted file list, from --start",
    "stem": "the current name without its extension",
    "folder": "the name of the file's folder",
    "hash8": "first 8 hex digits of the SHA-256 of the content",
    "hash16": "first 16 hex digits of the SHA-256 of the content",
    "width": "width in pixels", "height": "height in pixels",
}
BY = ("orientation", "size", "format", "aspect")
#: size classes by megapixels (upper bounds)
SIZE_CLASSES = ((0.25, "tiny"), (1.0, "small"), (4.0, "medium"), (16.0, "large"),
                (math.inf, "huge"))
#: named aspect ratios; within ASPECT_TOLERANCE (relative) of one, a file is filed under it
ASPECTS = {"1x1": 1.0, "5x4": 1.25, "4x3": 4 / 3, "3x2": 1.5, "16x10": 1.6, "16x9": 16 / 9,
           "21x9": 21 / 9, "4x5": 0.8, "3x4": 0.75, "2x3": 2 / 3, "10x16": 0.625,
           "9x16": 9 / 16, "9x21": 9 / 21}
ASPECT_TOLERANCE = 0.02
STAGE_PREFIX = ".forge-rename-"


def pattern_fields(pattern: str) -> set[str]:
    """The placeholders a pattern uses; ValueError (one line) for unknown ones or bad syntax."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"{pattern!r}: {exc}") from None
    used = {name for _, name, _, _ in parsed if name is not None}
    if "" in used or any(not name.isidentifier() for name in used):
        raise ValueError(f"{pattern!r}: name every placeholder, e.g. {{index:06d}}")
    unknown = used - set(PLACEHOLDERS)
    if unknown:
        raise ValueError(f"{pattern!r}: unknown placeholder {sorted(unknown)[0]!r}; one of "
                         + ", ".join(PLACEHOLDERS))
    if not used:
        raise ValueError(f"{pattern!r}: a pattern without placeholders gives every file one name")
    return used


def render(pattern: str, values: dict[str, Any]) -> str:
    """The new stem; ValueError if it is empty or holds a path separator."""
    name = pattern.format(**values)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"pattern gives {name!r}, not a file name")
    return name


def displayed_size(facts: dict[str, Any]) -> tuple[int, int]:
    """(width, height) as viewers show it: EXIF orientations 5 to 8 turn the picture."""
    w, h = facts["width"], facts["height"]
    return (h, w) if (facts.get("exif_orientation") or 1) in (5, 6, 7, 8) else (w, h)


def category(by: str, facts: dict[str, Any]) -> str:
    """The folder a file is filed under when organising `by` orientation, size, format, aspect."""
    w, h = displayed_size(facts)
    if by == "orientation":
        return "square" if w == h else "landscape" if w > h else "portrait"
    if by == "size":
        mp = w * h / 1e6
        return next(name for bound, name in SIZE_CLASSES if mp < bound)
    if by == "format":
        return str(facts.get("content_format") or facts.get("format") or "unknown").lower()
    if by == "aspect":
        ratio = w / h if h else 0.0
        name, value = min(ASPECTS.items(), key=lambda kv: abs(kv[1] - ratio))
        return name if ratio and abs(value - ratio) / value <= ASPECT_TOLERANCE else "other"
    raise ValueError(f"unknown category {by!r}")


def flat_name(rel: str, separator: str) -> str:
    """'a/b/c.png' -> 'a_b_c.png': the folders become part of the name."""
    return separator.join(Path(rel).parts)


def two_phase(moves: Sequence[tuple[Path, Path, str]]) -> list[tuple[Path, Path, str]]:
    """Renames as (src, dst, unit) steps that never land on a file still waiting to move:
    when a destination is another move's source (a -> b while b -> c, or a swap), every such
    move goes first to a hidden temporary name in its own folder, then to its final name."""
    sources = {src for src, _, _ in moves}
    if not any(dst in sources and dst != src for src, dst, _ in moves):
        return list(moves)
    first, second = [], []
    for n, (src, dst, unit) in enumerate(moves):
        if dst in sources:
            tmp = src.with_name(f"{STAGE_PREFIX}{n}-{src.name}")
            first.append((src, tmp, unit))
            second.append((tmp, dst, unit))
        else:
            first.append((src, dst, unit))
    return first + second
