"""`integrity`: find truncated, corrupt, empty, non-image and decompression-bomb files.

Header tier by default (fast: header, bomb limit, end-of-data marker, confirmed by a small
decode when the marker is missing); `--deep` decodes every frame in full.
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from ..analysis import integrity as checks
from ..io.discover import discover
from ..analysis.htmlparts import grid, relative, write_page
from ..context import RunContext
from ..reports.html import section
from ..parallel import Failure, WorkKind
from ..reports.report import Report, RowWriter, Table
from ..analysis.passes import check_rows
from .common import DEEP_INTEGRITY, INCLUDE_HIDDEN, INPUT, MAX_PIXELS
from .registry import Family, action

MAX_TABLE_ROWS = 200


@action("integrity", Family.ANALYSIS, "Find truncated, corrupt, empty, non-image and "
        "decompression-bomb files", params=[INPUT, INCLUDE_HIDDEN, DEEP_INTEGRITY, MAX_PIXELS],
        kind=WorkKind.IO,
        examples=("dataset-forge --action integrity --input photos/",
                  "dataset-forge --action integrity --input photos/ --deep --max-pixels 50000000"))
def integrity(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Check every image under --input. Each bad file is a finding and a failed item (exit code
    1); files whose extension does not match their content are findings too. Writes
    integrity.csv and an HTML page."""
    root: Path = params["input"]
    found = discover(root, params["include_hidden"])
    report = Report("integrity", params)
    statuses: collections.Counter = collections.Counter()
    bad, renamed = [], []
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    with RowWriter(ctx.report_dir / "integrity.csv", checks.COLUMNS) as rows:
        for path, row in check_rows(ctx, found.images, deep=params["deep"],
                                    max_pixels=params["max_pixels"]):
            row = {"path": relative(path, root), **row}
            rows.write(row)
            statuses[row["status"]] += 1
            if row["status"] != "ok":
                bad.append(row)
                report.add_failure(Failure(str(path), row["status"], row["message"]))
            if row.get("extension_ok") is False:
                renamed.append(row)
    report.files["rows_csv"] = str(rows.path)
    report.findings = (
        [{"kind": r["status"], "path": r["path"], "message": r["message"]} for r in bad]
        + [{"kind": "extension_mismatch", "path": r["path"],
            "content_format": r.get("content_format")} for r in renamed])
    report.summary = {"images": rows.count, "ok": statuses["ok"], "bad": len(bad),
                      "extension_mismatches": len(renamed),
                      "tier": "deep" if params["deep"] else "header",
                      "statuses": dict(statuses.most_common())}
    report.tables = [Table("Statuses", ["status", "files"], [list(kv) for kv in
                                                             statuses.most_common()])]
    if bad:
        report.tables.append(Table(f"Bad files ({len(bad)})", ["path", "status", "message"],
                                   [[r["path"], r["status"], r["message"]]
                                    for r in bad[:MAX_TABLE_ROWS]]))
    if renamed:
        report.tables.append(Table("Extension does not match content", ["path", "content"],
                                   [[r["path"], r.get("content_format") or "not an image"]
                                    for r in renamed[:MAX_TABLE_ROWS]]))
    sections = []
    if bad:
        sections.append(section("Bad files", grid(ctx, [
            {"path": root / r["path"], "caption": f"{r['path']}: {r['status']}",
             "highlight": True} for r in bad])))
    write_page(ctx, report, f"Integrity of {root}", sections)
    return report
