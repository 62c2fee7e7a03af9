"""`dedup`: find exact and near-duplicate images, group them, keep one per group by a policy,
and (with --apply) move, copy, link or trash the rest, writing an undo manifest.

The engine lives in `dataset_forge.dedup`: methods (exact, perceptual hashes, CLIP), the scalable
pair search, groups and keep policies, the feature cache, file operations and outputs.
"""
from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..context import RunContext
from ..dedup.cache import FeatureCache
from ..dedup.catalog import Catalog, build_catalog, member_facts
from ..dedup.clip import DEFAULT_MODEL, DEFAULT_WEIGHTS, ClipEmbedding
from ..dedup.exact import ExactHash
from ..dedup.features import encode_all
from ..dedup.flat import drop_rows, find_flat, pixel_pairs
from ..dedup.fileops import MODES, FileOp, perform, plan_ops
from ..dedup.groups import KEEP_POLICIES, Member, choose_keep, connected_groups
from ..dedup.index import Pairs
from ..dedup.lpips_verify import NETS, LpipsVerifier
from ..dedup.outputs import (GroupRecord, write_groups_csv, write_groups_json, write_html,
                             write_pairs_csv)
from ..dedup.perceptual import HASHES, PerceptualHash
from ..errors import UsageError
from ..io import check_output
from ..parallel import Failure, WorkKind
from ..reports.report import Report, RowWriter, Table
from ..io.undo import UndoManifest, sha256_of
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ, OUTPUT
from .registry import Family, Param, action

METHODS = ("exact", *HASHES, "clip")
VERIFIERS = ("none", "clip", "lpips")
MAX_TABLE_ROWS = 40
DEFAULT_INVARIANT = True    # measured: F1 0.775 vs 0.683 at equal precision (benchmarks/RESULTS.md)

PARAMS = [
    Param("input", "dir", help="folder of images to deduplicate (or use --hq/--lq)"),
    HQ, LQ,
    Param("method", "choice", "phash", "how images are compared: exact bytes, a perceptual "
          "hash (phash, dhash, ahash, whash) or CLIP embeddings", choices=METHODS),
    Param("threshold", "float", None, "closeness for a pair: the largest Hamming distance for "
          "hashes (default 10 for 64-bit hashes, scaled by --hash-size), the smallest cosine "
          "similarity for clip (default 0.95)", min=0),
    Param("hash_size", "int", 8, "perceptual hash side: 8 gives 64-bit hashes", min=4, max=32),
    Param("pixels", "bool", False, "exact method: compare decoded pixels instead of bytes "
          "(same picture saved with other metadata or another lossless format)"),
    Param("invariant", "bool", DEFAULT_INVARIANT, "also match mirrored and 90-degree rotated "
          "copies (hashes only)"),
    Param("verify", "choice", "none", "confirm each candidate pair with a second tier",
          choices=VERIFIERS),
    Param("verify_threshold", "float", None, "verifier's bound: smallest CLIP similarity "
          "(default 0.95) or largest LPIPS distance (default 0.3)", min=0),
    Param("clip_model", "str", DEFAULT_MODEL, "open_clip model name, or a model-config .json"),
    Param("clip_weights", "str", DEFAULT_WEIGHTS, "open_clip pretrained tag, or a local weights "
          "file (for machines without internet)"),
    Param("lpips_net", "choice", "alex", "LPIPS backbone", choices=NETS),
    Param("lpips_weights", "str", "", "local torchvision backbone weights for LPIPS (default: "
          "torchvision's download cache)"),
    Param("batch_size", "int", 0, "model batch size (0 = from free memory)", min=0),
    Param("keep", "choice", "resolution", "which file of a group is kept", choices=KEEP_POLICIES),
    Param("reference", "dir", help="folder whose files are compared but never touched (always "
          "kept)"),
    Param("against", "dir", help="existing collection to check the input against; its "
          "duplicates among themselves are not reported, its files never touched"),
    Param("choices", "file", help="JSON of groups with the file to keep (the app's review "
          "screen writes dedup_choices.json); overrides --keep for those groups"),
    Param("mode", "choice", "report", "what happens to the files not kept: report only, move to "
          "--dest (keeping relative paths), copy/hardlink/symlink into --dest, or remove "
          "(system trash, or the --dest quarantine folder)", choices=MODES),
    Param("dest", "path", help="destination folder for move, copy, links or the quarantine"),
    APPLY,
    Param("cache", "str", "", "feature cache file; empty = the platform cache folder, off = "
          "no cache"),
    OUTPUT, INCLUDE_HIDDEN,
]


def make_method(params: dict[str, Any]):
    name, threshold = params["method"], params["threshold"]
    if name == "exact":
        return ExactHash(pixels=params["pixels"])
    if name == "clip":
        if threshold is not None and threshold > 1:
            raise UsageError("--threshold for clip is a cosine similarity, at most 1")
        return ClipEmbedding(params["clip_model"], params["clip_weights"], threshold,
                             params["batch_size"])
    try:
        return PerceptualHash(name, params["hash_size"],
                              None if threshold is None else int(threshold), params["invariant"])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_params(params: dict[str, Any]) -> Path:
    root = params["hq"] or params["input"]
    if root is None:
        raise UsageError("give --input DIR (or --hq DIR with --lq DIR)")
    if params["lq"] and not params["hq"]:
        raise UsageError("--lq needs --hq")
    if params["mode"] in ("move", "copy", "hardlink", "symlink") and params["dest"] is None:
        raise UsageError(f"--mode {params['mode']} needs --dest DIR")
    for flag in ("against", "reference"):
        folder = params[flag]
        if folder is not None and Path(root).resolve().is_relative_to(Path(folder).resolve()):
            raise UsageError(f"the input {root} is inside --{flag} {folder}: every file would be "
                             f"protected; give --{flag} a folder that does not hold the input")
    if params["dest"] is not None:   # inside an input, the next scan would find them again
        check_output(params["dest"], (root, params["lq"], params["reference"], params["against"]),
                     "--dest")
    return Path(root)


# -- search ------------------------------------------------------------------------------------
def _verify(ctx: RunContext, params: dict[str, Any], catalog: Catalog, cache: FeatureCache,
            pairs: Pairs, report: Report) -> tuple[Pairs, np.ndarray | None]:
    """Keep the candidate pairs the second tier confirms; returns them with its scores."""
    if params["verify"] == "none" or len(pairs) == 0:
        return pairs, None
    bound = params["verify_threshold"]
    if params["verify"] == "clip":
        method = ClipEmbedding(params["clip_model"], params["clip_weights"], bound,
                               params["batch_size"])
        rows = np.unique(np.r_[pairs.i, pairs.j])
        enc = encode_all(method, ctx, [catalog.paths[r] for r in rows], cache)
        report.failures.extend(enc.failures)
        where = {int(rows[k]): n for n, k in enumerate(enc.rows)}
        ok = np.array([int(a) in where and int(b) in where for a, b in zip(pairs.i, pairs.j)], bool)
        pairs = pairs.take(ok)
        ia = np.array([where[int(a)] for a in pairs.i], np.int64)
        ib = np.array([where[int(b)] for b in pairs.j], np.int64)
        scores = method.score_pairs(enc.features, ia, ib)
        keep = scores >= method.min_similarity
    else:
        verifier = LpipsVerifier(params["lpips_net"], bound, params["lpips_weights"] or None,
                                 params["batch_size"])
        items = [(catalog.paths[a], catalog.paths[b]) for a, b in zip(pairs.i, pairs.j)]
        scores = np.full(len(pairs), np.inf, np.float32)
        for outcome in verifier.score(ctx, items):
            if outcome.ok:
                scores[outcome.index] = outcome.value
            else:
                report.add_failure(outcome.error)
        keep = verifier.accepts(scores)
    report.summary["candidate_pairs"] = len(pairs)
    return pairs.take(keep), scores[keep]


def _with_flat(ctx: RunContext, method: Any, catalog: Catalog, enc: Any, cache: FeatureCache,
               pairs: Pairs, report: Report) -> Pairs:
    """Flat images leave the hash/embedding pairs and are paired by identical pixels only;
    they are counted and listed (dedup_flat.csv)."""
    flat, failures = find_flat(method, ctx, catalog.paths, enc, cache)
    report.failures.extend(failures)
    if not isinstance(method, ExactHash):
        report.summary["too_flat"] = len(flat)
    if len(flat) == 0:
        return pairs
    same, failures = pixel_pairs(ctx, catalog.paths, flat, cache, catalog.first_query,
                                 1.0 if method.higher_is_closer else 0.0)
    report.failures.extend(failures)
    shown = [catalog.shown[r] for r in flat]
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    report.findings.append({"note": f"{len(shown)} image(s) too flat to compare perceptually "
                                    "(near-constant after transparency is shown over grey); "
                                    "they are grouped only with pixel-identical images "
                                    "(dedup_flat.csv)"})
    with RowWriter(ctx.report_dir / "dedup_flat.csv", ["file"]) as rows:
        rows.write_many({"file": f} for f in shown)
    report.files["flat_csv"] = str(ctx.report_dir / "dedup_flat.csv")
    report.tables.append(Table(f"Too flat to compare perceptually (first "
                               f"{min(len(shown), MAX_TABLE_ROWS)} of {len(shown)})",
                               ["file"], [[f] for f in shown[:MAX_TABLE_ROWS]]))
    return Pairs.concat([drop_rows(pairs, flat), same])


def _groups(ctx: RunContext, params: dict[str, Any], catalog: Catalog, pairs: Pairs,
            verify_scores: np.ndarray | None, preferred: set[str]) -> list[GroupRecord]:
    components = connected_groups(len(catalog), pairs)
    rows = [int(r) for g in components for r in g]
    facts = {}
    for outcome in ctx.map(member_facts, [catalog.paths[r] for r in rows], kind=WorkKind.IO,
                           label="file facts"):
        facts[rows[outcome.index]] = outcome.value if outcome.ok else (0, 0.0, 0, 0)
    records, position = [], {}
    for gid, comp in enumerate(components, 1):
        members = []
        for k, r in enumerate(comp):
            size, mtime, width, height = facts[int(r)]
            members.append(Member(catalog.shown[r], size, mtime, width, height,
                                  catalog.protected[r]))
            position[int(r)] = (gid - 1, k)
        record = GroupRecord(gid, members, choose_keep(members, params["keep"], preferred))
        record.partners = {k: str(catalog.partners[int(r)][0]) for k, r in enumerate(comp)
                           if int(r) in catalog.partners}
        records.append(record)
    for n, (a, b) in enumerate(zip(pairs.i, pairs.j)):
        g, ka = position[int(a)]
        _, kb = position[int(b)]
        v = None if verify_scores is None else float(verify_scores[n])
        records[g].pairs.append((ka, kb, float(pairs.score[n]), v))
    return records


def _preferred(params: dict[str, Any], root: Path) -> set[str]:
    """Paths the user chose to keep (the app's review screen), as shown in this run."""
    if params["choices"] is None:
        return set()
    try:
        data = json.loads(Path(params["choices"]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--choices {params['choices']}: cannot read ({exc})") from None
    groups = data.get("groups", data) if isinstance(data, dict) else data
    keep = {str(g.get("keep")) for g in groups if isinstance(g, dict) and g.get("keep")}
    out = set(keep)
    for k in keep:   # absolute paths under the input become relative, as they are shown
        p = Path(k)
        if p.is_absolute() and p.resolve().is_relative_to(root.resolve()):
            out.add(p.resolve().relative_to(root.resolve()).as_posix())
    return out


# -- acting on the files that are not kept -----------------------------------------------------
def _plan(params: dict[str, Any], catalog: Catalog, records: list[GroupRecord]) -> list[FileOp]:
    index = {s: r for r, s in enumerate(catalog.shown)}
    files: list[tuple[Path, Path]] = []
    owners: list[tuple[GroupRecord, int]] = []
    for g in records:
        for k, m in enumerate(g.members):
            if k in g.kept or m.protected:
                continue
            r = index[m.path]
            files.append((catalog.paths[r], catalog.dest_rel[r]))
            owners.append((g, k))
            if r in catalog.partners:
                files.append(catalog.partners[r])
                owners.append((g, -1))
    ops = plan_ops(files, params["mode"], params["dest"])
    for op, (g, k) in zip(ops, owners):
        if k >= 0:
            g.planned[k] = (op.op, str(op.dst or "system trash"))
    return ops


def _hash_and_size(item: tuple[Path, str | None]) -> tuple[str, int]:
    """(SHA-256, bytes) of a file; the digest is read only when the search did not give it."""
    path, known = item
    return known or sha256_of(path), path.stat().st_size


def _known_sha256(method: Any, catalog: Catalog, enc: Any) -> dict[Path, str]:
    """SHA-256 of the files the exact byte method already read (the undo manifest's digest)."""
    if not isinstance(method, ExactHash):
        return {}
    return {catalog.paths[r]: d for r, d in zip(enc.rows, method.file_sha256(enc.features))
            if d is not None}


def _apply(ctx: RunContext, ops: list[FileOp], params: dict[str, Any], report: Report,
           known: dict[Path, str]) -> None:
    counts: collections.Counter = collections.Counter()
    manifest_path = ctx.report_dir / "dedup_undo.jsonl"
    with UndoManifest(manifest_path, "dedup", params) as manifest:
        items = [(op.src, known.get(op.src)) for op in ops]
        for outcome in ctx.map(_hash_and_size, items, kind=WorkKind.IO, label="checksums"):
            op = ops[outcome.index]
            if ctx.cancelled:
                break
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            try:
                counts[perform(op, manifest, *outcome.value)] += 1
            except OSError as exc:
                report.add_failure(Failure(str(op.src), type(exc).__name__,
                                           f"{exc.strerror or exc} ({op.op})"))
    report.files["undo_manifest"] = str(manifest_path)
    report.summary["applied"] = dict(counts)


# -- the action --------------------------------------------------------------------------------
@action("dedup", Family.DEDUP, "Find exact and near-duplicate images; keep one per group",
        params=PARAMS, kind=WorkKind.CPU, destructive=True,
        examples=("dataset-forge --action dedup --input photos/",
                  "dataset-forge --action dedup --input photos/ --method exact --mode remove "
                  "--apply",
                  "dataset-forge --action dedup --hq hq/ --lq lq/ --mode move --dest dupes/ "
                  "--apply"))
def dedup(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Hash (or embed) every image, find pairs within the threshold with a scalable index,
    join them into groups, keep one file per group by --keep (reference and --against files are
    always kept), and write groups and pairs (JSON, CSV) and an HTML page of thumbnails.
    Nothing changes without --apply; an applied run writes dedup_undo.jsonl for
    `dataset-forge undo`. Features are cached, so a second run only reads new or changed files."""
    root = _check_params(params)
    method = make_method(params)
    report = Report("dedup", params)
    catalog = build_catalog(input=params["input"], hq=params["hq"], lq=params["lq"],
                            reference=params["reference"], against=params["against"],
                            include_hidden=params["include_hidden"])
    with FeatureCache.open(params["cache"]) as cache:
        enc = encode_all(method, ctx, catalog.paths, cache)
        report.failures.extend(enc.failures)
        first = int(np.searchsorted(enc.rows, catalog.first_query))
        found = method.find_pairs(enc.features, first_query=first)
        pairs = Pairs(enc.rows[found.i], enc.rows[found.j], found.score)
        pairs = _with_flat(ctx, method, catalog, enc, cache, pairs, report)
        report.summary.update({"images": len(catalog), "encoded": len(enc.rows),
                               "from_cache": enc.cached, "computed": enc.computed,
                               "method": method.key, "metric": method.metric})
        pairs, verify_scores = _verify(ctx, params, catalog, cache, pairs, report)
    known = _known_sha256(method, catalog, enc)
    records = _groups(ctx, params, catalog, pairs, verify_scores, _preferred(params, root))
    ops = _plan(params, catalog, records)
    duplicates = [m for g in records for k, m in enumerate(g.members) if k not in g.kept]
    report.summary.update({
        "pairs": len(pairs), "groups": len(records), "duplicates": len(duplicates),
        "reclaimable_bytes": sum(m.bytes for m in duplicates), "mode": params["mode"],
        "planned_operations": len(ops), "dry_run": not params["apply"]})
    _write_outputs(ctx, report, records, method, root)
    if ops and params["apply"]:
        _apply(ctx, ops, params, report, known)
    elif ops:
        note = _dry_run_note(ops, params)
        report.summary["next_step"] = note
        report.findings.append({"note": note})
    _tables(report, records, ops, params)
    _report_unpaired(ctx, report, catalog)
    return report


PAST_TENSE = {"move": "moved", "copy": "copied", "hardlink": "hard-linked",
              "symlink": "symlinked", "trash": "sent to the system trash"}


def _dry_run_note(ops: list[FileOp], params: dict[str, Any]) -> str:
    """One line telling a dry run's user what --apply would do."""
    where = f" to {params['dest']}" if params["dest"] is not None else ""
    return (f"dry run: {len(ops)} file(s) would be {PAST_TENSE[ops[0].op]}{where}; "
            f"add --apply to do it")


def _report_unpaired(ctx: RunContext, report: Report, catalog: Catalog) -> None:
    """LQ files without an HQ partner are not deduplicated (nothing decides about them)."""
    lonely = catalog.unpaired_lq
    if not lonely:
        return
    report.summary["unpaired_lq"] = len(lonely)
    report.findings.append({"note": f"{len(lonely)} LQ file(s) have no HQ partner and were not "
                                    "deduplicated (dedup_unpaired_lq.csv)"})
    with RowWriter(ctx.report_dir / "dedup_unpaired_lq.csv", ["file"]) as rows:
        rows.write_many({"file": str(p)} for p in lonely)
    report.files["unpaired_lq_csv"] = str(ctx.report_dir / "dedup_unpaired_lq.csv")
    report.tables.append(Table(f"LQ files without an HQ partner (first "
                               f"{min(len(lonely), MAX_TABLE_ROWS)} of {len(lonely)})",
                               ["file"], [[str(p)] for p in lonely[:MAX_TABLE_ROWS]]))


def _write_outputs(ctx: RunContext, report: Report, records: list[GroupRecord], method: Any,
                   root: Path) -> None:
    out = ctx.report_dir
    out.mkdir(parents=True, exist_ok=True)
    meta = {"method": method.key, "metric": method.metric, "input": str(root),
            "higher_is_closer": method.higher_is_closer}
    report.files["groups_json"] = str(write_groups_json(out / "dedup_groups.json", records, meta))
    report.files["groups_csv"] = str(write_groups_csv(out / "dedup_groups.csv", records,
                                                      method.higher_is_closer))
    report.files["pairs_csv"] = str(write_pairs_csv(out / "dedup_pairs.csv", records))

    def resolve(shown: str) -> Path:
        p = Path(shown)
        return p if p.is_absolute() else root / p
    report.files["html"] = str(write_html(out / "dedup.html", records, ctx,
                                          title=f"Duplicates ({method.key})",
                                          metric=method.metric,
                                          higher_is_closer=method.higher_is_closer,
                                          resolve=resolve))


def _tables(report: Report, records: list[GroupRecord], ops: list[FileOp],
            params: dict[str, Any]) -> None:
    rows = [[g.id, len(g.members), g.members[g.kept[0]].path,
             ", ".join(m.path for k, m in enumerate(g.members) if k not in g.kept)]
            for g in records[:MAX_TABLE_ROWS]]
    report.tables.append(Table(f"Duplicate groups (first {len(rows)} of {len(records)})",
                               ["group", "files", "keep", "duplicates"], rows))
    if ops:
        verb = "done" if params["apply"] else "planned (dry run)"
        report.tables.append(Table(f"Operations {verb} (first {min(len(ops), MAX_TABLE_ROWS)} "
                                   f"of {len(ops)})", ["operation", "file", "to"],
                                   [[op.op, str(op.src), str(op.dst or "system trash")]
                                    for op in ops[:MAX_TABLE_ROWS]]))
