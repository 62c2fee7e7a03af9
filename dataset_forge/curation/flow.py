"""The Curation family's contract in one place: plan, check, list, then apply or stop.

    outcome = carry_out(ctx, report, params, build=lambda plan: ..., state_dir=dest,
                        info_columns=["rule"])

1. Plan: `build(plan)` adds every operation (streamed into SQLite, see `curation.plan`). An
   applied run first looks for an unfinished plan of the same command under `state_dir` and
   resumes it instead (`curation.apply.resume_or_plan`).
2. Check: collisions, files planned twice, destinations that exist. Any problem refuses the
   whole plan before anything moves; each problem is a failure line.
3. List: `<action>_plan.csv` in the report folder, every operation with its unit and reason.
4. Dry run: a next-step line. Applied: `curation.apply.apply_plan` with an undo manifest
   (`<action>_undo.jsonl`) that `dataset-forge undo` replays.
5. Page: `write_plan_page(ctx, report, title, outcome)` writes `<action>_report.html`, the
   analysis actions' page shape: summary, the first files with where they go, the tables.
"""
from __future__ import annotations

import collections
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..analysis.htmlparts import grid, write_page
from ..io.journal import fingerprint
from ..reports import html as hr
from ..parallel import Failure
from ..reports.report import Report, RowWriter, Table
from .apply import apply_plan, dry_run_note, resume_or_plan, state_file
from .plan import Plan

MAX_TABLE_ROWS = 40
MAX_SHOWN = 60          # files pictured on the HTML page
PLAN_COLUMNS = ["seq", "op", "unit", "src", "dst"]


@dataclass
class Outcome:
    planned: int = 0
    refused: bool = False
    resumed: bool = False
    applied: bool = False
    shown: list[tuple[Path, Path | None]] = field(default_factory=list)  # first (src, dst)


def params_fingerprint(params: dict[str, Any]) -> str:
    """What identifies "the same command" for resuming: every parameter but --apply."""
    return fingerprint({k: v for k, v in params.items() if k != "apply"})


def _write_plan_csv(path: Path, plan: Plan, info_columns: list[str],
                    pictured: list[tuple[Path, Path | None]]) -> list[list[Any]]:
    """Stream the plan to CSV; returns the first rows for the terminal table and fills
    `pictured` with the first (src, dst) for the page."""
    shown: list[list[Any]] = []
    with RowWriter(path, [*PLAN_COLUMNS, *info_columns]) as rows:
        for op in plan.all():
            rows.write({"seq": op.seq, "op": op.op, "unit": op.unit, "src": str(op.src),
                        "dst": "" if op.dst is None else str(op.dst), **op.info})
            if len(pictured) < MAX_SHOWN:
                pictured.append((Path(op.src), None if op.dst is None else Path(op.dst)))
            if len(shown) < MAX_TABLE_ROWS:
                shown.append([op.op, str(op.src), str(op.dst or "system trash"),
                              *[op.info.get(c, "") for c in info_columns]])
    return shown


def carry_out(ctx: Any, report: Report, params: dict[str, Any], *,
              build: Callable[[Plan], None], state_dir: Path,
              info_columns: list[str] = (), manifest_params: dict[str, Any] | None = None
              ) -> Outcome:
    """Plan, check, list, then apply (with --apply) or describe; fills `report`."""
    action = report.action
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    fp = params_fingerprint(params)
    info_columns = list(info_columns)
    if params.get("apply"):
        plan, resumed = resume_or_plan(state_file(state_dir, action), action, fp, build)
    else:
        plan, resumed = Plan.create(ctx.report_dir / f".{action}-plan.sqlite", action, fp), False
        build(plan)
        plan.finish_building()
    outcome = Outcome(planned=len(plan), resumed=resumed)
    try:
        report.summary.update({"planned_operations": len(plan), "units": plan.units(),
                               "dry_run": not params.get("apply")})
        if resumed:
            report.summary["resumed_from"] = plan.done_count()
            report.findings.append({"note": f"resumed an interrupted run: {plan.done_count()} "
                                            f"of {len(plan)} operation(s) were already done"})
        count, problems = (0, []) if resumed else plan.problems()
        if count:
            outcome.refused = True
            report.summary["refused"] = count
            report.findings.append({"note": f"{count} problem(s) in the plan; nothing was "
                                            "changed"})
            for p in problems:
                report.add_failure(Failure(p.path, p.kind, p.detail))
            report.tables.append(Table(f"Problems (first {min(len(problems), MAX_TABLE_ROWS)} "
                                       f"of {count}): nothing was changed",
                                       ["problem", "path", "detail"],
                                       [[p.kind, p.path, p.detail]
                                        for p in problems[:MAX_TABLE_ROWS]]))
        csv_path = ctx.report_dir / f"{action}_plan.csv"
        shown = _write_plan_csv(csv_path, plan, info_columns, outcome.shown)
        report.files["plan_csv"] = str(csv_path)
        if shown:
            verb = "planned (dry run)" if not params.get("apply") else "planned"
            report.tables.append(Table(f"Operations {verb} (first {len(shown)} of {len(plan)})",
                                       ["operation", "file", "to", *info_columns], shown))
        if outcome.refused or not len(plan):
            _drop(plan, params)
            return outcome
        if not params.get("apply"):
            ops = collections.Counter(op.op for op in plan.all())
            first = next(iter(ops))
            note = dry_run_note(len(plan), first, None)
            report.summary["next_step"] = note
            report.findings.append({"note": note})
            _drop(plan, params)
            return outcome
        result = apply_plan(ctx, plan, ctx.report_dir / f"{action}_undo.jsonl", action,
                            manifest_params or params)
        outcome.applied = True
        report.failures.extend(result.failures)
        report.summary["done"] = result.counts["done"]
        report.summary["applied"] = dict(result.counts)
        report.files["undo_manifest"] = str(result.manifest)
        if result.complete:
            plan.remove()
            with contextlib.suppress(OSError):   # the state folder, when nothing else is in it
                plan.path.parent.rmdir()
        else:
            report.findings.append({"note": "not finished: rerun the same command to resume"})
            plan.close()
        return outcome
    except BaseException:
        _drop(plan, params)
        raise


def write_plan_page(ctx: Any, report: Report, title: str, outcome: Outcome,
                    moves: Sequence[tuple[Path, Path | None]] | None = None) -> Path:
    """`<action>_report.html`: the summary, the first files planned pictured with where they
    go (where they are now after an applied run), then the report's tables. `moves` replaces
    the plan's first operations where those are steps of a longer move (renames through a
    temporary name)."""
    items, total = [], outcome.planned if moves is None else len(moves)
    for src, dst in (outcome.shown if moves is None else moves[:MAX_SHOWN]):
        now = dst if outcome.applied and dst is not None and dst.exists() else src
        items.append({"path": now, "caption": f"{src} \u2192 {dst or 'system trash'}"})
    went = "where they went" if outcome.applied else "where they go (dry run)"
    sections = [hr.section(f"Files and {went}", grid(ctx, items),
                           note=f"first {len(items)} of {total}; the plan CSV lists "
                                "every file")] if items else []
    return write_page(ctx, report, title, sections)


def _drop(plan: Plan, params: dict[str, Any]) -> None:
    """A dry run's plan (or a refused one) is not kept; an applied plan stays to resume."""
    try:
        if not params.get("apply") or plan.meta("state") != "applying":
            plan.remove()
        else:
            plan.close()
    except Exception:  # noqa: BLE001 - already closed
        pass
