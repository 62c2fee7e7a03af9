"""Deduplication outputs beside the plan (`plan.py`, dedup_groups.json): CSV of group members
with each dropped file's distance to its keeper, CSV of pairs and of related pairs, and an
HTML page with each group's thumbnails side by side.

    write_groups_csv(path, plan, planned)      # planned: {(group id, member): (op, destination)}
    write_html(path, plan, ctx, thumbs=..., ...)
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ..context import THUMBNAIL_PASS
from ..parallel import WorkKind
from ..reports import html as htmlreport
from ..reports.report import RowWriter
from .appearance import fit, hashing_rgb
from .cache import FeatureCache, file_stat
from .plan import Plan, PlanGroup

HTML_GROUPS = 200          # groups shown on the page; the CSV and JSON hold all
HTML_MEMBERS = 24          # members shown per group
THUMB_SIDE = 128
PAIR_COLUMNS = ["group", "a", "b", "score", "verify_score"]
RELATED_COLUMNS = ["a", "b", "score", "verify_score"]
GROUP_COLUMNS = ["group", "path", "kept", "width", "height", "bytes", "mtime",
                 "distance_to_keep", "verify_score", "large_group", "lq_partner",
                 "planned_action", "destination"]

Planned = dict[tuple[int, int], tuple[str, str]]
THUMB_KEY = f"thumb:{THUMB_SIDE}:jpeg80"


def thumbnail_of(rgb: Image.Image) -> bytes:
    """A data: URI (as bytes) of a small JPEG of a decoded picture."""
    buf = io.BytesIO()
    fit(rgb, THUMB_SIDE).save(buf, "JPEG", quality=80)
    return b"data:image/jpeg;base64," + base64.b64encode(buf.getvalue())


def thumbnail(path: Path) -> bytes:
    """`thumbnail_of` the file, decoding it; b"" when it does not read."""
    try:
        return thumbnail_of(hashing_rgb(path, THUMB_SIDE))
    except Exception:  # noqa: BLE001 - an unreadable file simply has no thumbnail
        return b""


def cached_thumbnails(ctx: Any, paths: list[Path], cache: FeatureCache,
                      spool: FeatureCache | None = None) -> tuple[list[str], int]:
    """(thumbnails, files decoded for them): from the feature cache where the file is
    unchanged, else from the run's `spool` (made from the decode the hash used), else made in
    parallel; those not yet in the cache are stored there, so a second run's page costs no
    decoding."""
    stats = [file_stat(p) for p in paths]
    found = cache.lookup(THUMB_KEY, stats)
    missing = [k for k in range(len(paths)) if k not in found]
    made = []
    if spool is not None and spool is not cache and missing:
        spooled = spool.lookup(THUMB_KEY, [stats[k] for k in missing])
        for n, value in spooled.items():
            found[missing[n]] = value
            made.append((stats[missing[n]], value))
        missing = [k for k in missing if k not in found]
    for outcome in ctx.map(thumbnail, [paths[k] for k in missing], kind=WorkKind.CPU,
                           label=THUMBNAIL_PASS) if missing else ():
        value = outcome.value if outcome.ok else b""
        found[missing[outcome.index]] = value
        if value:
            made.append((stats[missing[outcome.index]], value))
    cache.store(THUMB_KEY, made)
    return [bytes(found[k]).decode("ascii") for k in range(len(paths))], len(missing)


def _blank(value: Any) -> Any:
    return "" if value is None else value


def write_groups_csv(path: Path, plan: Plan, planned: Planned) -> Path:
    with RowWriter(path, GROUP_COLUMNS) as rows:
        for g in plan.groups:
            kept = set(g.kept)
            for k, m in enumerate(g.members):
                op, dst = planned.get((g.id, k), ("", ""))
                rows.write({"group": g.id, "path": m.path, "kept": k in kept,
                            "width": m.width, "height": m.height, "bytes": m.bytes,
                            "mtime": m.mtime, "distance_to_keep": _blank(m.distance),
                            "verify_score": _blank(m.verify), "large_group": g.large,
                            "lq_partner": m.lq or "", "planned_action": op,
                            "destination": dst})
    return path


def write_pairs_csv(path: Path, plan: Plan) -> Path:
    """Every confirmed pair inside a group."""
    with RowWriter(path, PAIR_COLUMNS) as rows:
        for g in plan.groups:
            for a, b, s, v in g.pairs:
                rows.write({"group": g.id, "a": g.members[a].path, "b": g.members[b].path,
                            "score": s, "verify_score": _blank(v)})
    return path


def write_related_csv(path: Path, plan: Plan) -> Path:
    """Confirmed pairs between groups: for review, never acted on."""
    with RowWriter(path, RELATED_COLUMNS) as rows:
        for r in plan.related:
            rows.write({"a": r.a, "b": r.b, "score": r.score, "verify_score": _blank(r.verify)})
    return path


def _caption(group: PlanGroup, k: int, metric: str) -> str:
    m = group.members[k]
    if k == group.keep:
        status = "KEEP"
    elif m.protected:
        status = "kept (reference)"
    elif m.linked_from:
        status = f"kept (linked from {m.linked_from})"
    else:
        status = "duplicate"
        if m.distance is not None:
            status += f" · {metric} to keep {m.distance:.3g}"
        if m.verify is not None:
            status += f" · verified {m.verify:.3f}"
    return f"{status} · {m.width}x{m.height} · {m.bytes / 1024:,.1f} KiB · {m.path}"


def write_html(path: Path, plan: Plan, ctx: Any, *, title: str, metric: str,
               thumbs: Callable[[list[Path]], list[str]], bound: int | None = None) -> Path:
    """The page: large groups first and flagged, then one section per group (first
    HTML_GROUPS); `thumbs(paths)` gives the data URIs (`cached_thumbnails`)."""
    shown = sorted(plan.groups, key=lambda g: not g.large)[:HTML_GROUPS]
    cells = [(g, k) for g in shown for k in range(min(len(g.members), HTML_MEMBERS))]
    uris = thumbs([Path(g.members[k].file) for g, k in cells])
    by_group: dict[int, list[dict[str, Any]]] = {}
    for (g, k), uri in zip(cells, uris):
        by_group.setdefault(g.id, []).append({
            "path": g.members[k].path, "uri": uri, "highlight": k in g.dropped,
            "caption": _caption(g, k, metric)})
    sections = []
    large = [g for g in plan.groups if g.large]
    if large:
        sections.append(htmlreport.section(
            f"Suspicious: {len(large)} group(s) larger than {bound} files",
            "<p>Groups this large are rarely all copies of one picture. They are not acted on "
            "unless --allow-large-groups is given; look at them first.</p>"))
    for g in shown:
        flag = "SUSPICIOUS (large) · " if g.large else ""
        note = (f"{len(g.members) - HTML_MEMBERS} more members in the CSV"
                if len(g.members) > HTML_MEMBERS else "")
        sections.append(htmlreport.section(
            f"{flag}Group {g.id}: {len(g.members)} files, keep {g.keeper.path}",
            htmlreport.image_grid(by_group.get(g.id, [])), note=note))
    if len(plan.groups) > HTML_GROUPS:
        sections.append(htmlreport.section(
            "More", f"<p>{len(plan.groups) - HTML_GROUPS:,} more groups in dedup_groups.csv</p>"))
    if plan.related:
        sections.append(htmlreport.section(
            "Related pairs", f"<p>{len(plan.related):,} confirmed pair(s) link files of different "
            "groups; they are listed in dedup_related.csv and never acted on.</p>"))
    if not plan.groups:
        sections.append(htmlreport.section("No duplicates", "<p>No duplicate groups found.</p>"))
    return htmlreport.write_html(path, title, sections)
