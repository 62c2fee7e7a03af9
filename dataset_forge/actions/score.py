"""`score`: learned and statistical no-reference scores per image (NIQE, IC9600 complexity,
pyiqa's TOPIQ, HyperIQA, MUSIQ, ...), batched on the GPU core, with rules that flag images.

A separate action rather than `quality --model`: `quality` is CPU work in process workers with
its own checks and thresholds, while model scores are GPU work in batches (device, memory
fraction, batch size, out-of-memory halving) with their own parameters (metrics, weights files).
score.csv has the same `path` column as quality.csv, so the two join; flagged images are the
report's findings (`quarantine --from-report`), and quarantine and validate read the columns
(`quarantine --scores score.csv --where 'niqe>8'`).
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from ..analysis.htmlparts import grid, write_page
from ..context import RunContext
from ..io.discover import discover
from ..models.scores import column_for, load_scorers, parse_rules, parse_weights, score_paths
from ..parallel import WorkKind
from ..reports import html as hr
from ..reports.report import Report, RowWriter, Table
from .common import INCLUDE_HIDDEN, INPUT, MODEL_BATCH
from .registry import Family, Param, action

MAX_TABLE_ROWS = 100

METRICS = Param("metrics", "list", ["niqe"], "metrics, comma-separated: niqe (no model, lower is "
                "better), ic9600 (image complexity, needs --weights ic9600=FILE), "
                "pyiqa:NAME (e.g. pyiqa:topiq_nr; the iqa extra)")
WEIGHTS = Param("weights", "list", [], "local weights files as METRIC=FILE, comma-separated "
                "(e.g. ic9600=ck.pth,topiq_nr=cfanet_nr_koniq_res50.pth); pyiqa metrics "
                "without one read pyiqa's cache; nothing is downloaded")
FLAGS = Param("flag", "list", [], "rules that flag images, comma-separated COLUMN OP VALUE, e.g. "
              "'niqe>8,topiq_nr<0.4' (columns: niqe, ic9600, the pyiqa metric's name)")
MAX_SIDE = Param("max_side", "int", 0, "reduce larger images to this long side before scoring "
                 "(0 = full resolution; ic9600 sees 512x512 whatever this is)", min=0)


@action("score", Family.MODELS, "Score images with no-reference quality and complexity models "
        "(NIQE, IC9600, pyiqa: TOPIQ, HyperIQA, MUSIQ, ...) and flag them by rules",
        params=[INPUT, INCLUDE_HIDDEN, METRICS, WEIGHTS, FLAGS, MAX_SIDE, MODEL_BATCH],
        kind=WorkKind.GPU,
        examples=("dataset-forge --action score --input photos/ --flag 'niqe>8'",
                  "dataset-forge --action score --input photos/ --metrics niqe,pyiqa:topiq_nr "
                  "--weights topiq_nr=cfanet_nr_koniq_res50-6a0e3bbf.pth --flag 'topiq_nr<0.4'"))
def score(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Score every image under --input with each metric; score.csv holds one row per image
    (path, decoded width and height, one column per metric). --flag rules select images (any
    rule): they are the report's findings, so `quarantine --from-report` can move them. A
    metric that cannot measure an image (NIQE under 96 px) leaves its cell empty."""
    root: Path = params["input"]
    columns = [column_for(m) for m in params["metrics"]]
    criteria = parse_rules(params["flag"], columns)
    scorers = load_scorers(params["metrics"], parse_weights(params["weights"]),
                           ctx.config.device)
    found = discover(root, params["include_hidden"])
    report = Report("score", params)
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, list[float]] = {c: [] for c in columns}
    flagged: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    scored = n_flagged = 0
    with RowWriter(ctx.report_dir / "score.csv", ["path", "width", "height", *columns]) as rows:
        for path, value in score_paths(ctx, found.images, scorers,
                                       max_side=params["max_side"],
                                       batch_size=params["batch_size"]):
            rel = path.relative_to(root).as_posix()
            if not isinstance(value, dict):
                report.add_failure(value)
                continue
            row = {"path": rel, **value}
            rows.write(row)
            scored += 1
            for c in columns:
                if row.get(c) is not None:
                    values[c].append(row[c])
            hits = [c for c in criteria if c.test(row)]
            for c in hits:
                report.findings.append({"kind": c.name, "path": rel, "score": row[c.field]})
                counts[c.field] = counts.get(c.field, 0) + 1
            if hits:
                n_flagged += 1
                if len(flagged) < MAX_TABLE_ROWS:   # the findings list them all
                    flagged.append({**row, "rules": " ".join(c.name for c in hits)})
    report.files["rows_csv"] = str(rows.path)
    report.summary = {"images": scored, "failed": len(report.failures),
                      "not_measured": {c: scored - len(values[c]) for c in columns
                                       if len(values[c]) < scored},
                      "flagged_images": n_flagged,
                      "metrics": {s.column: {"spec": s.spec, "higher_is_better": s.higher_is_better,
                                             **s.facts} for s in scorers}}
    report.tables = [Table("Scores", ["metric", "better", "images", "mean", "median", "min",
                                      "max", "flagged"],
                           [[c, "higher" if s.higher_is_better else "lower", *_stats(values[c]),
                             counts.get(c, 0)]
                            for c, s in zip(columns, scorers)])]
    if flagged:
        report.tables.append(Table(f"Flagged ({n_flagged}; first {len(flagged)})",
                                   ["path", "rules", *columns],
                                   [[f["path"], f["rules"], *(f.get(c) for c in columns)]
                                    for f in flagged]))
    charts = [hr.histogram_svg(values[c], title=c,
                               marks=[(float(k.value), k.name) for k in criteria if k.field == c])
              for c in columns]
    sections = [hr.section("Scores", hr.histograms(charts),
                           note="dashed red lines: the --flag rules")]
    if flagged:
        sections.append(hr.section(f"Flagged: {n_flagged} image(s)", grid(
            ctx, [{"path": root / f["path"], "highlight": True,
                   "caption": f"{f['path']} {f['rules']}"} for f in flagged[:60]])))
    write_page(ctx, report, f"Scores of {root}", sections)
    return report


def _stats(vals: list[float]) -> list[Any]:
    if not vals:
        return [0, "", "", "", ""]
    return [len(vals), round(statistics.fmean(vals), 4), round(statistics.median(vals), 4),
            round(min(vals), 4), round(max(vals), 4)]
