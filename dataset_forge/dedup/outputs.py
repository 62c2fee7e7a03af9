"""Deduplication outputs: groups and pairs with scores as JSON and CSV, and an HTML page with
each group's thumbnails side by side (sizes, scores, which one is kept).

The JSON (`dedup_groups.json`) is the format the app's review screen reads:
`{"groups": [{"files": [...], "keep": "...", "kept": [...], "duplicates": [...], ...}]}`.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..reports import html as htmlreport
from ..io import atomic_write
from ..parallel import WorkKind
from ..reports.report import RowWriter
from .groups import Member

HTML_GROUPS = 200          # groups shown on the page; the CSV and JSON hold all
HTML_MEMBERS = 24          # members shown per group
PAIR_COLUMNS = ["a", "b", "score", "verify_score"]
GROUP_COLUMNS = ["group", "path", "kept", "width", "height", "bytes", "mtime", "best_score",
                 "lq_partner", "planned_action", "destination"]


@dataclass
class GroupRecord:
    id: int
    members: list[Member]
    kept: list[int]                                          # indices into members
    pairs: list[tuple[int, int, float, float | None]] = field(default_factory=list)
    partners: dict[int, str] = field(default_factory=dict)   # member -> its LQ file
    planned: dict[int, tuple[str, str]] = field(default_factory=dict)  # member -> (op, dst)

    def best_scores(self, higher_is_closer: bool) -> dict[int, float]:
        """Each member's closest pair score (members without a pair are absent), in one pass."""
        best: dict[int, float] = {}
        closer = max if higher_is_closer else min
        for a, b, s, _ in self.pairs:
            for k in (a, b):
                best[k] = closer(best[k], s) if k in best else s
        return best

    def to_json(self) -> dict[str, Any]:
        files = [m.path for m in self.members]
        return {
            "id": self.id, "files": files, "keep": files[self.kept[0]],
            "kept": [files[k] for k in self.kept],
            "duplicates": [f for k, f in enumerate(files) if k not in self.kept],
            "members": [{"path": m.path, "bytes": m.bytes, "width": m.width, "height": m.height,
                         "mtime": m.mtime, "protected": m.protected, "kept": k in self.kept,
                         **({"lq": self.partners[k]} if k in self.partners else {})}
                        for k, m in enumerate(self.members)],
            "pairs": [{"a": files[a], "b": files[b], "score": s,
                       **({"verify_score": v} if v is not None else {})}
                      for a, b, s, v in self.pairs],
        }


def write_groups_json(path: Path, groups: list[GroupRecord], meta: dict[str, Any]) -> Path:
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write('{"meta": ' + json.dumps(meta, default=str) + ', "groups": [\n')
        for n, group in enumerate(groups):
            fh.write((",\n" if n else "") + json.dumps(group.to_json(), default=str))
        fh.write("\n]}\n")
    return path


def write_groups_csv(path: Path, groups: list[GroupRecord], higher_is_closer: bool) -> Path:
    with RowWriter(path, GROUP_COLUMNS) as rows:
        for g in groups:
            best = g.best_scores(higher_is_closer)
            for k, m in enumerate(g.members):
                op, dst = g.planned.get(k, ("", ""))
                rows.write({"group": g.id, "path": m.path, "kept": k in g.kept,
                            "width": m.width, "height": m.height, "bytes": m.bytes,
                            "mtime": m.mtime, "best_score": best.get(k),
                            "lq_partner": g.partners.get(k, ""), "planned_action": op,
                            "destination": dst})
    return path


def write_pairs_csv(path: Path, groups: list[GroupRecord]) -> Path:
    with RowWriter(path, PAIR_COLUMNS) as rows:
        for g in groups:
            for a, b, s, v in g.pairs:
                rows.write({"a": g.members[a].path, "b": g.members[b].path, "score": s,
                            "verify_score": "" if v is None else v})
    return path


def _caption(group: GroupRecord, k: int, metric: str, score: float | None) -> str:
    m = group.members[k]
    status = "KEEP" if k in group.kept else "duplicate"
    if m.protected:
        status += " (reference)"
    score_text = f" · {metric} {score:.3g}" if score is not None else ""
    return (f"{status} · {m.width}x{m.height} · {m.bytes / 1024:,.1f} KiB{score_text} · "
            f"{m.path}")


def write_html(path: Path, groups: list[GroupRecord], ctx: Any, *, title: str, metric: str,
               higher_is_closer: bool, resolve: Any) -> Path:
    """The page: one section per group (first HTML_GROUPS), thumbnails made in parallel."""
    shown = groups[:HTML_GROUPS]
    cells = [(g, k) for g in shown for k in range(min(len(g.members), HTML_MEMBERS))]
    thumb = functools.partial(htmlreport.thumbnail_uri, max_side=160)
    uris = [o.value if o.ok else "" for o in
            ctx.map(thumb, [resolve(g.members[k].path) for g, k in cells], kind=WorkKind.CPU,
                    label="thumbnails")]
    best = {g.id: g.best_scores(higher_is_closer) for g in shown}
    by_group: dict[int, list[dict[str, Any]]] = {}
    for (g, k), uri in zip(cells, uris):
        by_group.setdefault(g.id, []).append({
            "path": g.members[k].path, "uri": uri, "highlight": k not in g.kept,
            "caption": _caption(g, k, metric, best[g.id].get(k))})
    sections = [htmlreport.section(
        f"Group {g.id}: {len(g.members)} files, keep {g.members[g.kept[0]].path}",
        htmlreport.image_grid(by_group.get(g.id, [])),
        note=(f"{len(g.members) - HTML_MEMBERS} more members in the CSV"
              if len(g.members) > HTML_MEMBERS else "")) for g in shown]
    if len(groups) > HTML_GROUPS:
        sections.append(htmlreport.section(
            "More", f"<p>{len(groups) - HTML_GROUPS:,} more groups in dedup_groups.csv</p>"))
    if not groups:
        sections.append(htmlreport.section("No duplicates", "<p>No duplicate groups found.</p>"))
    return htmlreport.write_html(path, title, sections)
