"""What an export reads: one folder, one HQ/LQ pair set, or a folder of subsets (`split`'s output).

    subsets = find_subsets(input=Path("out/split"))           # [Subset("train", ...), ...]
    subsets = find_subsets(hq=Path("hq"), lq=Path("lq"))      # [Subset("", pairs)]

A subset is a plain folder or a pair set (`hq/` + `lq/` inside it). A folder counts as a folder of
subsets when asked (`mode="on"`) or, with `mode="auto"`, when it holds no images itself and either
carries a `split_report.json`, or every sub-folder is a pair set, or every sub-folder has a usual
split name (train, val, test, ...). Samples pair by relative path and stem (`io.pairs`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from ..io import iter_images, pair_folders, pair_key
from ..io.discover import IMAGE_EXTENSIONS, is_hidden

SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "test", "testing",
                         "dev", "eval", "holdout"})
SUBSET_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Sample:
    """One training sample: a key (relative path without extension) and its file(s) by role."""

    key: str
    files: tuple[tuple[str, Path], ...]      # (("hq", path), ("lq", path)) or (("image", path),)


@dataclass
class Subset:
    name: str                                # "" for a single folder or pair set
    kind: str                                # "folder" | "pairs"
    roots: dict[str, Path]                   # role -> folder the relative paths start from
    samples: list[Sample] = field(default_factory=list)
    unpaired: list[Path] = field(default_factory=list)   # files with no partner (skipped)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.roots)


def is_pair_set(folder: Path) -> bool:
    return (folder / "hq").is_dir() and (folder / "lq").is_dir()


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_hidden(p.name))


def _has_top_level_images(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return any(e.is_file() and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS
                   for e in entries)


def looks_like_subsets(folder: Path) -> bool:
    """The `auto` rule for a folder of subsets (see the module docstring)."""
    subs = _subfolders(folder)
    if not subs or is_pair_set(folder) or _has_top_level_images(folder):
        return False
    return ((folder / "split_report.json").exists() or all(map(is_pair_set, subs))
            or all(p.name.lower() in SPLIT_NAMES for p in subs))


def pair_subset(name: str, hq: Path, lq: Path, include_hidden: bool = False) -> Subset:
    pairing = pair_folders(hq, lq, include_hidden=include_hidden)
    samples = [Sample(pair_key(h, hq), (("hq", h), ("lq", l))) for h, l in pairing.pairs]
    return Subset(name, "pairs", {"hq": hq, "lq": lq}, samples,
                  pairing.missing_lq + pairing.missing_hq)


def folder_subset(name: str, root: Path, include_hidden: bool = False) -> Subset:
    if is_pair_set(root):
        return pair_subset(name, root / "hq", root / "lq", include_hidden)
    samples = [Sample(pair_key(p, root), (("image", p),))
               for p in iter_images(root, include_hidden=include_hidden)]
    return Subset(name, "folder", {"image": root}, samples)


def find_subsets(input: Path | None = None, hq: Path | None = None, lq: Path | None = None, *,
                 mode: str = "auto", include_hidden: bool = False) -> list[Subset]:
    """The subsets to export, each with its samples in a deterministic order."""
    if hq or lq:
        if input or not (hq and lq):
            raise UsageError("give --input, or both --hq and --lq")
        return [pair_subset("", Path(hq), Path(lq), include_hidden)]
    if not input:
        raise UsageError("--input is required (or --hq and --lq)")
    root = Path(input)
    if mode == "on" or (mode == "auto" and looks_like_subsets(root)):
        subsets = [folder_subset(p.name, p, include_hidden) for p in _subfolders(root)]
        subsets = [s for s in subsets if s.samples or s.unpaired]
        if not subsets:
            raise UsageError(f"--input {root}: no sub-folder holds images")
        return subsets
    return [folder_subset("", root, include_hidden)]
