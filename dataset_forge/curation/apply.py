"""Plan, check, then apply: the one way every Curation action changes files.

    plan, resumed = resume_or_plan(state_file(dest, "quarantine"), "quarantine", fp, build)
    count, problems = plan.problems()          # refuse before anything moves
    result = apply_plan(ctx, plan, report_dir / "quarantine_undo.jsonl", "quarantine", params)

`resume_or_plan` finds the plan an earlier applied run left unfinished (same action, same
fingerprint of the parameters) and resumes it, so a rerun after a kill finishes the same moves
instead of planning new ones from a half-changed tree. Each operation is written to the undo
manifest before it runs (write-ahead, `dataset_forge.undo`); a resumed run appends to the first
run's manifest, so one `dataset-forge undo` restores everything. Operations recognise their own
finished results (a move whose source is gone and whose destination exists, a copy already in
place), so an operation whose done mark was lost to a kill is not done twice.
"""
from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..dedup.fileops import FileOp, perform
from ..parallel import Failure, WorkKind
from ..io.undo import UndoManifest, sha256_of
from .plan import Plan, PlannedOp

STATE_FOLDER = ".forge-journal"
PAST_TENSE = {"move": "moved", "copy": "copied", "hardlink": "hard-linked",
              "symlink": "symlinked", "trash": "sent to the system trash"}


def state_file(folder: Path, action: str) -> Path:
    """Where an applied run keeps its plan: a hidden folder that discovery skips."""
    return Path(folder) / STATE_FOLDER / f"{action}-plan.sqlite"


def resume_or_plan(path: Path, action: str, fingerprint: str,
                   build: Callable[[Plan], None]) -> tuple[Plan, bool]:
    """(plan, resumed): an unfinished applied plan with the same fingerprint, or a new one."""
    old = Plan.open_existing(path)
    if old is not None:
        if old.meta("fingerprint") == fingerprint and old.meta("state") == "applying":
            return old, True
        old.remove()
    plan = Plan.create(path, action, fingerprint)
    build(plan)
    plan.finish_building()
    return plan, False


@dataclass
class Applied:
    counts: collections.Counter = field(default_factory=collections.Counter)
    failures: list[Failure] = field(default_factory=list)
    manifest: Path | None = None
    complete: bool = False


LATER = "later"


def _prepare_ahead(item: tuple[PlannedOp, bool]) -> tuple[str, int] | str | None:
    """`_prepare` in a worker, ahead of the operations; LATER for a file an earlier operation
    of the plan makes (a renamed file's temporary name): that one is read when its turn comes."""
    op, made_by_plan = item
    return LATER if made_by_plan else _prepare(op)


def _prepare(op: PlannedOp) -> tuple[str, int] | None:
    """(SHA-256, bytes) of the source, or None when the operation is already done."""
    if op.op in ("move", "trash") and not os.path.lexists(op.src):
        if op.op == "trash" or (op.dst is not None and os.path.lexists(op.dst)):
            return None
    return sha256_of(op.src), op.src.stat().st_size


def _finish_half_move(op: PlannedOp) -> bool:
    """A move killed between link and unlink leaves two names for one file: drop the source."""
    if op.op == "move" and op.dst is not None and op.dst.exists() and op.src.exists() \
            and os.path.samefile(op.src, op.dst):
        op.src.unlink()
        return True
    return False


def apply_plan(ctx: Any, plan: Plan, manifest_path: Path, action: str,
               params: dict[str, Any]) -> Applied:
    """Perform the plan's pending operations in order, on the parallel core for checksums.
    A failed operation is a failure line and its unit's later operations are skipped."""
    manifest_path = Path(plan.meta("manifest") or manifest_path)
    plan.set_meta(state="applying", manifest=str(manifest_path))
    result = Applied(manifest=manifest_path)
    failed_units: set[str] = set()
    with UndoManifest(manifest_path, action, params) as manifest:
        items = ((op, plan.made_by_plan(op)) for op in plan.pending())
        for outcome in ctx.map(_prepare_ahead, items, kind=WorkKind.IO, label="apply",
                               total=len(plan) - plan.done_count(), unit="file operations"):
            op: PlannedOp = outcome.item[0]
            if ctx.cancelled:
                break
            if op.unit in failed_units:
                result.counts["skipped"] += 1
                result.failures.append(Failure(str(op.src), "skipped",
                                               "its partner could not be processed"))
                continue
            if not outcome.ok:
                failed_units.add(op.unit)
                result.failures.append(outcome.error)
                continue
            try:
                prepared = _prepare(op) if outcome.value == LATER else outcome.value
                if prepared is None or _finish_half_move(op):
                    status = "already done"
                else:
                    status = perform(FileOp(op.op, op.src, op.dst), manifest, *prepared)
            except OSError as exc:
                failed_units.add(op.unit)
                result.failures.append(Failure(str(op.src), type(exc).__name__,
                                               f"{exc.strerror or exc} ({op.op} to {op.dst})"))
                continue
            result.counts[status] += 1
            plan.mark_done(op.seq)
    plan.commit()
    result.complete = not ctx.cancelled and plan.done_count() == len(plan)
    return result


def dry_run_note(count: int, op: str, where: Path | None) -> str:
    """One line telling a dry run's user what --apply would do."""
    place = f" to {where}" if where is not None else ""
    return f"dry run: {count} file(s) would be {PAST_TENSE.get(op, op)}{place}; add --apply to do it"
