"""Report pieces the analysis actions share: thumbnails in parallel, histograms of a dataset,
and the HTML page with the summary and tables of a `Report`. (Discovery lives in
`dataset_forge.io.discover`.)"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..context import THUMBNAIL_PASS
from ..reports import html as hr
from ..reports.report import Report, Table

THUMB_SIDE = 160
MAX_THUMBS_PER_GRID = 60


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def thumbnails(ctx, paths: Sequence[Path]) -> dict[Path, str]:
    """data: URIs for `paths`, made in parallel; unreadable files map to ""."""
    make = functools.partial(hr.thumbnail_uri, max_side=THUMB_SIDE)
    return {o.item: (o.value if o.ok else "") for o in ctx.map(make, list(paths),
                                                              label=THUMBNAIL_PASS)}


def grid(ctx, items: Sequence[dict[str, Any]], limit: int = MAX_THUMBS_PER_GRID) -> str:
    """An image grid of the first `limit` items; thumbnails not given as `uri` are made in
    parallel."""
    shown = list(items)[:limit]
    uris = thumbnails(ctx, [i["path"] for i in shown if "uri" not in i])
    html = hr.image_grid([{**i, "uri": i["uri"] if "uri" in i else uris.get(i["path"], "")}
                          for i in shown])
    if len(items) > limit:
        html += f'<p class="note">{len(items) - limit:,} more; see the CSV for all.</p>'
    return html


def dataset_histograms(widths: Iterable[int], heights: Iterable[int],
                       sizes: Iterable[int]) -> str:
    """Width, height, megapixels and file-size distributions side by side."""
    widths, heights, sizes = list(widths), list(heights), list(sizes)
    return hr.histograms([
        hr.histogram_svg(widths, title="width", unit="px"),
        hr.histogram_svg(heights, title="height", unit="px"),
        hr.histogram_svg([w * h / 1e6 for w, h in zip(widths, heights)], title="size",
                         unit="megapixels"),
        hr.histogram_svg([b / 1024 for b in sizes], title="file size", unit="KiB"),
    ])


def summary_section(report: Report) -> str:
    rows = [[k, v] for k, v in report.summary.items() if not isinstance(v, (dict, list))]
    return hr.section("Summary", hr.table_html(["", "value"], rows))


def table_section(table: Table) -> str:
    return hr.section(table.title, hr.table_html(table.columns, table.rows))


def write_page(ctx, report: Report, title: str, sections: Sequence[str]) -> Path:
    """`<action>_report.html` with the summary, the given sections, then the report's tables;
    its path goes into `report.files["html"]`."""
    body = [summary_section(report), *sections, *(table_section(t) for t in report.tables)]
    path = hr.write_html(ctx.report_dir / f"{report.action}_report.html", title, body)
    report.files["html"] = str(path)
    return path
