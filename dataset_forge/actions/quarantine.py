"""`quarantine`: move, copy or trash the files a rule selects, keeping relative paths.

The engine is `dataset_forge.curation`: the selection rules shared with `validate`
(`curation.rules`), earlier reports (`curation.from_report`), and the plan / check / apply flow
with undo manifests (`curation.flow`).
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from ..reports import html as hr
from ..analysis.htmlparts import grid, write_page
from ..context import RunContext
from ..curation.dataset import Dataset
from ..curation.flow import carry_out
from ..curation.rules import RULES
from ..curation.select import LIMITS, Selection
from ..errors import UsageError
from ..io import check_output
from ..parallel import WorkKind
from ..reports.report import Report, Table
from .common import (ANALYSIS_SIZE, APPLY, HQ, INCLUDE_HIDDEN, LQ, MAX_PIXELS,
                     QUALITY_THRESHOLDS)
from .registry import Family, Param, action

MODES = ("move", "copy", "trash")
MAX_FINDINGS = 10_000   # in the JSON report; the plan CSV lists every file

PARAMS = [
    Param("input", "dir", help="folder of images to select from (or give --hq and --lq)"),
    HQ, LQ,
    Param("rules", "list", [], "named rules, comma-separated: " + ", ".join(RULES)),
    Param("where", "list", [], "criteria FIELD OP VALUE, comma-separated, e.g. "
          "'sharpness<0.4,format=BMP'; fields: width, height, megapixels, aspect, bytes, format, "
          "mode, frames, alpha, alpha_used, quality scores, scale, ssim, shift, and with --scores "
          "the model scores (niqe, ic9600, topiq_nr, ...)"),
    Param("scores", "file", help="score.csv of an earlier score run on the same folder: its "
          "columns become --where fields, e.g. 'niqe>8'"),
    *[Param(flag, "float", None, f"select images whose {fld} is {'below' if op == '<' else 'above'}"
            f" this", min=0) for flag, (fld, op) in LIMITS.items()],
    Param("formats", "list", [], "select images in these formats (content), e.g. BMP,GIF"),
    Param("modes", "list", [], "select images in these colour modes, e.g. P,CMYK,I;16"),
    Param("alpha", "choice", "any", "select by alpha channel: yes (has one), used (has "
          "transparent pixels), no (has none); any = no alpha rule",
          choices=("any", "yes", "no", "used")),
    Param("from_report", "list", [], "earlier reports whose findings select files "
          "(*_report.json of integrity, quality, pairs, validate or dedup), comma-separated"),
    Param("combine", "choice", "any", "several rules: select a file when any (or all) of them "
          "select it", choices=("any", "all")),
    Param("mode", "choice", "move", "move or copy into --dest (relative paths kept), or send to "
          "the system trash", choices=MODES),
    Param("dest", "path", help="quarantine folder (outside the inputs); needed for move and "
          "copy"),
    ANALYSIS_SIZE, *QUALITY_THRESHOLDS, MAX_PIXELS, APPLY, INCLUDE_HIDDEN,
]


def _destination(data: Dataset, path: Path, dest: Path | None) -> Path | None:
    if dest is None:
        return None
    n, rel = data.relative(path)
    return dest / ("hq", "lq")[n] / rel if data.pair_mode else dest / rel


@action("quarantine", Family.CURATION, "Move, copy or trash the files that rules, criteria or "
        "earlier reports select (HQ/LQ partners together)",
        params=PARAMS, kind=WorkKind.CPU, destructive=True,
        examples=("dataset-forge --action quarantine --input photos/ --rules integrity,blurry "
                  "--dest rejects/",
                  "dataset-forge --action quarantine --input photos/ --from-report "
                  "reports/quality_report.json --dest rejects/ --apply",
                  "dataset-forge --action quarantine --hq hq/ --lq lq/ --min-width 512 "
                  "--dest small/ --apply",
                  "dataset-forge --action quarantine --input photos/ --scores "
                  "reports/score.csv --where 'niqe>8' --dest rejects/"))
def quarantine(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Select files by named rules (--rules: the same rules validate applies), criteria
    (--where, --min-width, --formats, ...) and earlier reports (--from-report), then move or copy
    them into --dest keeping relative paths, or send them to the trash. In HQ/LQ mode a pair
    moves together (to --dest/hq and --dest/lq). A dry run until --apply; the applied run writes
    quarantine_undo.jsonl for `dataset-forge undo`, and a rerun after an interruption resumes."""
    data = Dataset.from_params(params)
    selection = Selection.from_params(params)
    dest = params["dest"]
    if params["mode"] != "trash":
        if dest is None:
            raise UsageError(f"--mode {params['mode']} needs --dest DIR")
        check_output(dest, data.roots, "--dest")
    op = "trash" if params["mode"] == "trash" else params["mode"]
    report = Report("quarantine", params)
    by_reason: collections.Counter = collections.Counter()
    shown: list[dict[str, Any]] = []
    selected = [0]

    def build(plan) -> None:
        for path, partner, reasons in selection.run(ctx, data):
            _, unit = data.relative(path)
            text = "; ".join(reasons)
            by_reason.update(reasons)
            plan.add(op, path, _destination(data, path, dest), unit=unit,
                     info={"rules": text})
            if partner is not None:
                plan.add(op, partner, _destination(data, partner, dest), unit=unit,
                         info={"rules": text})
            if len(shown) < 60:
                shown.append({"path": path, "moved_to": _destination(data, path, dest),
                              "caption": f"{unit}: {text}", "highlight": True})
            if len(report.findings) < MAX_FINDINGS:
                report.findings.append({"path": unit, "rules": reasons})
            selected[0] += 1

    state = dest if dest is not None else data.roots[0]
    carry_out(ctx, report, params, build=build, state_dir=state, info_columns=["rules"])
    resumed = "resumed_from" in report.summary   # the plan was made by the interrupted run
    if not any(s.unit == "images" for s in ctx.summaries):   # selected by reports alone
        ctx.tally("selecting", ok=len(data.items), failed=0, unit="images")
    report.summary.update({"images": len(data.items), "selected": None if resumed else selected[0],
                           "mode": params["mode"], "by_rule": dict(by_reason.most_common())})
    if by_reason:
        report.tables.insert(0, Table("Selected by", ["rule", "files"],
                                      [list(kv) for kv in by_reason.most_common()]))
    for item in shown:   # after a move, the picture is where it went
        if not item["path"].exists() and item["moved_to"] is not None:
            item["path"] = item["moved_to"]
    sections = [hr.section("Selected files", grid(ctx, shown),
                           note="first 60; the plan CSV lists every file")] if shown else []
    write_page(ctx, report, "Quarantine", sections)
    return report
