"""HQ/LQ pairing: files match by relative folder and stem; the extension may differ.

    result = pair_folders(hq_dir, lq_dir)   # or pair_images(hq_dir, hq_list, lq_dir, lq_list)
    result.pairs          # [(hq_path, lq_path)], sorted by HQ path
    result.missing_lq     # HQ files with no LQ partner
    result.missing_hq     # LQ files with no HQ partner
    result.ambiguous      # keys with more than one file on a side (e.g. a.png and a.jpg)
    result.left_out       # [(file, the file of its stem that was paired instead)]
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .discover import iter_images


def pair_key(path: Path, root: Path) -> str:
    """'sub/name' for 'root/sub/name.ext': the relative path without the extension."""
    return path.relative_to(root).with_suffix("").as_posix()


@dataclass
class Pairing:
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    missing_lq: list[Path] = field(default_factory=list)
    missing_hq: list[Path] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    left_out: list[tuple[Path, Path]] = field(default_factory=list)


def _index(root: Path, images: Iterable[Path]) -> dict[str, list[Path]]:
    index: dict[str, list[Path]] = defaultdict(list)
    for path in images:
        index[pair_key(path, root)].append(path)
    return index


def pair_folders(hq_root: str | Path, lq_root: str | Path, *,
                 include_hidden: bool = False) -> Pairing:
    """Walk both folders and pair what they hold."""
    return pair_images(hq_root, iter_images(hq_root, include_hidden=include_hidden),
                       lq_root, iter_images(lq_root, include_hidden=include_hidden))


def pair_images(hq_root: str | Path, hq_images: Iterable[Path], lq_root: str | Path,
                lq_images: Iterable[Path]) -> Pairing:
    """Pair images already found under each root (no second walk)."""
    hq_root, lq_root = Path(hq_root), Path(lq_root)
    hq, lq = _index(hq_root, hq_images), _index(lq_root, lq_images)
    result = Pairing()
    for key in sorted(hq):
        if key not in lq:
            result.missing_lq.extend(hq[key])
            continue
        if len(hq[key]) > 1 or len(lq[key]) > 1:
            result.ambiguous.append(key)
            result.left_out += [(p, side[0]) for side in (hq[key], lq[key]) for p in side[1:]]
        result.pairs.append((hq[key][0], lq[key][0]))
    result.missing_hq = sorted(p for key in lq if key not in hq for p in lq[key])
    return result
