"""Dataset-wide analysis passes on the parallel core, shared by the analysis actions and
`validate`: integrity rows, HQ/LQ pair checks, quality scores and flags."""
from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..context import RunContext
from ..errors import UsageError
from ..io import Pairing, pair_folders
from ..parallel import Failure, WorkKind
from . import integrity as checks
from . import pairs as pa
from . import quality as q
from ..curation.rules import RULES
from .htmlparts import MAX_THUMBS_PER_GRID, relative
from .previews import PreviewKeeper, make_preview


def check_rows(ctx: RunContext, paths: list[Path], *, deep: bool,
               max_pixels: int) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(path, integrity row) for each path, in order, computed on the parallel core."""
    check = functools.partial(checks.check_file, deep=deep, max_pixels=max_pixels)
    for outcome in ctx.map(check, paths, label="integrity",
                           kind=WorkKind.CPU if deep else WorkKind.IO):
        if outcome.ok:
            yield outcome.item, outcome.value
        else:  # a timeout or a dead worker: still one line, never the end of the run
            yield outcome.item, {"status": "unreadable",
                                 "message": f"{outcome.error.error_type}: {outcome.error.message}"}


@dataclass
class PairCheck:
    pairing: Pairing
    rows: list[dict[str, Any]] = field(default_factory=list)
    scale: int | None = None
    failures: list[Failure] = field(default_factory=list)

    @property
    def bad_scale(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if RULES["scale_mismatch"].test(r)]

    @property
    def misaligned(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if RULES["misaligned"].test(r)]


def check_pairs(ctx: RunContext, hq_root: Path, lq_root: Path, params: dict[str, Any],
                pairing: Pairing | None = None) -> PairCheck:
    """Pair the folders (unless the caller has paired them), measure every pair on the
    parallel core and classify it."""
    result = PairCheck(pairing or pair_folders(hq_root, lq_root,
                                               include_hidden=params["include_hidden"]))
    measure = functools.partial(pa.measure_pair, align=params["align"],
                                size=params["align_size"], max_pixels=params["max_pixels"])
    kind = WorkKind.CPU if params["align"] else WorkKind.IO
    for outcome in ctx.map(measure, result.pairing.pairs, label="pairs", kind=kind,
                           unit="pairs"):
        hq, lq = outcome.item
        if not outcome.ok:
            result.failures.append(Failure(f"{hq} | {lq}", outcome.error.error_type,
                                           outcome.error.message))
            continue
        result.rows.append({"hq": relative(hq, hq_root), "lq": relative(lq, lq_root),
                            **outcome.value})
    result.scale = pa.dominant_scale(result.rows)
    for row in result.rows:
        row["scale_status"] = pa.classify(row, result.scale, params["pixel_tolerance"])
        row["aligned"] = pa.is_aligned(row, params["min_ssim"], params["max_shift"])
    return result


def thresholds(params: dict[str, Any]) -> dict[str, float]:
    """Thresholds of the enabled checks; unknown check names are a usage error."""
    unknown = [n for n in params["checks"] if n not in q.CHECKS_BY_NAME]
    if unknown:
        raise UsageError(f"--checks: unknown check {unknown[0]!r}; choose from "
                         + ", ".join(q.CHECKS_BY_NAME))
    return {n: params[f"{n}_threshold"] for n in params["checks"]}


def assess_row(path: Path, limits: dict[str, float], size: int, max_pixels: int,
               previews: bool = True) -> dict[str, Any]:
    """One image's row with its per-image `flags` (a list) and, when flagged and `previews`,
    the report pictures made from the same decode (`_preview`). Runs in a worker."""
    assessment = q.assess(path, limits, size=size, max_pixels=max_pixels)
    row = {**assessment.row, "flags": assessment.flags}
    if previews and assessment.flags:
        row["_preview"] = make_preview(assessment)
    return row


def score_images(ctx: RunContext, paths: list[Path], root: Path, params: dict[str, Any],
                 previews: bool = True) -> tuple[list[dict[str, Any]], list[Failure]]:
    """Rows with every score and `flags` (space-separated), plus a failure per unreadable
    image. Each image is decoded once; flagged rows keep `_preview` pictures for the report
    (at most MAX_THUMBS_PER_GRID per check, the worst)."""
    limits = thresholds(params)
    assess = functools.partial(assess_row, limits=limits, size=params["analysis_size"],
                               max_pixels=params["max_pixels"], previews=previews)
    keeper = PreviewKeeper(MAX_THUMBS_PER_GRID)
    rows, failures = [], []
    for outcome in ctx.map(assess, paths, label="quality", kind=WorkKind.CPU):
        if outcome.ok:
            row = {"path": relative(outcome.item, root), **outcome.value}
            keeper.offer(row)
            rows.append(row)
        else:
            failures.append(outcome.error)
    q.add_outlier_scores(rows)
    for row in rows:
        row["flags"] = " ".join(q.flags_for(row, limits))
    return rows, failures


def flagged_by_check(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Check name -> its flagged rows, worst score first."""
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        for name in row["flags"].split():
            out[name].append(row)
    for name, items in out.items():
        check = q.CHECKS_BY_NAME[name]
        items.sort(key=lambda r: r[check.score], reverse=check.direction == "above")
    return dict(out)
