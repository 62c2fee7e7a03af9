"""`fix-pairs`: make real-world HQ/LQ pairs usable: exact integer scale (trim or pad), small
translations cropped away, partners with different names matched by name or by picture.

The engine is `dataset_forge.curation.pairfix` (measure, fit, crop, write) and
`curation.matching` (fuzzy names, thumbnails); the pairs are measured on the parallel core.
"""
from __future__ import annotations

import collections
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..analysis.htmlparts import grid, write_page
from ..context import RunContext
from ..curation.flow import params_fingerprint
from ..curation.matching import image_matches, name_matches
from ..curation.pairfix import FixJob, fix_pair
from ..io import Journal, check_output, pair_folders
from ..io.pairs import pair_key
from ..io.undo import UndoManifest
from ..parallel import Failure, WorkKind
from ..reports import html as hr
from ..reports.report import Report, RowWriter, Table
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ, MAX_PIXELS
from .registry import Family, Param, action

COLUMNS = ["hq", "lq", "matched_by", "match_score", "scale", "status", "fix", "hq_size",
           "lq_size", "out_hq_size", "out_lq_size", "shift_x", "shift_y", "residual_x",
           "residual_y", "reason", "note", "out_hq", "out_lq"]
MAX_SHOWN = 30

PARAMS = [
    replace(HQ, required=True), replace(LQ, required=True),
    Param("output", "path", help="new folder for the usable pairs (OUTPUT/hq, OUTPUT/lq)",
          required=True),
    Param("scale", "int", 0, "the pairs' integer scale; 0 = each pair's nearest", min=0),
    Param("fit", "choice", "trim", "HQ a few pixels off LQ x scale: trim HQ (and LQ) at the "
          "right and bottom edges, or pad a short HQ by repeating its edge pixels",
          choices=("trim", "pad")),
    Param("align", "bool", True, "measure the translation between HQ and LQ (phase "
          "correlation, sub-pixel) and crop both to their overlap"),
    Param("max_shift", "float", 8.0, "LQ pixels: pairs shifted further are reported, not fixed",
          min=0),
    Param("min_shift", "float", 0.5, "LQ pixels: smaller measured shifts are left alone (a "
          "fraction of a pixel from how LQ was resized is not worth a row of LQ pixels); 0 "
          "corrects every whole HQ pixel", min=0),
    Param("pixel_tolerance", "float", 3.0, "LQ pixels: how far LQ may be off HQ / scale and "
          "still be fitted", min=0),
    Param("match", "choice", "both", "pair files whose names differ: by fuzzy names, by "
          "pictures (16x16 thumbnails), both (names first), or off",
          choices=("both", "names", "images", "off")),
    Param("min_name_ratio", "float", 0.8, "fuzzy names: smallest similarity (0 to 1) after "
          "dropping tags such as _x4, lr, lq", min=0, max=1),
    Param("min_image_correlation", "float", 0.9, "pictures: smallest correlation of the "
          "thumbnails (-1 to 1)", min=-1, max=1),
    MAX_PIXELS, APPLY, INCLUDE_HIDDEN,
]


def _pairs(ctx: RunContext, params: dict[str, Any]) -> tuple[list[tuple[Path, Path, str, Any]],
                                                              list[Path], list[Path]]:
    """(hq, lq, matched_by, score) for every pair, then the HQ and LQ files left alone."""
    hq_root, lq_root = params["hq"], params["lq"]
    pairing = pair_folders(hq_root, lq_root, include_hidden=params["include_hidden"])
    pairs = [(h, l, "path", "") for h, l in pairing.pairs]
    lone_hq, lone_lq = list(pairing.missing_lq), list(pairing.missing_hq)
    if params["match"] in ("both", "names") and lone_hq and lone_lq:
        hq_by = {pair_key(p, hq_root): p for p in lone_hq}
        lq_by = {pair_key(p, lq_root): p for p in lone_lq}
        for hk, lk, score in name_matches(list(hq_by), list(lq_by), params["min_name_ratio"]):
            pairs.append((hq_by[hk], lq_by[lk], "name", score))
            lone_hq.remove(hq_by[hk])
            lone_lq.remove(lq_by[lk])
    if params["match"] in ("both", "images") and lone_hq and lone_lq:
        found = image_matches(ctx, lone_hq, lone_lq, params["min_image_correlation"])
        for i, j, score in found:
            pairs.append((lone_hq[i], lone_lq[j], "image", score))
        used_hq, used_lq = {i for i, _, _ in found}, {j for _, j, _ in found}
        lone_hq = [p for i, p in enumerate(lone_hq) if i not in used_hq]
        lone_lq = [p for j, p in enumerate(lone_lq) if j not in used_lq]
    return sorted(pairs, key=lambda p: p[0]), lone_hq, lone_lq


def _same_run(journal: Path, fingerprint: str) -> bool:
    """Whether an earlier run of this very command left its journal (it was interrupted)."""
    try:
        with open(journal, encoding="utf-8") as fh:
            return json.loads(fh.readline()).get("fingerprint") == fingerprint
    except (OSError, ValueError, AttributeError):
        return False


@action("fix-pairs", Family.CURATION, "Make real-world HQ/LQ pairs usable: trim or pad to an "
        "exact scale, crop away small shifts, match partners whose names differ",
        params=PARAMS, kind=WorkKind.CPU, destructive=True, unit="pairs",
        examples=("dataset-forge --action fix-pairs --hq hq/ --lq lq/ --output fixed/",
                  "dataset-forge --action fix-pairs --hq hq/ --lq lq/ --output fixed/ --scale 4 "
                  "--fit pad --apply",
                  "dataset-forge --action fix-pairs --hq hq/ --lq lq/ --output fixed/ --match "
                  "names --no-align --apply"))
def fix_pairs(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Pair HQ and LQ by relative path and stem, then match the rest by fuzzy names and by
    pictures. For each pair: fit HQ to exactly LQ x scale (trim at the right and bottom, or pad),
    measure the translation (sub-pixel phase correlation) and crop both to their overlap,
    measuring the residual. The dry run writes fix_pairs.csv (the pairing and every planned fix)
    to check first; --apply writes the pairs into OUTPUT/hq and OUTPUT/lq (LQ named after its
    HQ partner; unchanged files copied byte for byte, changed ones re-encoded in their format,
    JPEG with its own quantisation tables), resumable, with an undo manifest. Pairs that cannot
    be fixed and files left without a partner are listed."""
    output: Path = params["output"]
    check_output(output, [params["hq"], params["lq"]])
    report = Report("fix-pairs", params)
    pairs, lone_hq, lone_lq = _pairs(ctx, params)
    apply = params["apply"]
    manifest = ctx.report_dir / "fix-pairs_undo.jsonl" if apply else None
    jobs, meta = [], []
    for hq, lq, how, score in pairs:
        key = pair_key(hq, params["hq"])
        out_hq = output / "hq" / hq.relative_to(params["hq"])
        out_lq = output / "lq" / (key + lq.suffix)
        jobs.append(FixJob(hq, lq, out_hq, out_lq, params["scale"], params["fit"],
                           params["align"], params["max_shift"], params["min_shift"],
                           params["pixel_tolerance"],
                           apply, params["max_pixels"], manifest))
        meta.append({"hq": key + hq.suffix, "lq": str(lq.relative_to(params["lq"])),
                     "matched_by": how, "match_score": score, "out_hq": str(out_hq),
                     "out_lq": str(out_lq)})
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    statuses: collections.Counter = collections.Counter()
    shown: list[dict[str, Any]] = []
    journal = None
    resuming = False
    if apply:
        path, fp = output / ".forge-journal" / "fix-pairs.jsonl", params_fingerprint(params)
        resuming = _same_run(path, fp)   # outputs not journaled yet are an interrupted run's
        journal = Journal(path, fp)
        # the header now; workers log each output in it just before writing it
        UndoManifest(manifest, "fix-pairs", {**params, "dest": output}).close()
        report.files["undo_manifest"] = str(manifest)
    try:
        todo = []
        with RowWriter(ctx.report_dir / "fix_pairs.csv", COLUMNS) as rows:
            for job, info in zip(jobs, meta):
                if journal is not None and journal.done(info["hq"]) and \
                        job.out_hq.exists() and job.out_lq.exists():   # not undone since
                    rows.write({**info, **journal.info(info["hq"])})
                    statuses["already done"] += 1
                    continue
                if apply and not resuming and (job.out_hq.exists() or job.out_lq.exists()):
                    report.add_failure(Failure(str(job.out_hq), "exists",
                                               "an output is already there (not overwritten)"))
                    continue
                todo.append((job, info))
            for outcome in ctx.map(fix_pair, [j for j, _ in todo], label="pairs",
                                   unit="pairs"):
                job, info = todo[outcome.index]
                if not outcome.ok:
                    report.add_failure(outcome.error)
                    continue
                row = {**info, **outcome.value}
                rows.write(row)
                statuses[row["status"]] += 1
                if row["status"] == "unfixable":
                    report.add_failure(Failure(info["hq"], "unfixable", row["reason"]))
                if journal is not None and row["status"] != "unfixable":
                    journal.mark(info["hq"], {k: v for k, v in row.items()
                                              if k not in ("hq_sha256", "lq_sha256")})
                if row["status"] != "ok" and len(shown) < MAX_SHOWN:
                    shown.append((job, row))
        report.files["pairs_csv"] = str(rows.path)
    finally:
        if journal is not None:
            journal.close()
    _summarise(ctx, report, params, pairs, lone_hq, lone_lq, statuses, shown)
    return report


def _summarise(ctx, report, params, pairs, lone_hq, lone_lq, statuses, shown) -> None:
    matched = collections.Counter(how for _, _, how, _ in pairs)
    report.summary.update({
        "pairs": len(pairs), "matched_by_name": matched["name"],
        "matched_by_picture": matched["image"], "fixed": statuses["fixed"],
        "unchanged": statuses["ok"], "unfixable": statuses["unfixable"],
        "already_done": statuses["already done"], "hq_without_partner": len(lone_hq),
        "lq_without_partner": len(lone_lq), "dry_run": not params["apply"]})
    if not params["apply"]:
        note = (f"dry run: check fix_pairs.csv; --apply writes {len(pairs)} pair(s) into "
                f"{params['output']}")
        report.summary["next_step"] = note
        report.findings.append({"note": note})
    renamed = [[str(h.relative_to(params["hq"])), str(l.relative_to(params["lq"])), how, score]
               for h, l, how, score in pairs if how != "path"]
    if renamed:
        report.tables.append(Table(f"Partners matched by name or picture ({len(renamed)})",
                                   ["hq", "lq", "matched by", "score"], renamed[:MAX_SHOWN]))
    lonely = [["HQ", str(p)] for p in lone_hq] + [["LQ", str(p)] for p in lone_lq]
    if lonely:
        report.findings.append({"note": f"{len(lonely)} file(s) without a partner"})
        report.tables.append(Table(f"No partner ({len(lonely)})", ["side", "file"],
                                   lonely[:MAX_SHOWN]))
    if shown:
        report.tables.append(Table("Fixed or unfixable (first pairs)", ["hq", "status", "fix",
                                                                       "residual"],
                                   [[r["hq"], r["status"], r.get("fix") or r.get("reason"),
                                     f'{r.get("residual_x", "")},{r.get("residual_y", "")}']
                                    for _, r in shown]))
    items = []
    for job, row in shown:
        written = params["apply"] and row["status"] != "unfixable"
        caption = row.get("fix") or row.get("reason") or ""
        items.append({"path": job.out_hq if written else job.hq, "highlight": True,
                      "caption": f'HQ {row["hq"]}: {row["status"]}: {caption}'})
        items.append({"path": job.out_lq if written else job.lq, "caption": f'LQ {row["lq"]}'})
    sections = [hr.section("Pairs fixed or not fixable", grid(ctx, items, limit=2 * MAX_SHOWN))
                ] if items else []
    write_page(ctx, report, "Fix pairs", sections)
