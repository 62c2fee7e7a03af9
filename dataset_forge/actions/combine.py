"""`combine`: merge several folders (or HQ/LQ pair sets) into one, with a collision policy and a
provenance CSV.

The engine is `dataset_forge.curation.combine` (collisions) and the family's plan / check /
apply flow (`curation.flow`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..analysis.header import read_header
from ..context import RunContext
from ..curation.combine import POLICIES, Merger
from ..curation.dataset import Dataset
from ..curation.flow import carry_out, write_plan_page
from ..errors import UsageError
from ..io import check_output
from ..io.pairs import pair_key
from ..parallel import WorkKind
from ..reports.report import Report, RowWriter, Table
from .common import APPLY, INCLUDE_HIDDEN
from .registry import Family, Param, action

MODES = ("copy", "move", "hardlink", "symlink")
PROVENANCE = ["output", "lq_output", "source_folder", "original", "lq_original", "status"]

PARAMS = [
    Param("inputs", "list", [], "folders to merge, comma-separated, in order of precedence "
          "(one folder is staged: copied or linked as it is)", required=True),
    Param("output", "path", help="new folder that receives every input", required=True),
    Param("pairs", "bool", False, "each input is an HQ/LQ pair set with sub-folders --hq-name "
          "and --lq-name; partners are merged (and renamed) together"),
    Param("hq_name", "str", "hq", "pair sets: the HQ sub-folder of each input and the output"),
    Param("lq_name", "str", "lq", "pair sets: the LQ sub-folder of each input and the output"),
    Param("collisions", "choice", "rename", "same relative name (extension aside) in two "
          "inputs: skip (the first input wins), rename (suffix _1, _2, ...), keep-larger "
          "(more pixels, then bytes)", choices=POLICIES),
    Param("mode", "choice", "copy", "how files reach the output", choices=MODES),
    APPLY, INCLUDE_HIDDEN,
]


def _datasets(params: dict[str, Any]) -> list[tuple[Path, Dataset]]:
    folders = [Path(f).expanduser() for f in params["inputs"]]
    if not folders:
        raise UsageError("--inputs: give the folders to combine")
    out = []
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"--inputs {folder}: no such folder")
    _refuse_overlap(folders)
    for folder in folders:
        if params["pairs"]:
            hq, lq = folder / params["hq_name"], folder / params["lq_name"]
            if not hq.is_dir() or not lq.is_dir():
                raise UsageError(f"--inputs {folder}: a pair set needs {params['hq_name']}/ "
                                 f"and {params['lq_name']}/ inside")
            sub = {"hq": hq, "lq": lq}
        else:
            sub = {"input": folder}
        data = Dataset.from_params({**sub, "include_hidden": params["include_hidden"]})
        if not data.items:
            raise UsageError(f"--inputs {folder}: no images found")
        out.append((folder, data))
    return out


def _refuse_overlap(folders: list[Path]) -> None:
    """The same folder twice, or one inside another, would plan every shared file twice."""
    resolved = [f.resolve() for f in folders]
    for i, a in enumerate(resolved):
        for j, b in enumerate(resolved[i + 1:], i + 1):
            if a == b or a.is_relative_to(b) or b.is_relative_to(a):
                how = "is the same folder as" if a == b else "overlaps"
                raise UsageError(f"--inputs {folders[i]} {how} {folders[j]}: each file would be "
                                 "combined twice; give each folder once")


class _OnDisk:
    """Stems already in the output (a folder listing each, read once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[Path, set[str]] = {}

    def __call__(self, key: str) -> bool:
        folder = (self.root / key).parent
        if folder not in self._seen:
            try:
                self._seen[folder] = {Path(n).stem for n in os.listdir(folder)}
            except OSError:
                self._seen[folder] = set()
        return Path(key).name in self._seen[folder]


def _pixels_then_bytes(path: Path) -> tuple[int, int]:
    try:
        facts = read_header(path)
        return facts["width"] * facts["height"], facts["bytes"]
    except Exception:  # noqa: BLE001 - an unreadable file never wins
        return -1, -1


@action("combine", Family.CURATION, "Merge several folders or HQ/LQ pair sets into one, "
        "with a collision policy and a provenance CSV",
        params=PARAMS, kind=WorkKind.IO, destructive=True,
        examples=("dataset-forge --action combine --inputs set_a/,set_b/ --output merged/",
                  "dataset-forge --action combine --inputs a/,b/ --pairs --output merged/ "
                  "--collisions keep-larger --apply"))
def combine(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Copy (or move or link) every file of every input into --output, keeping relative paths.
    Files whose relative paths match except for the extension collide: --collisions decides
    (skip, rename with a suffix, keep the larger). Pair sets (--pairs) merge HQ/ and LQ/
    together, partners renamed in lockstep. combine_provenance.csv says where each output file
    came from, and what a collision kept out."""
    sources = _datasets(params)
    output: Path = params["output"]
    check_output(output, [f for f, _ in sources])
    pairs = params["pairs"]
    report = Report("combine", params)
    hq_out = output / params["hq_name"] if pairs else output
    lq_out = output / params["lq_name"] if pairs else None
    merger = Merger(params["collisions"], _OnDisk(hq_out), _pixels_then_bytes)
    left_out = 0
    for folder, data in sources:
        for path, partner, _ in data.items:
            if pairs and partner is None:
                left_out += 1
                continue
            merger.offer(str(folder), pair_key(path, data.roots[0]), path, partner)
    placed = merger.placed

    def destinations(item) -> tuple[Path, Path | None]:
        dst = hq_out / (item.key + item.path.suffix)
        lq = lq_out / (item.key + item.partner.suffix) if item.partner is not None else None
        return dst, lq

    def build(plan) -> None:
        for item in placed:
            dst, lq = destinations(item)
            plan.add(params["mode"], item.path, dst, unit=item.key,
                     info={"status": item.status})
            if lq is not None:
                plan.add(params["mode"], item.partner, lq, unit=item.key,
                         info={"status": item.status})

    outcome = carry_out(ctx, report, params, build=build, state_dir=output,
                        info_columns=["status"], manifest_params={**params, "dest": output})
    folder = output if outcome.applied else ctx.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    with RowWriter(folder / "combine_provenance.csv", PROVENANCE) as rows:
        for item in placed + merger.skipped:
            dst, lq = destinations(item)
            skipped = item.status.startswith("skipped")
            rows.write({"output": "" if skipped else dst, "lq_output": "" if skipped else lq or "",
                        "source_folder": item.source, "original": item.path,
                        "lq_original": item.partner or "", "status": item.status})
    report.files["provenance_csv"] = str(rows.path)
    renamed = sum(1 for i in placed if i.status == "renamed")
    report.summary.update({"inputs": len(sources), "files": len(placed), "renamed": renamed,
                           "collisions_skipped": len(merger.skipped),
                           "left_out_unpaired": left_out if pairs else None})
    if merger.skipped:
        report.tables.append(Table(f"Kept out by a collision ({len(merger.skipped)})",
                                   ["file", "why"], [[str(i.path), i.status]
                                                     for i in merger.skipped[:40]]))
    write_plan_page(ctx, report, "Combine", outcome)
    return report
