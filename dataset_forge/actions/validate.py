"""`validate`: a dataset checked step by step, each step pass / warn / fail, one verdict.

Steps, in order: pairing (HQ/LQ mode), integrity, scale (HQ/LQ mode), dimensions, formats and
modes, quality, and with --score-metrics model scores (`models.scores`, on the GPU core). Exit code 0 for pass and warn, 1 for fail; `--stop-on-fail` skips the steps
after the first failure.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..reports import html as hr
from ..analysis import quality as q
from ..io.discover import discover
from ..io.pairs import pair_images
from ..analysis.htmlparts import grid, write_page
from ..context import RunContext
from ..errors import UsageError
from ..parallel import Failure, WorkKind
from ..reports.report import Report, RowWriter, Table
from ..curation.rules import RULES
from ..analysis.passes import (PairCheck, check_pairs, check_rows, flagged_by_check,
                               score_images, thresholds)
from ..models.scores import column_for, load_scorers, parse_rules, parse_weights, score_paths
from .common import (DEEP_INTEGRITY, HQ, INCLUDE_HIDDEN, LQ, MODEL_BATCH, PAIR_PARAMS,
                     QUALITY_PARAMS)
from .registry import Family, Param, action

PASS, WARN, FAIL, SKIPPED = "pass", "warn", "fail", "skipped"
MAX_EXAMPLES = 5

INPUT = Param("input", "dir", help="folder of images to validate (or give --hq and --lq)")
SCORE_PARAMS = [
    Param("score_metrics", "list", [], "also score images with these models (a 'scores' "
          "step): niqe, ic9600, pyiqa:NAME, as in the score action; empty = no scores step"),
    Param("score_weights", "list", [], "weights files for --score-metrics as METRIC=FILE"),
    Param("score_flags", "list", [], "rules that warn about images, e.g. 'niqe>8,topiq_nr<0.4'"),
]
STOP = Param("stop_on_fail", "bool", False, "stop at the first failed step; later steps are "
             "reported as skipped")


@dataclass
class Step:
    name: str
    status: str = PASS
    message: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)   # for thumbnails in the HTML page
    #: path -> {"thumb", "crop"} pictures made from the scoring decode (quality step)
    previews: dict[Path, dict[str, str]] = field(default_factory=dict)

    def judge(self, fail: dict[str, list], warn: dict[str, list]) -> "Step":
        """Fail if any `fail` list is non-empty, else warn if any `warn` list is."""
        self.counts = {k: len(v) for k, v in {**fail, **warn}.items()}
        bad = [(k, v) for k, v in fail.items() if v] or [(k, v) for k, v in warn.items() if v]
        self.status = FAIL if any(fail.values()) else WARN if any(warn.values()) else PASS
        self.message = ", ".join(f"{len(v)} {k}" for k, v in bad) or "no problems"
        self.examples = [f"{k}: {x}" for k, v in bad for x in v[:MAX_EXAMPLES]][:MAX_EXAMPLES * 2]
        return self


@dataclass
class Dataset:
    """The images to validate, with how to name them in the report."""

    images: list[Path]
    roots: list[Path]
    hq_images: list[Path]
    renamed: list[tuple[Path, str]]
    lq_images: list[Path]

    def label(self, path: Path) -> str:
        for root in self.roots:
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                continue
            return f"{root.name}/{rel}" if len(self.roots) > 1 else rel
        return str(path)


def _dataset(params: dict[str, Any]) -> Dataset:
    if params["input"] is None and not (params["hq"] and params["lq"]):
        raise UsageError("give --input DIR, or --hq DIR and --lq DIR")
    if params["input"] is not None and (params["hq"] or params["lq"]):
        raise UsageError("give either --input or --hq/--lq, not both")
    roots = [params["input"]] if params["input"] else [params["hq"], params["lq"]]
    surveys = [discover(r, params["include_hidden"]) for r in roots]
    return Dataset([p for s in surveys for p in s.images], roots, surveys[0].images,
                   [x for s in surveys for x in s.renamed], surveys[-1].images)


class Validation:
    """Runs the steps in order and keeps what later steps need."""

    def __init__(self, ctx: RunContext, params: dict[str, Any]) -> None:
        self.ctx, self.params = ctx, params
        self.data = _dataset(params)
        self.pair_mode = params["input"] is None
        self.pairs: PairCheck | None = None
        self.headers: dict[Path, dict[str, Any]] = {}
        self.scorers, self.score_rules = [], []
        self.scores_csv: Path | None = None
        if params["score_metrics"]:   # usage errors (metrics, weights, rules) before any work
            columns = [column_for(m) for m in params["score_metrics"]]
            self.score_rules = parse_rules(params["score_flags"], columns, "--score-flags")
            self.scorers = load_scorers(params["score_metrics"],
                                        parse_weights(params["score_weights"]), ctx.config.device)
        elif params["score_flags"] or params["score_weights"]:
            raise UsageError("--score-flags and --score-weights need --score-metrics")

    def steps(self) -> list[tuple[str, Callable[[Step], Step]]]:
        return [("pairing", self.pairing), ("integrity", self.integrity), ("scale", self.scale),
                ("dimensions", self.dimensions), ("formats and modes", self.formats),
                ("quality", self.quality),
                *([("scores", self.scores)] if self.scorers else [])]

    def pairing(self, step: Step) -> Step:
        if not self.pair_mode:
            step.status, step.message = SKIPPED, "no --hq/--lq given"
            return step
        hq, lq = self.params["hq"], self.params["lq"]
        self.pairs = check_pairs(self.ctx, hq, lq, self.params, pair_images(
            hq, self.data.hq_images, lq, self.data.lq_images))
        p = self.pairs.pairing
        step.paths = p.missing_lq + p.missing_hq
        return step.judge(
            {"HQ without LQ": [self.data.label(x) for x in p.missing_lq],
             "LQ without HQ": [self.data.label(x) for x in p.missing_hq]},
            {"ambiguous names": p.ambiguous})

    def integrity(self, step: Step) -> Step:
        bad, notes = [], []
        for path, row in check_rows(self.ctx, self.data.images, deep=self.params["deep"],
                                    max_pixels=self.params["max_pixels"]):
            if not RULES["integrity"].test(row):
                self.headers[path] = row
            else:
                bad.append(path)
                notes.append(f'{self.data.label(path)} ({row["status"]}: {row["message"]})')
        step.paths = bad
        return step.judge({"unreadable": notes}, {})

    def scale(self, step: Step) -> Step:
        if self.pairs is None:
            step.status, step.message = SKIPPED, "no --hq/--lq given"
            return step
        bad = [f'{r["lq"]} ({r["scale_status"]}: {r["scale_w"]:.3f}x{r["scale_h"]:.3f})'
               for r in self.pairs.bad_scale]
        off = [f'{r["lq"]} (SSIM {r["ssim"]:.2f}, shift {r["shift_x"]:+g},{r["shift_y"]:+g})'
               for r in self.pairs.misaligned]
        step.paths = [self.params["lq"] / r["lq"] for r in
                      self.pairs.bad_scale + self.pairs.misaligned]
        step.judge({f"pairs not at x{self.pairs.scale}": bad}, {"misaligned pairs": off})
        step.message = f"dominant scale x{self.pairs.scale}; " + step.message
        return step

    def dimensions(self, step: Step) -> Step:
        paths = list(self.headers)
        rows = [{"width": self.headers[p]["width"], "height": self.headers[p]["height"]}
                for p in paths]
        if self.pair_mode:  # HQ and LQ differ by design: compare each side with itself
            groups = [[i for i, p in enumerate(paths) if p.is_relative_to(r)]
                      for r in self.data.roots]
        else:
            groups = [list(range(len(paths)))]
        for group in groups:
            q.add_outlier_scores([rows[i] for i in group])
        limit_size = self.params["odd_size_threshold"]
        limit_aspect = self.params["odd_aspect_ratio_threshold"]
        odd_size = [p for p, r in zip(paths, rows) if r.get("size_outlier", 0) > limit_size]
        odd_aspect = [p for p, r in zip(paths, rows) if r.get("aspect_outlier", 0) > limit_aspect]
        step.paths = odd_size + odd_aspect
        label = self.data.label
        return step.judge({}, {
            "odd sizes": [f'{label(p)} ({self.headers[p]["width"]}x{self.headers[p]["height"]})'
                          for p in odd_size],
            "odd aspect ratios": [f'{label(p)} ({self.headers[p]["width"]}x'
                                  f'{self.headers[p]["height"]})' for p in odd_aspect]})

    def formats(self, step: Step) -> Step:
        label = self.data.label
        renamed = {p for p, _ in self.data.renamed}
        mismatch, unusual, animation = (RULES[n].test for n in
                                        ("extension_mismatch", "unusual_mode", "animated"))
        mismatched = [f'{label(p)} (is {r["content_format"]})' for p, r in self.headers.items()
                      if mismatch(r) or p in renamed]
        modes = [f'{label(p)} ({r["mode"]})' for p, r in self.headers.items() if unusual(r)]
        animated = [f'{label(p)} ({r["frames"]} frames)' for p, r in self.headers.items()
                    if animation(r)]
        step.paths = [p for p, r in self.headers.items() if mismatch(r)]
        step.judge({}, {"extension mismatches": mismatched, "unusual modes": modes,
                        "animated": animated})
        formats = collections.Counter(r["format"] for r in self.headers.values())
        step.message += "; formats: " + ", ".join(f"{k} {v}" for k, v in formats.most_common())
        return step

    def quality(self, step: Step) -> Step:
        wanted = set(self.data.hq_images if self.pair_mode else self.data.images)
        paths = [p for p in self.headers if p in wanted]
        root = self.data.roots[0]
        rows, _ = score_images(self.ctx, paths, root, self.params)
        flagged = flagged_by_check(rows)
        step.paths = [root / r["path"] for items in flagged.values() for r in items]
        step.previews = {root / r["path"]: r["_preview"] for r in rows if r.get("_preview")}
        step.judge({}, {name: [r["path"] for r in items] for name, items in flagged.items()})
        if self.pair_mode:
            step.message += " (HQ images only)"
        return step


    def scores(self, step: Step) -> Step:
        """Score the images; every score goes to validate_scores.csv (score.csv's columns), so
        `quarantine --from-report` applies --score-flags to all of them, not the examples."""
        wanted = set(self.data.hq_images if self.pair_mode else self.data.images)
        paths = [p for p in self.headers if p in wanted]
        root = self.data.roots[0]
        hits: dict[str, list[str]] = {c.name: [] for c in self.score_rules}
        columns = ["path", "width", "height", *map(column_for, self.params["score_metrics"])]
        self.ctx.report_dir.mkdir(parents=True, exist_ok=True)
        with RowWriter(self.ctx.report_dir / "validate_scores.csv", columns) as rows:
            for path, value in score_paths(self.ctx, paths, self.scorers,
                                           batch_size=self.params["batch_size"]):
                if not isinstance(value, dict):
                    continue
                rows.write({**value, "path": path.relative_to(root).as_posix()})
                for rule in self.score_rules:
                    if rule.test(value):
                        hits[rule.name].append(self.data.label(path))
                        step.paths.append(path)
        self.scores_csv = rows.path
        step.judge({}, hits)
        step.message += f" ({len(paths)} images scored: {', '.join(self.params['score_metrics'])})"
        return step


def _quality_params() -> list[Param]:
    return [p for p in QUALITY_PARAMS if p.name != "max_pixels"]


@action("validate", Family.ANALYSIS, "Validate a dataset step by step (pairing, integrity, "
        "scale, dimensions, formats, quality): pass / warn / fail",
        params=[INPUT, HQ, LQ, INCLUDE_HIDDEN, DEEP_INTEGRITY, STOP, *PAIR_PARAMS, *_quality_params(),
                *SCORE_PARAMS, MODEL_BATCH],
        kind=WorkKind.CPU, unit="steps",
        examples=("dataset-forge --action validate --input photos/",
                  "dataset-forge --action validate --hq data/hq --lq data/lq_x4 --stop-on-fail",
                  "dataset-forge --action validate --input photos/ --score-metrics niqe "
                  "--score-flags 'niqe>8'"))
def validate(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Run the steps in order and give an overall verdict: fail if any step fails, warn if any
    warns, else pass. Failing: missing partners, unreadable files, pairs off the dominant
    scale. Warning: ambiguous names, misaligned pairs, odd sizes, extension mismatches, unusual
    modes, animations, quality flags. Exit code 1 when the verdict is fail."""
    thresholds(params)
    run = Validation(ctx, params)
    report = Report("validate", params)
    results: list[Step] = []
    stopped = False
    for name, fn in run.steps():
        step = Step(name)
        if stopped:
            step.status, step.message = SKIPPED, "skipped after a failed step (--stop-on-fail)"
        else:
            fn(step)
            stopped = params["stop_on_fail"] and step.status == FAIL
        results.append(step)
        if step.status == FAIL:
            report.add_failure(Failure(name, "validation failed", step.message))
    statuses = [s.status for s in results]
    ctx.tally("steps", ok=sum(s in (PASS, WARN) for s in statuses),
              failed=statuses.count(FAIL), unit="steps")
    verdict = FAIL if FAIL in statuses else WARN if WARN in statuses else PASS
    report.summary = {"verdict": verdict, "images": len(run.data.images),
                      **{f"step {s.name}": s.status for s in results}}
    report.findings = [{"step": s.name, "status": s.status, "message": s.message,
                        "counts": s.counts, "examples": s.examples} for s in results]
    report.tables = [Table(f"Validation: {verdict.upper()}", ["step", "status", "result",
                                                               "examples"],
                           [[s.name, s.status, s.message, "\n".join(s.examples)]
                            for s in results])]
    sections = [hr.section(f"Verdict: {verdict}", f'<p class="{verdict}">{hr.esc(verdict.upper())}</p>')]
    for s in results:
        if s.status in (FAIL, WARN) and s.paths:
            sections.append(hr.section(f"{s.name}: {s.status}", grid(ctx, [
                {"path": p, "caption": run.data.label(p), "highlight": s.status == FAIL,
                 **({"uri": s.previews[p]["thumb"], "crop_uri": s.previews[p]["crop"]}
                    if p in s.previews else {})}
                for p in s.paths]), note=s.message))
    if run.scores_csv is not None:
        report.files["scores_csv"] = str(run.scores_csv)
    write_page(ctx, report, "Validation", sections)
    return report
