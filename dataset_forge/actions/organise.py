"""`organise`: flatten a tree, or sort files into folders by orientation, size class, format or
aspect ratio; HQ/LQ partners follow their HQ file.

Categories come from `dataset_forge.curation.naming`; the moves go through the family's plan /
check / apply flow (`curation.flow`).
"""
from __future__ import annotations

import collections
import functools
from pathlib import Path
from typing import Any

from ..analysis.header import read_header
from ..context import RunContext
from ..curation.dataset import Dataset
from ..curation.flow import carry_out, write_plan_page
from ..curation.naming import BY, category, flat_name
from ..errors import UsageError
from ..io import check_output
from ..parallel import WorkKind
from ..reports.report import Report, Table
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ, MAX_PIXELS
from .registry import Family, Param, action

MODES = ("move", "copy", "hardlink", "symlink")

PARAMS = [
    Param("input", "dir", help="folder of images to organise (or give --hq and --lq)"),
    HQ, LQ,
    Param("by", "choice", "orientation", "flatten the tree, or sort into folders by "
          "orientation (landscape, portrait, square), size (tiny < 0.25 MP, small < 1, "
          "medium < 4, large < 16, huge), format, or aspect (1x1, 4x3, 3x2, 16x9, ... "
          "within 2 per cent, else other)", choices=("flatten", *BY)),
    Param("keep_tree", "bool", True, "sorting: keep each file's sub-folders under its category "
          "folder (CATEGORY/sub/a.png); off: CATEGORY/a.png"),
    Param("separator", "str", "_", "flatten: what joins the folder names into the file name"),
    Param("output", "path", help="organise into this new folder (copies by default) instead of "
          "moving files inside the input"),
    Param("mode", "choice", "move", "with --output: how files get there (move, copy, hardlink, "
          "symlink); in place files are always moved", choices=MODES),
    MAX_PIXELS, APPLY, INCLUDE_HIDDEN,
]


def _header(path: Path, max_pixels: int) -> dict[str, Any]:
    return read_header(path, max_pixels=max_pixels)


def _new_rel(params: dict[str, Any], rel: str, folder: str | None) -> str | None:
    """The file's new relative path, or None when it already is where it belongs."""
    if folder is None:   # flatten
        return flat_name(rel, params["separator"])
    parts = Path(rel).parts
    if params["output"] is None and parts[0] == folder and len(parts) > 1:
        return None      # in place and already filed under its category
    tail = rel if params["keep_tree"] else parts[-1]
    return f"{folder}/{tail}"


@action("organise", Family.CURATION, "Flatten a tree, or sort into folders by orientation, "
        "size class, format or aspect ratio (HQ/LQ partners together)",
        params=PARAMS, kind=WorkKind.IO, destructive=True,
        examples=("dataset-forge --action organise --input photos/ --by orientation",
                  "dataset-forge --action organise --input photos/ --by flatten --apply",
                  "dataset-forge --action organise --hq hq/ --lq lq/ --by size --output "
                  "sorted/ --mode copy --apply"))
def organise(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Sort every file (HQ/LQ pair: by its HQ file) into a category folder, or flatten the tree
    (a/b/c.png -> a_b_c.png). In place by default (moves inside the input, undoable; files
    already under their category are left alone), or into --output with --mode. Colliding
    destinations refuse the whole plan before anything moves."""
    data = Dataset.from_params(params)
    output = params["output"]
    if output is not None:
        check_output(output, data.roots)
    elif params["mode"] != "move":
        raise UsageError(f"--mode {params['mode']} needs --output (in place, files move)")
    op = "move" if output is None else params["mode"]
    report = Report("organise", params)
    units = [(p, partner) for p, partner, _ in data.items
             if not data.pair_mode or partner is not None]
    left_out = [p for p, partner, _ in data.items if data.pair_mode and partner is None]
    counts: collections.Counter = collections.Counter()

    def folders():
        if params["by"] == "flatten":
            yield from ((path, partner, None) for path, partner in units)
            return
        read = functools.partial(_header, max_pixels=params["max_pixels"])
        for outcome in ctx.map(read, [p for p, _ in units], label="headers"):
            path, partner = units[outcome.index]
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            yield path, partner, category(params["by"], outcome.value)

    def build(plan) -> None:
        for path, partner, folder in folders():
            counts[folder or "flattened"] += 1
            unit = data.relative(path)[1]
            for file in (path, partner):
                if file is None:
                    continue
                n, rel = data.relative(file)
                new_rel = _new_rel(params, rel, folder)
                if new_rel is None or (output is None and new_rel == rel):
                    continue
                base = data.roots[n] if output is None else \
                    output / ("hq", "lq")[n] if data.pair_mode else output
                plan.add(op, file, base / new_rel, unit=unit, info={"category": folder or ""})

    state = output if output is not None else data.roots[0]
    outcome = carry_out(ctx, report, params, build=build, state_dir=state,
                        info_columns=["category"])
    report.summary.update({"files": len(units), "by": params["by"],
                           "categories": dict(counts.most_common())})
    if counts:
        report.tables.insert(0, Table("Categories", ["category", "files"],
                                      [list(kv) for kv in counts.most_common()]))
    if left_out:
        report.findings.append({"note": f"{len(left_out)} file(s) without a partner were left "
                                        "where they are"})
    write_plan_page(ctx, report, "Organise", outcome)
    return report
