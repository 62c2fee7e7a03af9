"""`export`: LMDB (BasicSR layout), WebDataset tar shards, Parquet / JSON-lines manifests and a
`stats.json`, from a folder, an HQ/LQ pair set or the subsets that `split` writes.

Work is cut into shards (by bytes and/or sample count); shards run in parallel through `ctx.map`
and are journaled when finished, so a killed export resumes at the next unfinished shard. Files
are stored byte for byte unless `--reencode png` is asked for.
"""
from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

from ..context import RunContext
from ..errors import UsageError
from ..export import lmdbio
from ..export.assemble import BASE_COLUMNS, assemble
from ..export.columns import ExtraColumns
from ..export.inputs import SUBSET_MODES, Subset, find_subsets
from ..export.plan import Shard, plan_shards
from ..export.stats import StatsAccumulator, provenance, stats_document
from ..export.worker import PARTS_DIR, ExportConfig, export_shard
from ..io import Journal, atomic_write, check_output, fingerprint, remove_leftover_temporaries
from ..parallel import Failure, WorkKind
from ..reports.report import Report, Table
from .common import HQ, INCLUDE_HIDDEN, LQ, SEED
from .registry import Family, Param, action

FORMATS = ("lmdb", "webdataset", "parquet", "jsonl")
MIB = 1 << 20

PARAMS = [
    Param("input", "dir", help="folder of images, a pair set (hq/ + lq/ inside) or a folder of "
          "subsets written by split (never modified)"),
    HQ, LQ,
    Param("output", "path", help="new folder for the export (one sub-folder per subset)",
          required=True),
    Param("formats", "list", ["webdataset", "parquet"], "what to write, comma-separated: "
          + ", ".join(FORMATS)),
    Param("subsets", "choice", "auto", "treat --input's sub-folders as subsets (auto: when it "
          "looks like split's output)", choices=SUBSET_MODES),
    Param("shard_size", "int", 256, "shard target size in MiB of stored bytes", min=1),
    Param("shard_samples", "int", 0, "at most this many samples per shard (0: no limit)", min=0),
    Param("shuffle", "bool", False, "shuffle samples across shards (seeded by --seed)"),
    SEED,
    Param("reencode", "choice", "none", "none stores each file's bytes as they are; png "
          "re-encodes losslessly (BasicSR's habit)", choices=("none", "png")),
    Param("png_level", "int", 1, "PNG compression level with --reencode png", min=0, max=9),
    Param("verify", "bool", False, "decode every image in full before storing it (catches "
          "truncated files; slower)"),
    Param("metadata", "bool", True, "a JSON member with each sample's facts in WebDataset shards"),
    Param("columns_from", "list", [], "CSV reports whose columns join the manifest by file path "
          "(e.g. quality.csv, dedup groups), comma-separated"),
    INCLUDE_HIDDEN,
]


def _formats(raw: list[str]) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(f.lower() for f in raw))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UsageError(f"--formats {','.join(raw)!s}: each must be one of {', '.join(FORMATS)}")
    return wanted


def _earlier_exports(out: Path) -> list[Path]:
    return sorted((out / "webdataset").glob("*.tar")) + sorted(out.glob("*.lmdb"))


def _fresh_start(out: Path) -> None:
    """Remove what an earlier export (journaled here, other parameters) left in `out`."""
    for path in _earlier_exports(out):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    shutil.rmtree(out / PARTS_DIR, ignore_errors=True)


def _map_size(total: int, reencode: str) -> int:
    return max(256 * MIB, total * (10 if reencode == "png" else 2))


@action("export", Family.EXPORT, "Write training-ready LMDB, WebDataset shards, Parquet/JSONL "
        "manifests and stats.json", params=PARAMS, kind=WorkKind.IO, writes=True, unit="samples",
        examples=("dataset-forge --action export --hq data/hq --lq data/lq --output export/ "
                  "--formats lmdb",
                  "dataset-forge --action export --input split/ --output export/ "
                  "--formats webdataset,parquet --shard-size 512"))
def export(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Export each subset to OUTPUT (or OUTPUT/<subset>): `webdataset/<subset>-000000.tar`,
    `hq.lmdb` + `lq.lmdb` (or `images.lmdb`) with `meta_info.txt`, `manifest.parquet` /
    `manifest.jsonl`, and `stats.json`. Unreadable files are skipped and reported; a rerun
    of the same command resumes at the first unfinished shard."""
    formats = _formats(params["formats"])
    out_root: Path = params["output"]
    check_output(out_root, (params["input"], params["hq"], params["lq"]))
    subsets = find_subsets(params["input"], params["hq"], params["lq"],
                           mode=params["subsets"], include_hidden=params["include_hidden"])
    extra = ExtraColumns.load(params["columns_from"], taken=tuple(BASE_COLUMNS))
    report = Report("export", params)
    rows = []
    try:
        for subset in subsets:
            if ctx.cancelled:
                break
            rows.append(_export_subset(ctx, report, subset, formats, extra, params))
    finally:
        lmdbio.close_writers()
    report.summary = {"subsets": len(rows), "samples": sum(r["samples"] for r in rows),
                      "files": sum(r["files"] for r in rows),
                      "bytes": sum(r["bytes"] for r in rows),
                      "shards": sum(r["shards"] for r in rows),
                      "done_earlier": sum(r["done_earlier"] for r in rows),
                      "failed": len(report.failures), "formats": list(formats)}
    # the passes count shards; the outcome counts samples (failures are files left out)
    ctx.tally("samples", ok=report.summary["samples"], failed=len(report.failures),
              unit="samples")
    report.tables = [Table("Export", ["subset", "samples", "files", "bytes", "shards",
                                      "done earlier", "folder"],
                           [[r["subset"] or "-", r["samples"], r["files"], r["bytes"],
                             r["shards"], r["done_earlier"], r["folder"]] for r in rows])]
    return report


def _export_subset(ctx: RunContext, report: Report, subset: Subset, formats: tuple[str, ...],
                   extra: ExtraColumns, params: dict[str, Any]) -> dict[str, Any]:
    out = params["output"] / subset.name if subset.name else params["output"]
    out.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporaries(out)   # what a hard-killed earlier run was writing
    for path in subset.unpaired:
        report.findings.append({"path": str(path), "finding": "no partner; skipped"})
    dotted = [s.key for s in subset.samples if "." in s.key.rsplit("/", 1)[-1]]
    if dotted and "lmdb" in formats:
        report.findings.append({"path": dotted[0], "finding": f"{len(dotted)} name(s) contain a "
                                "dot: BasicSR reads an LMDB key up to the first dot, rename "
                                "them before training with BasicSR"})
    shards, digest = plan_shards(subset.samples, max_bytes=params["shard_size"] * MIB,
                                 max_samples=params["shard_samples"],
                                 shuffle_seed=params["seed"] if params["shuffle"] else None)
    cfg = ExportConfig(out, subset.name, subset.roots, formats, params["reencode"],
                       params["png_level"], params["verify"], params["metadata"],
                       _map_size(sum(s.bytes for s in shards), params["reencode"]))
    shaping = {k: params[k] for k in ("shard_size", "shard_samples", "shuffle", "seed",
                                      "reencode", "png_level", "verify", "metadata")}
    journal_path = out / ".forge-journal" / "export.jsonl"
    ours = journal_path.exists()
    if not ours and _earlier_exports(out):
        raise UsageError(f"--output {out} already holds LMDB or WebDataset files that no "
                         "export journaled here; choose a new folder")
    journal = Journal(journal_path, fingerprint(
        {**shaping, "formats": formats, "plan": digest,
         "roots": {r: str(Path(p).resolve()) for r, p in subset.roots.items()}}))
    if len(journal) == 0:
        _fresh_start(out)
    done_earlier = sum(1 for s in shards if journal.done(s.name))
    pending = [s for s in shards if not journal.done(s.name)]
    label = f"export {subset.name}".strip()
    complete = True
    with journal:
        for shard in shards:
            if journal.done(shard.name):
                _add_failures(report, journal.info(shard.name)["failures"])
        for outcome in ctx.map(functools.partial(export_shard, cfg), pending, label=label,
                               unit="shards"):
            if not outcome.ok:
                complete = False
                report.add_failure(outcome.error)
                continue
            _add_failures(report, outcome.value["failures"])
            journal.mark(outcome.item.name, outcome.value)
    complete = complete and not ctx.cancelled
    stats = StatsAccumulator()
    if complete:
        compression = params["png_level"] if params["reencode"] == "png" else 0
        written = assemble(cfg, shards, extra, stats, compression)
        doc = stats_document(
            subset=subset.name, kind=subset.kind, roots=subset.roots, stats=stats,
            failed=sum(len(journal.info(s.name)["failures"]) for s in shards),
            outputs=_outputs(cfg, shards, journal, written), params=shaping | {
                "formats": list(formats)}, sources=provenance(_provenance_folders(subset)))
        with atomic_write(out / "stats.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
        report.files[f"stats{'_' + subset.name if subset.name else ''}"] = str(out / "stats.json")
    else:
        report.findings.append({"path": str(out), "finding": "export incomplete: rerun the same "
                                "command to finish the remaining shards"})
    summary = stats.to_dict()
    return {"subset": subset.name, "samples": summary["samples"], "files": summary["files"],
            "bytes": summary["stored_bytes"], "shards": len(shards),
            "done_earlier": done_earlier, "folder": str(out)}


def _add_failures(report: Report, failures: list[list[str]]) -> None:
    for item, error_type, message in failures:
        report.add_failure(Failure(item, error_type, message))


def _outputs(cfg: ExportConfig, shards: list[Shard], journal: Journal,
             written: list[Path]) -> dict[str, Any]:
    outputs: dict[str, Any] = {"files": [str(p.relative_to(cfg.out)) for p in written]}
    if "webdataset" in cfg.formats:
        outputs["webdataset"] = [{"tar": f"webdataset/{journal.info(s.name)['tar']}",
                                  "samples": journal.info(s.name)["samples"],
                                  "bytes": journal.info(s.name)["bytes"]} for s in shards]
    if "lmdb" in cfg.formats:
        outputs["lmdb"] = {role: cfg.lmdb_path(role).name for role in cfg.roots}
    return outputs


def _provenance_folders(subset: Subset) -> list[Path]:
    """Where the reports of the actions that made this data sit: the folder itself (or the
    pair set's folder, e.g. make-lq's OUTPUT), and for a subset the folder split wrote."""
    roots = [Path(r) for r in subset.roots.values()]
    folders = [r.parent for r in roots] if subset.kind == "pairs" else roots
    if subset.name:
        folders += [f.parent for f in folders]
    return list(dict.fromkeys(folders))
