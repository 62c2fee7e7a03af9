"""Self-contained HTML reports: histograms, thumbnail grids and tables in one file.

    sections = [section("Sizes", histogram_svg(widths, title="width", unit="px")),
                section("Flagged", image_grid([{"path": p, "caption": "dark 0.93",
                                                 "highlight": True}]))]
    write_html(report_dir / "report.html", "Quality report", sections)

No external assets and no matplotlib: thumbnails are embedded as data: URIs and charts are inline
SVG, so the page can be mailed or archived as one file. Every piece of text is escaped.
"""
from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image

from ..analysis.loading import small_rgb
from ..io import atomic_write

MAX_GRID_ITEMS = 400  # a grid larger than this is cut, with a note; the CSV has every row

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
background:#fafafa;max-width:1400px}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.cell{width:176px;background:#fff;border:2px solid #e4e4e4;border-radius:6px;padding:6px;
font-size:.75em;word-break:break-all}
.cell.hl{border-color:#d9534f}
.cell img{max-width:160px;max-height:160px;display:block;margin:0 auto 4px}
.cell:has(.pics){width:auto}.pics{display:flex;gap:6px;align-items:flex-start}
.pics figure{margin:0}.pics img.crop{image-rendering:pixelated;max-width:none;max-height:none}
.pics figcaption{color:#666;font-size:.9em}
.noimg{width:160px;height:90px;background:#eee;color:#888;display:flex;align-items:center;
justify-content:center}
.hists{display:flex;flex-wrap:wrap;gap:14px}
.note{color:#666;font-size:.85em}
.pass{color:#2e7d32;font-weight:bold}.warn{color:#b26a00;font-weight:bold}
.fail{color:#c62828;font-weight:bold}
"""


def esc(value: Any) -> str:
    """Text made safe for HTML bodies and attribute values."""
    return html.escape(str(value), quote=True)


def image_uri(im: Image.Image, lossless: bool = False) -> str:
    """A data: URI of an in-memory RGB image: JPEG, or PNG when `lossless` or tiny."""
    buf = io.BytesIO()
    if lossless or im.width * im.height <= 32 * 32:
        im.save(buf, "PNG")
        mime = "image/png"
    else:
        im.save(buf, "JPEG", quality=80)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def thumbnail_uri(path: str | Path, max_side: int = 160) -> str:
    """A data: URI with a small JPEG (or PNG for tiny images) of `path`; "" if unreadable."""
    try:
        im = small_rgb(path, max_side=max_side)
    except Exception:  # any unreadable file simply has no thumbnail
        return ""
    return image_uri(im)


def _nice(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e6 or abs(value) < 1e-3:
        return f"{value:.3g}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def histogram_svg(values: Iterable[float], bins: int = 30, title: str = "", unit: str = "",
                  width: int = 420, height: int = 200,
                  marks: Sequence[tuple[float, str]] = ()) -> str:
    """An inline SVG bar chart of the distribution of `values` (non-finite values ignored).
    `marks` are (value, label) pairs drawn as dashed vertical lines, e.g. thresholds; the
    axis widens to show them."""
    data = np.asarray([v for v in values if v is not None], dtype=np.float64)
    data = data[np.isfinite(data)]
    label = esc(f"{title} ({unit})" if unit and title else title or unit)
    if data.size == 0:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40">'
                f'<text x="4" y="24" font-size="12">{label}: no data</text></svg>')
    marks = [(float(v), text) for v, text in marks if v is not None and math.isfinite(v)]
    lo = min([float(data.min())] + [v for v, _ in marks])
    hi = max([float(data.max())] + [v for v, _ in marks])
    counts, edges = np.histogram(data, bins=max(1, min(bins, len(np.unique(data)) or 1)),
                                 range=(lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))
    left, top, bottom = 40, 22, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max(int(counts.max()), 1)
    bar_w = plot_w / len(counts)
    bars = []
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x, y = left + i * bar_w, top + plot_h - h
        tip = esc(f"{_nice(edges[i])} – {_nice(edges[i + 1])}: {int(count)}")
        bars.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                    f'height="{h:.1f}" fill="#4a7fb5"><title>{tip}</title></rect>')
    axis_y = top + plot_h
    span = edges[-1] - edges[0]
    lines = []
    for value, text in marks:
        x = left + plot_w * ((value - edges[0]) / span if span else 0.5)
        lines.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#c62828" '
                     f'stroke-width="1.5" stroke-dasharray="4 3" class="mark"><title>'
                     f'{esc(text)}: {esc(_nice(value))}</title></line>'
                     f'<text x="{x + 3:.1f}" y="{top + 10}" font-size="10" fill="#c62828">'
                     f'{esc(text)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{label}">'
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{label}'
        f' <tspan font-weight="normal" fill="#666">n={data.size:,}</tspan></text>'
        + "".join(bars) + "".join(lines) +
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>'
        f'<text x="{left}" y="{axis_y + 14}" font-size="10">{esc(_nice(lo))}</text>'
        f'<text x="{left + plot_w}" y="{axis_y + 14}" font-size="10" text-anchor="end">'
        f'{esc(_nice(hi))}</text>'
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>'
        f'<text x="{left - 4}" y="{axis_y}" font-size="10" text-anchor="end">0</text>'
        '</svg>')


def histograms(charts: Sequence[str]) -> str:
    """Several histogram SVGs side by side."""
    return '<div class="hists">' + "".join(charts) + "</div>"


def image_grid(items: Sequence[dict[str, Any]], max_side: int = 160,
               limit: int = MAX_GRID_ITEMS) -> str:
    """Thumbnails with captions; items are dicts with `path`, `caption`, optional `highlight`,
    optional `uri` (a thumbnail already made, e.g. in parallel with `thumbnail_uri`) and
    optional `crop_uri` (a full-resolution crop shown 1:1 beside the thumbnail)."""
    cells = []
    for item in list(items)[:limit]:
        uri = item["uri"] if "uri" in item else thumbnail_uri(item["path"], max_side=max_side)
        name = esc(Path(item["path"]).name)
        picture = (f'<img src="{esc(uri)}" alt="{name}" loading="lazy">'
                   if uri else '<div class="noimg">unreadable</div>')
        if item.get("crop_uri"):
            picture = (f'<div class="pics">{picture}<figure><img class="crop" '
                       f'src="{esc(item["crop_uri"])}" alt="{name}, full-resolution crop">'
                       '<figcaption>full resolution, 1:1</figcaption></figure></div>')
        cls = "cell hl" if item.get("highlight") else "cell"
        cells.append(f'<div class="{cls}">{picture}{esc(item.get("caption", ""))}</div>')
    more = len(items) - limit
    note = f'<p class="note">{more:,} more not shown; see the CSV.</p>' if more > 0 else ""
    return '<div class="grid">' + "".join(cells) + "</div>" + note


class Markup(str):
    """Text that is already HTML (a link built by the caller): tables do not escape it."""


def link(href: str, text: str) -> Markup:
    return Markup(f'<a href="{esc(href)}">{esc(text)}</a>')


def table_html(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain HTML table; cells are escaped unless they are `Markup`."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, Markup) else esc(c)}</td>"
                                    for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section(title: str, body_html: str, note: str = "") -> str:
    """A titled block; `body_html` is trusted markup built by this module's helpers."""
    extra = f'<p class="note">{esc(note)}</p>' if note else ""
    return f"<section><h2>{esc(title)}</h2>{extra}{body_html}</section>"


def html_page(title: str, sections: Sequence[str]) -> str:
    """A complete, self-contained HTML document with a small embedded stylesheet."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1>" + "\n".join(sections) + "</body></html>")


def write_html(path: str | Path, title: str, sections: Sequence[str]) -> Path:
    """Write the page atomically and return its path."""
    path = Path(path)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(html_page(title, sections))
    return path
