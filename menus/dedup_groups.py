"""Duplicate groups for the review screen: the engine's typed plan (`dataset_forge.dedup.plan`),
read from the groups file a dedup run lists in its report, changed by the reviewer, and written
back as `dedup_plan.json` (the same record), which `--plan` applies without searching again.

    plan = load_plan(report)
    set_keep(group, 2)                      # member 2 is the group's keeper now
    toggle(group, 1)                        # keep member 1 too (or drop it again)
    bulk_keep(plan, "size")                 # every group keeps its largest file
    order = sort_members(group, "size", reverse=True)
    tally(plan, allow_large=False)          # what applying would do, for the live summary

Pure functions over the plan: no Textual here, so they are tested directly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dataset_forge.dedup.groups import choose_keep
from dataset_forge.dedup.plan import Plan, PlanError, PlanGroup, read_plan, write_plan
from dataset_forge.reports.report import Report

PLAN_KEY = "groups_json"          # where a dedup report lists its plan
REVIEWED_FILE = "dedup_plan.json"

# Bulk selectors: what the reviewer asks for -> the engine's keep policy.
BULK = {"largest": "size", "resolution": "resolution", "newest": "newest"}
SORT_COLUMNS = ("file", "resolution", "size", "format", "modified", "distance")


def plan_path(report: Report) -> Path | None:
    path = report.files.get(PLAN_KEY)
    return Path(path) if path and Path(path).is_file() else None


def load_plan(report: Report) -> Plan | None:
    """The report's plan, or None when it has none (or it does not read)."""
    path = plan_path(report)
    if path is None:
        return None
    try:
        return read_plan(path)
    except PlanError:
        return None


def has_groups(report: Report) -> bool:
    plan = load_plan(report)
    return plan is not None and bool(plan.groups)


def write_reviewed(plan: Plan, folder: Path) -> Path:
    """The reviewed plan, beside the report."""
    plan.meta["reviewed"] = True
    return write_plan(folder / REVIEWED_FILE, plan)


# -- the reviewer's choices ---------------------------------------------------------------------
def set_keep(group: PlanGroup, index: int) -> None:
    """Keep member `index` as the group's keeper; the reviewer's other keeps stay."""
    if not 0 <= index < len(group.members):
        raise IndexError(index)
    group.keep = index
    group.members[index].reviewed_keep = False


def toggle(group: PlanGroup, k: int) -> str | None:
    """Keep a dropped member, or drop a kept one. Returns why not (one line) when refused: a
    protected or linked-to file is never dropped, and a group always keeps one file."""
    m = group.members[k]
    if m.protected:
        return f"{m.path} is in a reference folder: it is always kept"
    if m.linked_from:
        return f"{m.path} is the target of a link ({m.linked_from}): it is always kept"
    if k != group.keep:
        m.reviewed_keep = not m.reviewed_keep
        return None
    others = [j for j in group.kept if j != k]
    if not others:
        return f"{m.path} is the only file this group keeps: keep another one first (space)"
    # the keeper's role passes to the best other kept file; protected ones first
    group.keep = min(others, key=lambda j: (not group.members[j].protected,
                                            not group.members[j].reviewed_keep, j))
    group.members[group.keep].reviewed_keep = False
    return None


def _under(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def bulk_keep(plan: Plan, policy: str, folder: Path | None = None) -> tuple[int, int]:
    """Every group keeps one file by `policy` (largest, resolution, newest, or folder: the best
    by resolution among the members under `folder`), dropping the reviewer's other keeps.
    Returns (groups whose kept files changed, groups left as they were: no member in
    `folder`)."""
    changed = unmatched = 0
    for g in plan.groups:
        before = g.kept
        if policy == "folder":
            if folder is None:
                raise ValueError("the folder policy needs a folder")
            inside = [k for k, m in enumerate(g.members) if _under(m.file, folder)]
            if not inside:
                unmatched += 1
                continue
            pick = inside[choose_keep([g.members[k] for k in inside], "resolution")[0]]
        elif policy in BULK:
            pick = choose_keep(g.members, BULK[policy])[0]
        else:
            raise ValueError(f"unknown selector {policy!r}; one of {', '.join(BULK)}, folder")
        for m in g.members:
            m.reviewed_keep = False
        set_keep(g, pick)
        changed += g.kept != before
    return changed, unmatched


def folders(plan: Plan) -> list[Path]:
    """The folders holding members, most members first (choices for the folder selector)."""
    count: dict[Path, int] = {}
    for g in plan.groups:
        for m in g.members:
            parent = Path(m.file).parent
            count[parent] = count.get(parent, 0) + 1
    return sorted(count, key=lambda p: (-count[p], str(p)))


# -- what each row shows ------------------------------------------------------------------------
def distance_to_keeper(group: PlanGroup, k: int) -> float | None:
    """The search score between member `k` and the current keeper: from the group's confirmed
    pairs, or the member's own record while the keeper is the group's centre (member 0)."""
    if k == group.keep:
        return None
    for a, b, score, _ in group.pairs:
        if {a, b} == {k, group.keep}:
            return score
    if group.keep == 0:
        return group.members[k].distance
    return None


def status(group: PlanGroup, k: int) -> str:
    """KEEP (the keeper), keep (kept by the reviewer), ref (protected), link, or drop."""
    m = group.members[k]
    if k == group.keep:
        return "KEEP"
    if m.protected:
        return "ref"
    if m.linked_from:
        return "link"
    return "keep" if m.reviewed_keep else "drop"


@lru_cache(maxsize=4096)
def _format(path: str, mtime_ns: int) -> str:
    try:
        with Image.open(path) as im:
            return im.format or "?"
    except (OSError, UnidentifiedImageError, ValueError):
        return Path(path).suffix.lstrip(".").upper() or "?"


def image_format(path: str, mtime_ns: int = 0) -> str:
    """The format the file's header says (PNG, JPEG, ...), not its extension."""
    return _format(path, mtime_ns)


def sort_members(group: PlanGroup, column: str, reverse: bool = False) -> list[int]:
    """Member indices in display order: by `column` (SORT_COLUMNS), ties by path. The keeper
    is not pinned: the KEEP mark shows it wherever it sorts."""
    def key(k: int):
        m = group.members[k]
        d = distance_to_keeper(group, k)
        value = {"file": m.path.lower(), "resolution": m.pixels, "size": m.bytes,
                 "format": image_format(m.file, m.mtime_ns), "modified": m.mtime_ns,
                 "distance": -1.0 if d is None else d}[column]
        return value
    if column not in SORT_COLUMNS:
        raise ValueError(f"unknown column {column!r}")
    by_path = sorted(range(len(group.members)), key=lambda k: group.members[k].path)
    return sorted(by_path, key=key, reverse=reverse)


# -- what applying would do ---------------------------------------------------------------------
@dataclass(frozen=True)
class Tally:
    groups: int
    files: int
    kept: int
    dropped: int
    dropped_bytes: int
    withheld: int        # large groups left alone (files they would drop are not counted)

    def line(self) -> str:
        held = f", {self.withheld} large group(s) left alone" if self.withheld else ""
        return (f"{self.groups:,} groups, {self.files:,} files: keep {self.kept:,}, "
                f"drop {self.dropped:,} ({human_bytes(self.dropped_bytes)}){held}")


def tally(plan: Plan, *, allow_large: bool = False) -> Tally:
    files = kept = dropped = size = withheld = 0
    for g in plan.groups:
        files += len(g.members)
        if g.large and not allow_large:
            withheld += 1
            kept += len(g.members)
            continue
        kept += len(g.kept)
        for k in g.dropped:
            dropped += 1
            size += g.members[k].bytes
    return Tally(len(plan.groups), files, kept, dropped, size, withheld)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def default_dest(plan: Plan) -> Path:
    """Where moved duplicates go unless the reviewer says otherwise: beside the input, never
    inside it."""
    root = Path(plan.meta.get("input") or os.getcwd())
    return root.parent / f"{root.name}-duplicates"
