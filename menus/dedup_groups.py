"""Duplicate groups for the review screen: the engine's typed plan (`dataset_forge.dedup.plan`),
read from the groups file a dedup run lists in its report, and written back with the reviewed
choices as `dedup_plan.json` (the same record), which `--plan` applies without searching again.
"""
from __future__ import annotations

from pathlib import Path

from dataset_forge.dedup.plan import Plan, PlanError, PlanGroup, read_plan, write_plan
from dataset_forge.reports.report import Report

PLAN_KEY = "groups_json"          # where a dedup report lists its plan
REVIEWED_FILE = "dedup_plan.json"


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


def set_keep(group: PlanGroup, index: int) -> None:
    """Keep member `index` instead (the reviewer's choice)."""
    if not 0 <= index < len(group.members):
        raise IndexError(index)
    group.keep = index


def write_reviewed(plan: Plan, folder: Path) -> Path:
    """The reviewed plan, beside the report."""
    plan.meta["reviewed"] = True
    return write_plan(folder / REVIEWED_FILE, plan)
