"""What `quarantine` selects: rules, criteria and earlier reports, turned into one list of files.

    selection = Selection.from_params(params)          # usage errors before any work
    for path, partner, reasons in selection.run(ctx, dataset): ...

Rules (`--rules`), criteria (`--where`, and the limit flags such as `--min-width`) are evaluated
now on the facts they need; `--from-report` adds the files earlier reports name (or, for a
validate report, the rules of its warned and failed steps, with validate's thresholds, and
the --score-flags of its scores step on the scores it kept).
Several tests combine with `--combine any` (default) or `all`; report selections always add.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..analysis import quality as q
from ..errors import UsageError
from .dataset import Dataset
from .facts import FactOptions, dominant_scale, select
from .from_report import read_report
from .rules import PAIRS, QUALITY, RULES, SCORES, Criterion, Rule, needs, parse_criterion
from .scores import ScoreTable, read_scores

#: pair settings a validate report's scale step was judged with
PAIR_LIMITS = ("min_ssim", "max_shift", "pixel_tolerance")
#: limit flags -> the criterion that selects files beyond the limit
LIMITS = {
    "min_width": ("width", "<"), "max_width": ("width", ">"),
    "min_height": ("height", "<"), "max_height": ("height", ">"),
    "min_megapixels": ("megapixels", "<"), "max_megapixels": ("megapixels", ">"),
    "min_aspect": ("aspect", "<"), "max_aspect": ("aspect", ">"),
    "min_bytes": ("bytes", "<"), "max_bytes": ("bytes", ">"),
}


@dataclass
class Selection:
    tests: list[Rule | Criterion] = field(default_factory=list)
    combine: str = "any"
    reports: list[Any] = field(default_factory=list)
    opts: FactOptions = field(default_factory=FactOptions)
    scores: ScoreTable | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Selection":
        sel = cls(combine=params["combine"])
        for name in params["rules"] or []:
            if name not in RULES:
                raise UsageError(f"--rules: unknown rule {name!r}; one of {', '.join(RULES)}")
            sel.tests.append(RULES[name])
        if params.get("scores") is not None:
            sel.scores = read_scores(Path(params["scores"]))
        score_fields = sel.scores.columns if sel.scores else []
        for text in params["where"] or []:
            try:
                sel.tests.append(parse_criterion(text, score_fields))
            except ValueError as exc:
                hint = "" if sel.scores else " (model scores: give --scores score.csv)"
                raise UsageError(f"--where {exc}{hint}") from None
        for flag, (fld, op) in LIMITS.items():
            if params.get(flag) is not None:
                sel.tests.append(Criterion(fld, op, float(params[flag])))
        for flag, fld in (("formats", "format"), ("modes", "mode")):
            for value in params.get(flag) or []:
                sel.tests.append(Criterion(fld, "=", value))
        if params.get("alpha") in ("yes", "no"):
            sel.tests.append(Criterion("alpha", "=", params["alpha"] == "yes"))
        elif params.get("alpha") == "used":
            sel.tests.append(Criterion("alpha_used", "=", True))
        pair_limits: dict[str, Any] = {}
        thresholds = {c.name: params.get(f"{c.name}_threshold", c.threshold) for c in q.CHECKS}
        for path in [Path(p) for p in params["from_report"] or []]:
            found = read_report(path)
            sel.reports.append(found)
            if found.scores is not None:
                sel.add_score_flags(found, path)
            if found.rules:   # a validate report: its rules, with its own thresholds
                thresholds = _validate_thresholds(found.params)
                pair_limits = {k: type(getattr(FactOptions(), k))(found.params[k])
                               for k in PAIR_LIMITS if found.params.get(k) is not None}
                enabled = set(thresholds)
                for name in found.rules:
                    if RULES[name] not in sel.tests and (RULES[name].needs != QUALITY
                                                         or name in enabled):
                        sel.tests.append(RULES[name])
        if not sel.tests and not sel.reports:
            raise UsageError("nothing selects files: give --rules, --where, a limit such as "
                             "--min-width, or --from-report")
        sel.opts = FactOptions(kinds=frozenset(needs(sel.tests) - {SCORES}), thresholds=thresholds,
                               analysis_size=params["analysis_size"],
                               max_pixels=params["max_pixels"], **pair_limits)
        return sel

    def add_score_flags(self, found: Any, path: Path) -> None:
        """A validate report's scores step: its flag rules on its own scores CSV."""
        if self.scores is not None:
            raise UsageError(f"--from-report {path}: its scores step brings its own scores; "
                             "give it without --scores (or another validate report with scores)")
        self.scores = read_scores(found.scores, f"--from-report {path}: scores CSV")
        for text in found.score_flags:
            rule = parse_criterion(text, self.scores.columns)
            if rule not in self.tests:
                self.tests.append(rule)

    def run(self, ctx: Any, data: Dataset) -> Iterator[tuple[Path, Path | None, list[str]]]:
        """(file, partner, reasons) for each selected file, in discovery order."""
        from_reports: dict[Path, list[str]] = {}
        for found in self.reports:
            for path, reasons in found.selected.items():
                from_reports.setdefault(path, []).extend(reasons)
        partners = {item[0]: item[1] for item in data.items}
        measured: dict[Path, list[str]] = {}
        if self.tests:
            opts = self.opts
            if PAIRS in opts.kinds and data.pair_mode:
                pairs = [(a, b) for a, b, _ in data.items if b is not None]
                opts = FactOptions(**{**opts.__dict__,
                                      "scale": dominant_scale(ctx, pairs, opts.max_pixels)})
            extra = None
            if self.scores is not None:
                root, table = data.roots[0], self.scores
                extra = lambda path: table.row_for(root, path)  # noqa: E731
            for path, hits, _row in select(ctx, data.items, self.tests, opts, self.combine,
                                           total=len(data.items), extra=extra):
                measured[path] = hits
        for path, partner, _ in data.items:
            reasons = measured.get(path, []) + from_reports.get(path.resolve(), [])
            if partner is not None:
                reasons += [f"lq: {r}" for r in from_reports.get(partner.resolve(), [])]
            if reasons:
                yield path, partners.get(path), reasons


def _validate_thresholds(vparams: dict[str, Any]) -> dict[str, float]:
    """The quality checks a validate run applied, with its thresholds; its dimension step
    always judges odd sizes and aspect ratios."""
    checks = vparams.get("checks") or [c.name for c in q.CHECKS]
    if isinstance(checks, str):
        checks = [c.strip() for c in checks.split(",") if c.strip()]
    names = {*checks, "odd_size", "odd_aspect_ratio"}
    return {c.name: float(vparams.get(f"{c.name}_threshold", c.threshold))
            for c in q.CHECKS if c.name in names}
