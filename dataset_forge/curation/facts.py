"""Measure what the selection rules read, on the parallel core, and say which files they select.

    opts = FactOptions(kinds={"integrity", "quality"}, thresholds=..., ...)
    for path, hits, row in select(ctx, items, tests, opts, combine="any"): ...

`items` are (file, partner) tuples: a plain file has no partner; an HQ file carries its LQ
partner, whose integrity is checked too (a truncated LQ selects the pair). Facts are measured
only as far as the rules need them (header and integrity, quality scores, pair scale and
alignment). Rows stream: only the dataset-relative quality checks (odd size, odd aspect ratio)
hold every row's facts until the quartiles are known.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..analysis import pairs as pa
from ..analysis import quality as q
from ..analysis.header import read_header
from ..analysis.integrity import check_file
from ..io.images import DEFAULT_MAX_PIXELS
from .rules import ALPHA, INTEGRITY, PAIRS, QUALITY, Criterion, Rule, matching

#: quality checks whose score is relative to the whole dataset
RELATIVE = frozenset({"odd_size", "odd_aspect_ratio"})


@dataclass(frozen=True)
class FactOptions:
    kinds: frozenset = frozenset({INTEGRITY})
    thresholds: dict = field(default_factory=lambda: {c.name: c.threshold for c in q.CHECKS})
    analysis_size: int = q.DEFAULT_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    align: bool = True
    min_ssim: float = 0.6
    max_shift: float = 0.5
    pixel_tolerance: float = 2.0
    scale: int | None = None


def file_facts(item: tuple[Path, Path | None, bool], opts: FactOptions) -> dict[str, Any]:
    """One row of facts (worker function): integrity and header, then what `opts.kinds` asks."""
    path, partner, paired_mode = item
    row = check_file(path, max_pixels=opts.max_pixels)
    if paired_mode:
        row["partner_missing"] = partner is None
    if row["status"] != "ok":
        return row
    if ALPHA in opts.kinds and row.get("has_alpha"):   # needs every pixel: only when asked
        row["alpha_used"] = read_header(path, deep=True, max_pixels=opts.max_pixels)["alpha_used"]
    if QUALITY in opts.kinds:
        try:
            row.update(q.measure(path, opts.analysis_size, opts.max_pixels))
        except Exception as exc:  # noqa: BLE001 - the integrity tier passed; note and go on
            row["quality_error"] = f"{type(exc).__name__}: {exc}"
    if partner is not None:
        lq = check_file(partner, max_pixels=opts.max_pixels)
        row["lq_row"] = lq
        if PAIRS in opts.kinds and lq["status"] == "ok":
            pair = pa.measure_pair((path, partner), align=opts.align,
                                   max_pixels=opts.max_pixels)
            pair["scale_status"] = pa.classify(pair, opts.scale, opts.pixel_tolerance)
            pair["aligned"] = pa.is_aligned(pair, opts.min_ssim, opts.max_shift)
            row.update({k: v for k, v in pair.items() if k not in ("width", "height")})
    return row


def dominant_scale(ctx: Any, pairs: list[tuple[Path, Path]], max_pixels: int) -> int | None:
    """The dataset's dominant integer scale, from headers only."""
    sizes = functools.partial(pa.pair_sizes, max_pixels=max_pixels)
    rows = [o.value for o in ctx.map(lambda p: sizes(*p), pairs, label="pair sizes",
                                               unit="pairs")
            if o.ok]
    return pa.dominant_scale(rows)


def _judge(row: dict[str, Any], tests: list[Rule | Criterion], combine: str,
           thresholds: dict[str, float]) -> list[str]:
    if "brightness" in row:
        row["flags"] = " ".join(q.flags_for(row, thresholds))
    hits = matching(row, tests, combine)
    lq = row.get("lq_row")
    if lq is not None:   # a bad LQ partner selects the pair
        lq_tests = [t for t in tests if isinstance(t, Rule) and t.needs == INTEGRITY]
        hits += [f"lq {name}" for name in matching(lq, lq_tests, "any")]
    return hits


def select(ctx: Any, items: Iterable[tuple[Path, Path | None, bool]],
           tests: list[Rule | Criterion], opts: FactOptions, combine: str = "any",
           total: int | None = None, extra: Callable[[Path], dict[str, Any]] | None = None
           ) -> Iterator[tuple[Path, list[str], dict[str, Any]]]:
    """(path, names of the tests that select it, facts) for every selected file, in order.
    Files whose measurement failed come back selected by nothing, with `status` set.
    `extra(path)` adds facts measured elsewhere (model scores from a score run)."""
    measure = functools.partial(file_facts, opts=opts)
    relative = any(isinstance(t, Rule) and t.name in RELATIVE for t in tests) or any(
        isinstance(t, Criterion) and t.field in ("size_outlier", "aspect_outlier")
        for t in tests)
    held: list[tuple[Path, dict[str, Any]]] = []
    for outcome in ctx.map(measure, items, label="facts", total=total):
        path = outcome.item[0]
        row = outcome.value if outcome.ok else {
            "status": "unreadable", "message": f"{outcome.error.error_type}: "
                                               f"{outcome.error.message}"}
        if extra is not None:
            row.update(extra(path))
        if relative:
            held.append((path, row))
            continue
        hits = _judge(row, tests, combine, opts.thresholds)
        if hits:
            yield path, hits, row
    if relative:
        q.add_outlier_scores([row for _, row in held if "brightness" in row])
        for path, row in held:
            hits = _judge(row, tests, combine, opts.thresholds)
            if hits:
                yield path, hits, row
