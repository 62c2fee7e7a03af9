"""`split`: train/val/test (any named subsets) where near-duplicates and HQ/LQ partners always
land in the same subset.

The engine is `dataset_forge.curation.split` (subsets, duplicate groups, assignment) and the
family's plan / check / apply flow (`curation.flow`).
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

from ..analysis.htmlparts import grid, write_page
from ..context import RunContext
from ..curation import split as sp
from ..curation.dataset import Dataset
from ..curation.flow import carry_out
from ..dedup.perceptual import HASHES
from ..errors import UsageError
from ..io import check_output
from ..parallel import WorkKind
from ..reports import html as hr
from ..reports.report import Report, RowWriter, Table
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ, SEED
from .registry import Family, Param, action

MODES = ("copy", "move", "hardlink", "symlink")
MAX_GROUPS_SHOWN = 40

PARAMS = [
    Param("input", "dir", help="folder of images to split (or give --hq and --lq)"),
    HQ, LQ,
    Param("output", "path", help="new folder: one sub-folder per subset (OUTPUT/train/...)",
          required=True),
    Param("subsets", "list", ["train=0.8", "val=0.1", "test=0.1"], "subsets with ratios "
          "(train=0.8,val=0.2) or counts with one taking the rest (val=100,train=rest)"),
    Param("by", "choice", "seed", "seed: shuffled by --seed, then dealt out to exact sizes; "
          "name: each group by a hash of its file name (a file keeps its subset as the dataset "
          "grows; sizes only near the ratios)", choices=("seed", "name")),
    SEED,
    Param("stratify_level", "int", 0, "with --by seed, split each folder at this depth "
          "separately (1 = the first folder level); 0 = off", min=0),
    Param("duplicates", "choice", "phash", "how near-duplicates are found so they stay in "
          "one subset: a perceptual hash, exact bytes, or none", choices=(*HASHES, "exact", "none")),
    Param("threshold", "float", None, "largest Hamming distance for near-duplicates (default: "
          "the dedup default, 10 of 64 bits)", min=0),
    Param("groups", "file", help="a dedup report's groups file (dedup_groups.json): its groups "
          "stay together (instead of --duplicates)"),
    Param("mode", "choice", "copy", "how files reach their subset", choices=MODES),
    APPLY, INCLUDE_HIDDEN,
]


def _destination(data: Dataset, path: Path, output: Path, subset: str) -> Path:
    n, rel = data.relative(path)
    return output / subset / ("hq", "lq")[n] / rel if data.pair_mode else output / subset / rel


def _groups(ctx: RunContext, params: dict[str, Any], paths: list[Path], report: Report
            ) -> list[list[int]]:
    if params["groups"] is not None:
        from ..dedup.plan import PlanError
        try:
            return sp.groups_from_dedup_plan(params["groups"], paths)
        except PlanError as exc:
            raise UsageError(f"--groups {exc}") from None
    if params["duplicates"] == "none":
        return []
    groups, failures = sp.near_duplicate_groups(ctx, paths, params["duplicates"],
                                                params["threshold"])
    report.failures.extend(failures)
    return groups


@action("split", Family.CURATION, "Split into train/val/test (any subsets, ratios or counts); "
        "near-duplicates and HQ/LQ partners stay in one subset",
        params=PARAMS, kind=WorkKind.CPU, destructive=True,
        examples=("dataset-forge --action split --input photos/ --output splits/",
                  "dataset-forge --action split --hq hq/ --lq lq/ --output splits/ --subsets "
                  "val=100,test=100,train=rest --by seed --seed 3 --apply",
                  "dataset-forge --action split --input photos/ --output splits/ --groups "
                  "reports/dedup_groups.json --mode hardlink --apply"))
def split(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Assign every file (HQ/LQ pair) to a subset, keeping each group of near-duplicates (found
    now with a perceptual hash, or read from a dedup report) in one subset so no picture leaks
    from train into validation. --by seed (default) deals exact sizes (with --stratify-level,
    to each folder separately); --by name keeps each file's subset as the dataset grows.
    Copies (or moves or links) into OUTPUT/SUBSET/... with --apply, and writes a file list per
    subset (SUBSET.csv)."""
    data = Dataset.from_params(params)
    try:
        subsets = sp.parse_subsets(params["subsets"])
    except ValueError as exc:
        raise UsageError(f"--subsets: {exc}") from None
    if subsets.counts is not None and params["by"] == "name":
        raise UsageError("--subsets with counts needs --by seed (exact sizes)")
    output: Path = params["output"]
    check_output(output, data.roots)
    report = Report("split", params)
    units = [(path, partner) for path, partner, _ in data.items
             if not data.pair_mode or partner is not None]
    left_out = [path for path, partner, _ in data.items if data.pair_mode and partner is None]
    paths = [path for path, _ in units]
    rels = [data.relative(p)[1] for p in paths]
    groups = _groups(ctx, params, paths, report)
    # the outcome counts the files split, however many hashes came from the cache
    ctx.tally("assigning subsets", ok=len(paths), failed=0, unit="images")
    labels = sp.link(len(paths), groups)
    strata = [sp.stratum(r, params["stratify_level"] if params["by"] == "seed" else 0)
              for r in rels]
    names = sp.assign(rels, labels, strata, subsets, by=params["by"], seed=params["seed"])

    sizes = collections.Counter(int(g) for g in labels)

    def build(plan) -> None:
        for (path, partner), rel, subset, g in zip(units, rels, names, labels):
            info = {"subset": subset, "group": rels[int(g)] if sizes[int(g)] > 1 else ""}
            plan.add(params["mode"], path, _destination(data, path, output, subset), unit=rel,
                     info=info)
            if partner is not None:
                plan.add(params["mode"], partner, _destination(data, partner, output, subset),
                         unit=rel, info=info)

    outcome = carry_out(ctx, report, params, build=build, state_dir=output,
                        info_columns=["subset", "group"],
                        manifest_params={**params, "dest": output})
    if not outcome.refused:
        _subset_lists(ctx, report, data, units, rels, names, labels,
                      output if outcome.applied else ctx.report_dir)
    _summarise(ctx, report, subsets, names, labels, units, rels, left_out, data, output)
    return report


def _subset_lists(ctx, report, data, units, rels, names, labels, folder: Path) -> None:
    """SUBSET.csv per subset: the files in it, their LQ partners and duplicate group."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = ["path", "lq", "group"]
    writers = {name: RowWriter(folder / f"{name}.csv", columns) for name in sorted(set(names))}
    try:
        for (path, partner), rel, name, g in zip(units, rels, names, labels):
            writers[name].write({"path": rel, "group": rels[int(g)],
                                 "lq": data.relative(partner)[1] if partner else ""})
    finally:
        for name, writer in writers.items():
            writer.close()
            report.files[f"subset_{name}"] = str(writer.path)


def _summarise(ctx, report, subsets, names, labels, units, rels, left_out, data, output) -> None:
    counts = collections.Counter(names)
    total = len(names)
    members: dict[int, list[int]] = collections.defaultdict(list)
    for i, g in enumerate(labels):
        members[int(g)].append(i)
    dup_groups = [idx for idx in members.values() if len(idx) > 1]
    report.summary.update({
        "files": total, "pairs": total if data.pair_mode else None,
        "duplicate_groups": len(dup_groups),
        "files_in_duplicate_groups": sum(len(g) for g in dup_groups),
        "left_out_unpaired": len(left_out) if data.pair_mode else None,
        "subsets": {n: counts.get(n, 0) for n in subsets.names}})
    targets = subsets.targets(total) if total else [0] * len(subsets.names)
    report.tables.insert(0, Table("Subsets", ["subset", "files", "share", "target"],
                                  [[n, counts.get(n, 0),
                                    f"{counts.get(n, 0) / total:.1%}" if total else "-", t]
                                   for n, t in zip(subsets.names, targets)]))
    if left_out:
        report.findings.append({"note": f"{len(left_out)} file(s) without a partner were left "
                                        "out of the split"})
        report.tables.append(Table(f"Left out: no partner ({len(left_out)})", ["file"],
                                   [[str(p)] for p in left_out[:MAX_GROUPS_SHOWN]]))
    if dup_groups:
        report.tables.append(Table(
            f"Near-duplicate groups kept together (first "
            f"{min(len(dup_groups), MAX_GROUPS_SHOWN)} of {len(dup_groups)})",
            ["subset", "files"], [[names[g[0]], ", ".join(rels[i] for i in g)]
                                  for g in dup_groups[:MAX_GROUPS_SHOWN]]))
    def picture(i: int) -> Path:   # after --mode move, the file is in its subset
        path = units[i][0]
        return path if path.exists() else _destination(data, path, output, names[i])
    shown = [{"path": picture(i), "caption": f"{names[i]}: {rels[i]}"}
             for g in dup_groups[:MAX_GROUPS_SHOWN // 2] for i in g]
    sections = [hr.section("Near-duplicates kept in one subset", grid(ctx, shown),
                           note="each group's files share a subset")] if shown else []
    write_page(ctx, report, "Split", sections)
