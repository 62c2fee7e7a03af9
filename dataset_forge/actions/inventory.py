"""`inventory`: every image under a folder, from headers only.

Format (and the format the content really has), mode, bits per channel, size, bytes, frames,
alpha present, ICC profile and EXIF orientation come from the header, so the walk runs at
file-system speed. Whether alpha is actually used needs pixels: `--deep` decodes every image
once (in full, so a single transparent pixel counts) and fills `alpha_used`.
"""
from __future__ import annotations

import collections
import functools
from pathlib import Path
from typing import Any

from ..analysis import header
from ..io.discover import discover
from ..analysis.htmlparts import dataset_histograms, grid, relative, write_page
from ..context import RunContext
from ..reports.html import section
from ..parallel import WorkKind
from ..reports.report import Report, RowWriter, Table
from .common import INCLUDE_HIDDEN, INPUT, MAX_PIXELS
from .registry import Family, Param, action

MAX_TABLE_ROWS = 40
PREVIEW_COLUMNS = ["path", "format", "mode", "bits", "width", "height", "bytes", "frames"]
DEEP = Param("deep", "bool", False, "decode every image in full (slower): also confirms the "
             "data is complete and fills alpha_used")


def _counts(counter: collections.Counter, name: str) -> Table:
    title = {"bits": "Bit depths"}.get(name, name.capitalize() + "s")
    return Table(title, [name, "images"], [list(kv) for kv in counter.most_common()])


@action("inventory", Family.ANALYSIS, "List every image: format, mode, bits, size, alpha, ICC, "
        "EXIF orientation, frames", params=[INPUT, INCLUDE_HIDDEN, DEEP, MAX_PIXELS],
        kind=WorkKind.IO,
        examples=("dataset-forge --action inventory --input photos/",
                  "dataset-forge --action inventory --input photos/ --deep"))
def inventory(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Walk --input (by name and content), read each image's header and report what is there:
    a CSV row per image, an HTML page with histograms, totals by format, mode and bit depth,
    files whose extension lies about their content, and a line for each unreadable file."""
    root: Path = params["input"]
    found = discover(root, params["include_hidden"])
    report = Report("inventory", params)
    counters = {k: collections.Counter() for k in ("format", "mode", "bits")}
    totals = collections.Counter()
    widths, heights, sizes, preview, mismatched = [], [], [], [], []
    read = functools.partial(header.read_header, deep=params["deep"],
                             max_pixels=params["max_pixels"])
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    with RowWriter(ctx.report_dir / "inventory.csv", header.COLUMNS) as rows:
        for outcome in ctx.map(read, found.images, label="inventory",
                               kind=WorkKind.CPU if params["deep"] else WorkKind.IO):
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            info = {"path": relative(outcome.item, root), **outcome.value}
            rows.write(info)
            for key, counter in counters.items():
                counter[info[key]] += 1
            totals.update(bytes=info["bytes"], animated=info["frames"] > 1,
                          has_alpha=info["has_alpha"], alpha_used=bool(info["alpha_used"]),
                          icc_profile=info["icc_profile"],
                          rotated=(info["exif_orientation"] or 1) != 1)
            widths.append(info["width"]), heights.append(info["height"]), sizes.append(info["bytes"])
            if not info["extension_ok"]:
                mismatched.append(info)
            if len(preview) < MAX_TABLE_ROWS:
                preview.append([info[c] for c in PREVIEW_COLUMNS])
    report.files["rows_csv"] = str(rows.path)
    report.summary = {
        "images": rows.count, "unreadable": len(report.failures), "bytes": totals["bytes"],
        "other_files": found.other_files, "extension_mismatches": len(mismatched),
        "animated": totals["animated"], "with_alpha": totals["has_alpha"],
        **({"alpha_used": totals["alpha_used"]} if params["deep"] else {}),
        "with_icc_profile": totals["icc_profile"], "exif_rotated": totals["rotated"],
        "formats": dict(counters["format"].most_common()),
        "modes": dict(counters["mode"].most_common()),
    }
    report.findings = [{"kind": "extension_mismatch", "path": m["path"],
                        "content_format": m["content_format"]} for m in mismatched]
    report.tables = [_counts(counters["format"], "format"), _counts(counters["mode"], "mode"),
                     _counts(counters["bits"], "bits")]
    if mismatched:
        report.tables.append(Table("Extension does not match content", ["path", "content"],
                                   [[m["path"], m["content_format"]] for m in mismatched]))
    report.tables.append(Table(f"Images (first {min(MAX_TABLE_ROWS, rows.count)} of "
                               f"{rows.count})", PREVIEW_COLUMNS, preview))
    sections = [section("Distributions", dataset_histograms(widths, heights, sizes))]
    if mismatched:
        sections.append(section("Extension does not match content", grid(ctx, [
            {"path": root / m["path"], "caption": f"{m['path']}: really {m['content_format']}",
             "highlight": True} for m in mismatched])))
    write_page(ctx, report, f"Inventory of {root}", sections)
    return report
