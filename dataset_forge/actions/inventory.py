"""`inventory`: every image under a folder with format, mode, pixel size and bytes.

Reads headers only (Pillow's lazy open), so it runs at file-system speed.
"""
from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

from PIL import Image

from ..context import RunContext
from ..errors import UsageError
from ..io import iter_images
from ..parallel import WorkKind
from ..report import Report, RowWriter, Table
from .common import INCLUDE_HIDDEN, INPUT
from .registry import Family, action

COLUMNS = ["path", "format", "mode", "width", "height", "bytes", "frames"]
MAX_TABLE_ROWS = 40


def read_header(path: Path) -> dict[str, Any]:
    """Format, mode, size and frame count from the file's header, without decoding pixels."""
    size = os.stat(path).st_size
    if size == 0:
        raise ValueError("empty file (0 bytes)")
    with Image.open(path) as im:
        return {"format": im.format, "mode": im.mode, "width": im.width, "height": im.height,
                "bytes": size, "frames": getattr(im, "n_frames", 1)}


@action("inventory", Family.ANALYSIS, "List every image with format, mode, size and bytes",
        params=[INPUT, INCLUDE_HIDDEN], kind=WorkKind.IO)
def inventory(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Walk --input, read each image's header, and report what is there: a CSV row per image,
    totals by format and mode, and a line for every file that is not a readable image."""
    root: Path = params["input"]
    paths = list(iter_images(root, include_hidden=params["include_hidden"]))
    if not paths:
        raise UsageError(f"--input {root}: no images found")
    report = Report("inventory", params)
    by_format: collections.Counter = collections.Counter()
    by_mode: collections.Counter = collections.Counter()
    total_bytes = 0
    preview: list[list[Any]] = []
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    with RowWriter(ctx.report_dir / "inventory.csv", COLUMNS) as rows:
        for outcome in ctx.map(read_header, paths, label="inventory"):
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            info = {"path": str(outcome.item.relative_to(root)), **outcome.value}
            rows.write(info)
            by_format[info["format"]] += 1
            by_mode[info["mode"]] += 1
            total_bytes += info["bytes"]
            if len(preview) < MAX_TABLE_ROWS:
                preview.append([info[c] for c in COLUMNS])
    report.files["rows_csv"] = str(rows.path)
    report.summary = {"images": rows.count, "unreadable": len(report.failures),
                      "bytes": total_bytes, "formats": dict(by_format.most_common()),
                      "modes": dict(by_mode.most_common())}
    report.tables = [
        Table("Formats", ["format", "images"], [list(kv) for kv in by_format.most_common()]),
        Table("Modes", ["mode", "images"], [list(kv) for kv in by_mode.most_common()]),
        Table(f"Images (first {min(MAX_TABLE_ROWS, rows.count)} of {rows.count})", COLUMNS, preview),
    ]
    return report
