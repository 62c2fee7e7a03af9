"""`rename`: sequential, pattern or content-hash names; HQ/LQ partners renamed in lockstep.

The engine is `dataset_forge.curation.naming` (patterns, two-phase renames) and the family's
plan / check / apply flow (`curation.flow`), which refuses colliding names before anything moves.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..analysis.header import read_header
from ..context import RunContext
from ..curation.dataset import Dataset
from ..curation.flow import carry_out, write_plan_page
from ..curation.naming import PLACEHOLDERS, pattern_fields, render, two_phase
from ..errors import UsageError
from ..io import check_output
from ..io.undo import sha256_of
from ..parallel import Failure, WorkKind
from ..reports.report import Report, Table
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ
from .registry import Family, Param, action

PARAMS = [
    Param("input", "dir", help="folder of images to rename (or give --hq and --lq)"),
    HQ, LQ,
    Param("pattern", "str", "{index:06d}", "new name without extension; placeholders: "
          + ", ".join(f"{{{k}}} ({v})" for k, v in PLACEHOLDERS.items())
          + "; format specs work: {index:06d}"),
    Param("start", "int", 1, "first {index}", min=0),
    Param("output", "path", help="copy the renamed files into this new folder instead of "
          "renaming in place"),
    APPLY, INCLUDE_HIDDEN,
]


def _facts(path: Path, fields: frozenset) -> dict[str, Any]:
    """What the pattern needs from the file itself (worker function)."""
    out: dict[str, Any] = {}
    if fields & {"hash8", "hash16"}:
        digest = sha256_of(path)
        out.update(hash8=digest[:8], hash16=digest[:16])
    if fields & {"width", "height"}:
        facts = read_header(path)
        out.update(width=facts["width"], height=facts["height"])
    return out


@action("rename", Family.CURATION, "Rename files by a pattern ({index:06d}, {stem}, {hash8}, "
        "{width}x{height}); HQ/LQ partners in lockstep, collisions refused",
        params=PARAMS, kind=WorkKind.IO, destructive=True,
        examples=("dataset-forge --action rename --input photos/ --pattern '{index:06d}'",
                  "dataset-forge --action rename --hq hq/ --lq lq/ --pattern "
                  "'{hash16}' --apply",
                  "dataset-forge --action rename --input photos/ --pattern "
                  "'{folder}_{index:04d}_{width}x{height}' --output renamed/ --apply"))
def rename(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Give every file (every HQ/LQ pair: both files get the HQ file's new name, each keeping
    its extension) a name from --pattern, in its own folder. Files are numbered in sorted
    order. In place by default (moves, undoable), or copied into --output. Two files given one
    name, or a name taken by a file that stays, refuse the whole plan before anything moves;
    names that swap or shift (a->b while b->c) go through temporary names."""
    try:
        fields = frozenset(pattern_fields(params["pattern"]))
    except ValueError as exc:
        raise UsageError(f"--pattern {exc}") from None
    data = Dataset.from_params(params)
    output = params["output"]
    if output is not None:
        check_output(output, data.roots)
    report = Report("rename", params)
    units = [(p, partner) for p, partner, _ in data.items
             if not data.pair_mode or partner is not None]
    left_out = [p for p, partner, _ in data.items if data.pair_mode and partner is None]
    measure = functools.partial(_facts, fields=fields)
    facts = ctx.map(measure, [p for p, _ in units], label="names",
                    kind=WorkKind.IO) if fields - {"index", "stem", "folder"} else None
    moves: list[tuple[Path, Path, str]] = []
    unchanged = 0
    for n, (path, partner) in enumerate(units):
        values = {"index": params["start"] + n, "stem": path.stem, "folder": path.parent.name}
        if facts is not None:
            outcome = next(facts)
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            values.update(outcome.value)
        try:
            stem = render(params["pattern"], values)
        except ValueError as exc:
            report.add_failure(Failure(str(path), "bad name", str(exc)))
            continue
        unit = data.relative(path)[1]
        for file in (path, partner):
            if file is None:
                continue
            root_n, rel = data.relative(file)
            new_rel = Path(rel).with_name(stem + file.suffix)
            if output is None:
                dst = data.roots[root_n] / new_rel
            else:
                dst = output / (("hq", "lq")[root_n] if data.pair_mode else "") / new_rel
            if dst != file:
                moves.append((file, dst, unit))
            else:
                unchanged += 1
    op = "move" if output is None else "copy"

    def build(plan) -> None:
        for src, dst, unit in (two_phase(moves) if op == "move" else moves):
            plan.add(op, src, dst, unit=unit, info={"new_name": dst.name})

    state = output if output is not None else data.roots[0]
    outcome = carry_out(ctx, report, params, build=build, state_dir=state,
                        info_columns=["new_name"])
    report.summary.update({"files": len(units), "renamed": len(moves),
                           "already_named": unchanged,
                           "left_out_unpaired": len(left_out) if data.pair_mode else None})
    if left_out:
        report.findings.append({"note": f"{len(left_out)} file(s) without a partner were not "
                                        "renamed"})
        report.tables.append(Table(f"Not renamed: no partner ({len(left_out)})", ["file"],
                                   [[str(p)] for p in left_out[:40]]))
    write_plan_page(ctx, report, "Rename", outcome, [(src, dst) for src, dst, _ in moves])
    return report
