"""`pairs`: HQ/LQ pairing, scale per pair and alignment.

Files pair by relative path and stem (extensions may differ). For every pair: the width and
height scales, how they relate to the dataset's dominant integer scale, and (unless
`--no-align`) SSIM/PSNR of HQ downsized onto LQ plus the shift found by phase correlation.
"""
from __future__ import annotations

import collections
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..reports import html as hr
from ..analysis import pairs as pa
from ..analysis.htmlparts import grid, relative, write_page
from ..context import RunContext
from ..parallel import WorkKind
from ..reports.report import Report, RowWriter, Table
from ..analysis.passes import check_pairs
from .common import HQ, INCLUDE_HIDDEN, LQ, PAIR_PARAMS
from .registry import Family, action

MAX_TABLE_ROWS = 100


def _pair_cells(row: dict[str, Any]) -> list[Any]:
    return [row["hq"], row["lq"], f'{row["hq_width"]}x{row["hq_height"]}',
            f'{row["lq_width"]}x{row["lq_height"]}', round(row["scale_w"], 4),
            round(row["scale_h"], 4)]


PAIR_TABLE = ["hq", "lq", "hq size", "lq size", "scale w", "scale h"]


def pair_grid(ctx: RunContext, rows: list[dict[str, Any]], hq_root: Path, lq_root: Path,
              why) -> str:
    """HQ and LQ thumbnails side by side, with the reason in the caption."""
    items = []
    for row in rows:
        items.append({"path": hq_root / row["hq"], "caption": f'HQ {row["hq"]}: {why(row)}',
                      "highlight": True})
        items.append({"path": lq_root / row["lq"], "caption": f'LQ {row["lq"]}'})
    return grid(ctx, items, limit=2 * 30)


@action("pairs", Family.ANALYSIS, "Check HQ/LQ pairs: missing files, scale per pair, dominant "
        "scale, alignment (SSIM/PSNR/shift)",
        params=[replace(HQ, required=True), replace(LQ, required=True), INCLUDE_HIDDEN,
                *PAIR_PARAMS],
        kind=WorkKind.CPU, unit="pairs",
        examples=("dataset-forge --action pairs --hq data/hq --lq data/lq_x4",
                  "dataset-forge --action pairs --hq data/hq --lq data/lq_x4 --no-align"))
def pairs(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Pair --hq with --lq and report missing partners, each pair's width and height scale, the
    dominant integer scale, pairs that are off by a few pixels, non-integer, anisotropic or at
    another scale, and pairs that do not line up. Writes pairs.csv and an HTML page."""
    hq_root, lq_root = params["hq"], params["lq"]
    report = Report("pairs", params)
    check = check_pairs(ctx, hq_root, lq_root, params)
    for failure in check.failures:
        report.add_failure(failure)
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    with RowWriter(ctx.report_dir / "pairs.csv", pa.COLUMNS) as writer:
        writer.write_many(check.rows)
    report.files["rows_csv"] = str(writer.path)
    statuses = collections.Counter(r["scale_status"] for r in check.rows)
    pairing = check.pairing
    report.summary = {
        "pairs": len(pairing.pairs), "measured": len(check.rows),
        "missing_lq": len(pairing.missing_lq), "missing_hq": len(pairing.missing_hq),
        "ambiguous": len(pairing.ambiguous), "dominant_scale": check.scale,
        "scale_problems": len(check.bad_scale),
        "misaligned": len(check.misaligned) if params["align"] else None,
        "scale_statuses": dict(statuses.most_common()),
    }
    report.findings = (
        [{"kind": "missing_lq", "path": relative(p, hq_root)} for p in pairing.missing_lq]
        + [{"kind": "missing_hq", "path": relative(p, lq_root)} for p in pairing.missing_hq]
        + [{"kind": "ambiguous", "key": k} for k in pairing.ambiguous]
        + [{"kind": r["scale_status"], "hq": r["hq"], "lq": r["lq"], "scale_w": r["scale_w"],
            "scale_h": r["scale_h"]} for r in check.bad_scale]
        + [{"kind": "misaligned", "hq": r["hq"], "lq": r["lq"], "ssim": r["ssim"],
            "shift_x": r["shift_x"], "shift_y": r["shift_y"]} for r in check.misaligned])
    report.tables = [Table("Scale", ["status", "pairs"], [list(kv) for kv in
                                                          statuses.most_common()])]
    missing = ([["missing LQ", relative(p, hq_root)] for p in pairing.missing_lq]
               + [["missing HQ", relative(p, lq_root)] for p in pairing.missing_hq]
               + [["ambiguous", k] for k in pairing.ambiguous])
    if missing:
        report.tables.append(Table(f"Unpaired files ({len(missing)})", ["problem", "file"],
                                   missing[:MAX_TABLE_ROWS]))
    if check.bad_scale:
        report.tables.append(Table(
            f"Pairs not at the dominant scale x{check.scale} ({len(check.bad_scale)})",
            [*PAIR_TABLE, "status"],
            [[*_pair_cells(r), r["scale_status"]] for r in check.bad_scale[:MAX_TABLE_ROWS]]))
    if check.misaligned:
        report.tables.append(Table(
            f"Misaligned pairs ({len(check.misaligned)})", ["hq", "lq", "ssim", "psnr", "shift"],
            [[r["hq"], r["lq"], r["ssim"], r["psnr"], f'{r["shift_x"]:+g},{r["shift_y"]:+g}']
             for r in check.misaligned[:MAX_TABLE_ROWS]]))
    sections = [hr.section("Distributions", hr.histograms(
        [hr.histogram_svg([r["scale_w"] for r in check.rows], title="scale (width)"),
         hr.histogram_svg([r["scale_h"] for r in check.rows], title="scale (height)")]
        + ([hr.histogram_svg([r["ssim"] for r in check.rows], title="SSIM"),
            hr.histogram_svg([r["psnr"] for r in check.rows], title="PSNR", unit="dB")]
           if params["align"] else [])))]
    if check.bad_scale:
        sections.append(hr.section("Scale problems", pair_grid(
            ctx, check.bad_scale, hq_root, lq_root,
            lambda r: f'{r["scale_status"]} {r["scale_w"]:.3f}x{r["scale_h"]:.3f}')))
    if check.misaligned:
        sections.append(hr.section("Misaligned pairs", pair_grid(
            ctx, check.misaligned, hq_root, lq_root,
            lambda r: f'SSIM {r["ssim"]:.3f}, shift {r["shift_x"]:+g},{r["shift_y"]:+g} px')))
    write_page(ctx, report, f"HQ/LQ pairs: {hq_root} / {lq_root}", sections)
    return report
