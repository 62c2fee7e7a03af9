"""Duplicate groups read from a deduplication report, for the review screen.

Accepted shapes (the first that yields groups wins):
1. `report.findings` entries that hold a list of two or more paths under `files`, `members`
   or `paths`, with the kept one under `keep` (else the first path is kept);
2. a JSON file listed in `report.files` whose name ends in `groups.json`, holding a list of
   such groups or `{"groups": [...]}`.
Paths may be relative to the report's `hq` (HQ/LQ runs) or `input` parameter.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from dataset_forge.reports.report import Report

MEMBER_KEYS = ("files", "members", "paths")
STALE_KEYS = ("keep", "kept", "duplicates")  # recomputed from the reviewed choice


@dataclass
class DuplicateGroup:
    files: list[str]
    keep: str
    info: dict[str, Any] = field(default_factory=dict)   # the rest of the finding (distance, ...)

    @property
    def removed(self) -> list[str]:
        return [f for f in self.files if f != self.keep]


def _members(entry: dict[str, Any]) -> list[str] | None:
    for key in MEMBER_KEYS:
        value = entry.get(key)
        if isinstance(value, list) and len(value) >= 2:
            return [str(v["path"]) if isinstance(v, dict) else str(v) for v in value]
    return None


def _groups_from(entries: Iterable[Any]) -> list[DuplicateGroup]:
    groups = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        members = _members(entry)
        if members is None:
            continue
        keep = str(entry.get("keep") or members[0])
        info = {k: v for k, v in entry.items() if k not in MEMBER_KEYS + STALE_KEYS}
        groups.append(DuplicateGroup(members, keep if keep in members else members[0], info))
    return groups


def _groups_file(report: Report) -> Path | None:
    for path in report.files.values():
        if str(path).endswith("groups.json") and Path(path).is_file():
            return Path(path)
    return None


def load_groups(report: Report) -> list[DuplicateGroup]:
    groups = _groups_from(report.findings)
    if groups:
        return groups
    path = _groups_file(report)
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return _groups_from(data.get("groups", []) if isinstance(data, dict) else data)


def has_groups(report: Report) -> bool:
    return bool(_groups_from(report.findings)) or _groups_file(report) is not None


def resolve(report: Report, path: str) -> Path:
    """A group member as a path on disk (relative ones from the folder the run deduplicated:
    `hq` in HQ/LQ runs, else `input`)."""
    p = Path(path)
    root = report.params.get("hq") or report.params.get("input")
    return p if p.is_absolute() or not root else Path(root) / p


def write_choices(groups: list[DuplicateGroup], path: Path) -> Path:
    """The reviewed choices as `{"groups": [{"files": [...], "keep": ...}]}`."""
    from dataset_forge.io.atomic import atomic_write
    with atomic_write(path, "w") as fh:
        json.dump({"groups": [{"files": g.files, "keep": g.keep, **g.info} for g in groups]},
                  fh, indent=2, default=str)
    return path
