"""`stats.json`: what a trainer can log about the data it reads.

Counts, bytes, dimension / format / mode summaries per side, the HQ/LQ scale factors of pairs,
the outputs, and provenance: the Dataset Forge version, the export's own parameters, and the
reports of the actions that made the data (their pipeline, seed and parameters) where these
reports sit in or beside the input folders.
"""
from __future__ import annotations

import collections
import datetime
import json
from pathlib import Path
from typing import Any

from .. import __version__


class _Range:
    def __init__(self) -> None:
        self.min = self.max = None
        self.total = self.count = 0

    def add(self, value: int) -> None:
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)
        self.total += value
        self.count += 1

    def to_dict(self) -> dict[str, Any]:
        mean = round(self.total / self.count, 2) if self.count else None
        return {"min": self.min, "max": self.max, "mean": mean}


class _Side:
    def __init__(self) -> None:
        self.files = self.bytes = self.stored_bytes = 0
        self.width, self.height = _Range(), _Range()
        self.formats: collections.Counter = collections.Counter()
        self.modes: collections.Counter = collections.Counter()
        self.channels: collections.Counter = collections.Counter()

    def add(self, row: dict[str, Any]) -> None:
        self.files += 1
        self.bytes += row["bytes"]
        self.stored_bytes += row["stored_bytes"]
        self.width.add(row["width"])
        self.height.add(row["height"])
        self.formats[row["format"]] += 1
        self.modes[row["mode"]] += 1
        self.channels[str(row["channels"])] += 1

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "stored_bytes": self.stored_bytes,
                "width": self.width.to_dict(), "height": self.height.to_dict(),
                "formats": dict(self.formats.most_common()),
                "modes": dict(self.modes.most_common()),
                "channels": dict(self.channels.most_common())}


class StatsAccumulator:
    """Streaming statistics over manifest records (one pass, memory independent of size)."""

    def __init__(self) -> None:
        self.sides: dict[str, _Side] = {}
        self.scales: collections.Counter = collections.Counter()
        self._pending: dict[str, dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> None:
        self.sides.setdefault(row["role"], _Side()).add(row)
        if row["role"] in ("hq", "lq"):   # the two sides of a pair are adjacent records
            other = self._pending.pop(row["key"], None)
            if other is None:
                self._pending[row["key"]] = row
            else:
                hq, lq = (row, other) if row["role"] == "hq" else (other, row)
                self.scales[_scale(hq, lq)] += 1

    @property
    def samples(self) -> int:
        return max((s.files for s in self.sides.values()), default=0)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"samples": self.samples,
                               "files": sum(s.files for s in self.sides.values()),
                               "bytes": sum(s.bytes for s in self.sides.values()),
                               "stored_bytes": sum(s.stored_bytes for s in self.sides.values()),
                               "sides": {r: s.to_dict() for r, s in self.sides.items()}}
        if self.scales:
            out["scales"] = dict(self.scales.most_common())
        return out


def _scale(hq: dict[str, Any], lq: dict[str, Any]) -> str:
    sx, sy = hq["width"] / max(lq["width"], 1), hq["height"] / max(lq["height"], 1)
    if sx == sy and sx.is_integer():
        return f"x{int(sx)}"
    return f"{sx:.3g}x{sy:.3g}"


def provenance(folders: list[Path]) -> list[dict[str, Any]]:
    """The action reports (`*_report.json`) found in or beside the given folders: which
    action made the data, with which parameters (pipeline, seed, ...)."""
    found, seen = [], set()
    for folder in folders:
        for candidate in sorted(Path(folder).glob("*_report.json")):
            real = candidate.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                report = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(report, dict) or report.get("action") == "export":
                continue
            run = report.get("run") or {}
            found.append({"report": str(real), "action": report.get("action"),
                          "params": report.get("params", {}),
                          "summary": {k: v for k, v in (report.get("summary") or {}).items()
                                      if not isinstance(v, (dict, list))},
                          "ok": run.get("ok"), "failed": run.get("failed")})
    return found


def stats_document(*, subset: str, kind: str, roots: dict[str, Path], stats: StatsAccumulator,
                   failed: int, outputs: dict[str, Any], params: dict[str, Any],
                   sources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"dataset_forge_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "subset": subset, "kind": kind,
            "roots": {role: str(Path(p).resolve()) for role, p in roots.items()},
            **stats.to_dict(), "failed": failed, "outputs": outputs,
            "export_params": {k: str(v) if isinstance(v, Path) else v for k, v in params.items()},
            "provenance": sources}
