"""Files an earlier report speaks against: `quarantine --from-report PATH`.

    found = read_report(Path("forge-reports/quality-.../quality_report.json"))
    found.selected      # {absolute path: ["quality dark", ...]}
    found.rules         # validate: the rules of its warned and failed steps, re-evaluated now
    found.scores, found.score_flags   # validate: its scores CSV and --score-flags (scores step)
    found.params        # the report's own parameters (thresholds, folders)

integrity, quality, score and pairs reports list their findings by path (relative to the report's own
--input, --hq or --lq). A dedup report's groups name the duplicates not kept. A validate report
keeps only examples, so its failed and warned steps become the shared selection rules
(`curation.rules`), evaluated now with validate's own thresholds: what validate warned about is
what quarantine moves. Its scores step (`--score-metrics`) is not scored again: the report's
validate_scores.csv holds every score, and its --score-flags select from it, as
`--scores CSV --where FLAG` would.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis import quality as q
from ..errors import UsageError

#: validate step -> the shared rules it applies
VALIDATE_STEPS = {
    "pairing": ["missing_partner"],
    "integrity": ["integrity"],
    "scale": ["scale_mismatch", "misaligned"],
    "dimensions": ["odd_size", "odd_aspect_ratio"],
    "formats and modes": ["extension_mismatch", "unusual_mode", "animated"],
    "quality": [c.name for c in q.CHECKS if c.name not in ("odd_size", "odd_aspect_ratio")],
}
#: findings kinds that are not about a file to move
NOT_FILES = frozenset({"ambiguous", "note"})


@dataclass
class FromReport:
    action: str
    params: dict[str, Any]
    selected: dict[Path, list[str]] = field(default_factory=dict)
    rules: list[str] = field(default_factory=list)
    scores: Path | None = None
    score_flags: list[str] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        reasons = self.selected.setdefault(path.resolve(), [])
        if reason not in reasons:
            reasons.append(reason)


def _root(params: dict[str, Any], key: str) -> Path | None:
    value = params.get(key)
    return Path(value) if value not in (None, "", "None") else None


def _under(root: Path | None, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() or root is None else root / p


def read_report(path: Path) -> FromReport:
    """The selection an `<action>_report.json` stands for; UsageError in one line if unusable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        action, params = data["action"], data.get("params") or {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--from-report {path}: not a dataset-forge report ({exc})") from None
    found = FromReport(action, params)
    inp, hq, lq = _root(params, "input"), _root(params, "hq"), _root(params, "lq")
    if action in ("integrity", "quality", "score"):
        for f in data.get("findings", []):
            if f.get("path") and f.get("kind") not in NOT_FILES:
                found.add(_under(inp, f["path"]), f"{action} {f['kind']}")
    elif action == "pairs":
        for f in data.get("findings", []):
            kind = f.get("kind")
            if kind in NOT_FILES:
                continue
            if kind == "missing_hq":
                found.add(_under(lq, f["path"]), "pairs missing_hq")
            elif "path" in f:
                found.add(_under(hq, f["path"]), f"pairs {kind}")
            elif "hq" in f:
                found.add(_under(hq, f["hq"]), f"pairs {kind}")
    elif action == "dedup":
        _dedup(found, data, inp or hq)
    elif action == "validate":
        for f in data.get("findings", []):
            if f.get("status") in ("warn", "fail"):
                found.rules += VALIDATE_STEPS.get(f.get("step"), [])
                if f.get("step") == "scores":
                    _validate_scores(found, data, path)
    else:
        raise UsageError(f"--from-report {path}: a {action} report names no files to select "
                         "(use integrity, quality, score, pairs, validate or dedup reports)")
    return found


def _validate_scores(found: FromReport, data: dict[str, Any], path: Path) -> None:
    """A validate scores step that warned: its CSV of scores and its flag rules."""
    flags = found.params.get("score_flags") or []
    if isinstance(flags, str):
        flags = [t.strip() for t in flags.split(",") if t.strip()]
    csv = (data.get("files") or {}).get("scores_csv")
    if not csv:
        raise UsageError(f"--from-report {path}: its scores step flagged images but the report "
                         "keeps no scores CSV (made by an older validate); rerun validate, or "
                         "give --scores score.csv --where " + ",".join(flags or ["RULE"]))
    found.scores, found.score_flags = Path(csv), list(flags)


def _dedup(found: FromReport, data: dict[str, Any], root: Path | None) -> None:
    """The duplicates a dedup run did not keep, from its groups file (dedup's own reader)."""
    from ..dedup.plan import PlanError, read_plan
    groups_file = (data.get("files") or {}).get("groups_json")
    if not groups_file:
        raise UsageError("--from-report: this dedup report lists no groups file")
    try:
        plan = read_plan(Path(groups_file))
    except PlanError as exc:
        raise UsageError(f"--from-report {exc}") from None
    for group in plan.groups:
        for k in group.dropped:
            found.add(Path(group.members[k].file), "dedup duplicate")
