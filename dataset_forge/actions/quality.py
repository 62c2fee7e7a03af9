"""`quality`: dark, light, blurry, low-information, grayscale, odd size, odd aspect ratio,
blocky and upscaled images, each a continuous score with a threshold you can change.

Each image is decoded once at full resolution: sharpness, blockiness and the upscale factor
are measured on full-resolution tiles chosen by content, the other scores and the thumbnails
on the same pixels reduced to --analysis-size; odd size and aspect ratio are relative to the
dataset (distance beyond the quartiles in IQRs). Per-image scores go to quality.csv for pandas.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..reports import html as hr
from ..analysis import quality as q
from ..io.discover import discover
from ..analysis.htmlparts import dataset_histograms, grid, write_page
from ..context import RunContext
from ..parallel import WorkKind
from ..parallel.backends import preload_in_workers
from ..reports.report import Report, RowWriter, Table
from ..analysis.passes import flagged_by_check, score_images, thresholds
from .common import INCLUDE_HIDDEN, INPUT, QUALITY_PARAMS
from .registry import Family, action

MAX_TABLE_ROWS = 100

def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def score_histograms(rows: list[dict[str, Any]], params: dict[str, Any]) -> str:
    """One histogram per score, each enabled check's threshold marked on it."""
    charts = []
    for column in q.SCORE_COLUMNS:
        marks = [(params[f"{c.name}_threshold"], c.name) for c in q.CHECKS
                 if c.score == column and c.name in params["checks"]]
        charts.append(hr.histogram_svg([r.get(column) for r in rows], title=column,
                                       marks=marks))
    return hr.histograms(charts)


def gallery_item(root: Path, row: dict[str, Any], score: str) -> dict[str, Any]:
    """A flagged image for the grid: the worker's thumbnail and full-resolution crop when kept,
    else only the path (the grid then makes a thumbnail)."""
    item = {"path": root / row["path"], "highlight": True,
            "caption": f"{row['path']} {score}={_fmt(row[score])}"}
    preview = row.get("_preview")
    if preview:
        item.update(uri=preview["thumb"], crop_uri=preview["crop"])
    return item


@action("quality", Family.ANALYSIS, "Flag dark, light, blurry, low-information, grayscale, "
        "odd-sized, blocky and upscaled images (scores + thresholds)",
        params=[INPUT, INCLUDE_HIDDEN, *QUALITY_PARAMS], kind=WorkKind.CPU,
        examples=("dataset-forge --action quality --input photos/",
                  "dataset-forge --action quality --input photos/ --checks dark,blurry "
                  "--blurry-threshold 0.5"))
def quality(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Score every image under --input and flag those beyond the thresholds. Writes quality.csv
    (every score of every image) and an HTML page with score histograms (thresholds marked)
    and the flagged images, worst first, each with a full-resolution crop where the flag is
    about detail. Unreadable images are failed items."""
    root: Path = params["input"]
    thresholds(params)  # usage errors before any work
    preload_in_workers("dataset_forge.analysis.passes")  # workers fork with numpy, scipy, libvips
    found = discover(root, params["include_hidden"])
    report = Report("quality", params)
    rows, failures = score_images(ctx, found.images, root, params)
    for failure in failures:
        report.add_failure(failure)
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    with RowWriter(ctx.report_dir / "quality.csv", q.COLUMNS) as writer:
        writer.write_many(rows)
    report.files["rows_csv"] = str(writer.path)
    flagged = flagged_by_check(rows)
    report.summary = {"images": len(rows), "unreadable": len(failures),
                      "flagged_images": sum(1 for r in rows if r["flags"]),
                      "analysis_size": params["analysis_size"],
                      "not_measurable": sum(1 for r in rows if r["unmeasured"]),
                      "flags": {n: len(flagged.get(n, [])) for n in params["checks"]}}
    report.findings = [{"kind": name, "path": r["path"],
                        "score": r[q.CHECKS_BY_NAME[name].score]}
                       for name, items in flagged.items() for r in items]
    report.tables = [Table("Checks", ["check", "score", "flag when", "threshold", "flagged"],
                           [[c.name, c.score, c.direction, params[f"{c.name}_threshold"],
                             len(flagged.get(c.name, []))]
                            for c in q.CHECKS if c.name in params["checks"]])]
    for name, items in flagged.items():
        score = q.CHECKS_BY_NAME[name].score
        report.tables.append(Table(f"{name} ({len(items)})", ["path", score],
                                   [[r["path"], r[score]] for r in items[:MAX_TABLE_ROWS]]))
    sections = [hr.section("Distributions", dataset_histograms(
                    [r["width"] for r in rows], [r["height"] for r in rows],
                    [r["bytes"] for r in rows])),
                hr.section("Scores", score_histograms(rows, params),
                           note="dashed red lines: the thresholds of the enabled checks")]
    for name, items in flagged.items():
        score = q.CHECKS_BY_NAME[name].score
        sections.append(hr.section(f"{name}: {len(items)} image(s)", grid(
            ctx, [gallery_item(root, r, score) for r in items]),
            note=q.CHECKS_BY_NAME[name].help))
    write_page(ctx, report, f"Quality of {root}", sections)
    return report
