"""`dedup`: find exact and near-duplicate images, group them around the file each group keeps,
and (with --apply) move, copy, link or trash the rest, writing an undo manifest; or apply a
reviewed plan (--plan) without searching again.

The engine lives in `dataset_forge.dedup`: methods (exact, perceptual hashes, CLIP), the scalable
pair search, the weight-free verifier, keeper-centred groups and keep policies, the typed plan,
the feature cache, file operations and outputs.
"""
from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..context import RunContext
from ..dedup.aligned import DEFAULT_MIN_SCORE, EXACT_FROM, AlignedVerifier
from ..dedup.cache import FeatureCache, RunStores
from ..dedup.catalog import Catalog, build_catalog
from ..dedup.clip import DEFAULT_MODEL, DEFAULT_WEIGHTS, ClipEmbedding, check_weights
from ..dedup.exact import ExactHash
from ..dedup.features import encode_all
from ..dedup.flat import drop_rows, find_flat, pixel_pairs
from ..dedup.fileops import MODES, FileOp, Planned, perform, plan_file_ops
from ..dedup.groups import KEEP_POLICIES
from ..dedup.index import Pairs
from ..dedup.lpips_verify import NETS, LpipsVerifier
from ..dedup.outputs import (cached_thumbnails, write_groups_csv, write_html, write_pairs_csv,
                             write_related_csv)
from ..dedup.perceptual import HASHES, PerceptualHash
from ..dedup.plan import Plan, PlanError, read_plan, write_plan
from ..dedup.planning import build_plan
from ..dedup.verifying import Scored, score_pairs
from ..errors import UsageError
from ..io import check_output
from ..parallel import Failure, WorkKind
from ..parallel.backends import preload_in_workers
from ..reports.report import Report, RowWriter, Table
from ..io.undo import UndoManifest, sha256_of
from .common import APPLY, HQ, INCLUDE_HIDDEN, LQ, OUTPUT
from .registry import Family, Param, Reads, action

METHODS = ("exact", *HASHES, "clip")
VERIFIERS = ("auto", "aligned", "none", "clip", "lpips")
MAX_TABLE_ROWS = 40
DEFAULT_INVARIANT = True    # measured: benchmarks/RESULTS.md (dedup)
DEFAULT_MAX_GROUP = 20

PARAMS = [
    Param("input", "dir", help="folder of images to deduplicate (or use --hq/--lq)"),
    HQ, LQ,
    Param("method", "choice", "phash", "how images are compared: exact bytes, a perceptual "
          "hash (phash, dhash, ahash, whash) or CLIP embeddings", choices=METHODS),
    Param("threshold", "float", None, "closeness for a candidate pair: the largest Hamming "
          "distance for hashes (64-bit hashes: default 16 when candidates are verified, 10 "
          "with --verify none; scaled by --hash-size), the smallest cosine similarity for clip "
          "(default 0.95)", min=0),
    Param("hash_size", "int", 8, "perceptual hash side: 8 gives 64-bit hashes", min=4, max=32),
    Param("pixels", "bool", False, "exact method: compare decoded pixels instead of bytes "
          "(same picture saved with other metadata or another lossless format)"),
    Param("invariant", "bool", DEFAULT_INVARIANT, "also match mirrored and 90-degree rotated "
          "copies (hashes only)"),
    Param("crops", "bool", True, "also hash the centre of each image (0.9 of each side), so "
          "copies cropped to 0.8-0.9 of the area or turned a few degrees become candidates "
          "(hashes only)"),
    Param("verify", "choice", "auto", "confirm each candidate pair with a second tier: aligned "
          "(grey thumbnails compared after undoing mirror, turn, crop; no model weights), clip, "
          "lpips, or none; auto = aligned for hashes, none for exact and clip",
          choices=VERIFIERS),
    Param("verify_threshold", "float", None, "verifier's bound: smallest aligned correlation "
          f"(default {DEFAULT_MIN_SCORE}), smallest CLIP similarity (default 0.95) or largest "
          "LPIPS distance (default 0.3)", min=0),
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
    Param("max_group_size", "int", DEFAULT_MAX_GROUP, "groups with more files are reported as "
          "suspicious and not acted on without --allow-large-groups", min=2),
    Param("allow_large_groups", "bool", False, "act on groups larger than --max-group-size too"),
    Param("plan", "file", help="apply a plan (dedup_groups.json, or the app's reviewed "
          "dedup_plan.json) without searching again; refused if its files changed since"),
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
                              None if threshold is None else int(threshold), params["invariant"],
                              params["crops"], verified=params["verify"] != "none",
                              signatures=params["verify"] in ("auto", "aligned"))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check_outputs(ctx: RunContext, params: dict[str, Any], inputs: tuple) -> None:
    """--dest and the report folder must lie outside every scanned folder (the next scan would
    find them again, and a run must not write into its input)."""
    if params["dest"] is not None:
        check_output(params["dest"], inputs, "--dest")
    check_output(ctx.report_dir, inputs, "--output" if params["output"] else "--report-dir")


def _check_params(ctx: RunContext, params: dict[str, Any]) -> Path:
    root = params["hq"] or params["input"]
    if root is None:
        raise UsageError("give --input DIR (or --hq DIR with --lq DIR), or --plan FILE")
    if params["lq"] and not params["hq"]:
        raise UsageError("--lq needs --hq")
    if params["mode"] in ("move", "copy", "hardlink", "symlink") and params["dest"] is None:
        raise UsageError(f"--mode {params['mode']} needs --dest DIR")
    bound = params["verify_threshold"]
    if _verifier(params) == "aligned" and bound is not None and bound < EXACT_FROM:
        raise UsageError(f"--verify-threshold for the aligned verifier is at least {EXACT_FROM}: "
                         "under it scores are approximate and tones and colours unchecked")
    if params["apply"] and params["mode"] == "report":
        raise UsageError("--apply with --mode report changes nothing: say what happens to the "
                         "files not kept (--mode move/copy/hardlink/symlink --dest DIR, or "
                         "--mode remove)")
    for flag in ("against", "reference"):
        folder = params[flag]
        if folder is not None and Path(root).resolve().is_relative_to(Path(folder).resolve()):
            raise UsageError(f"the input {root} is inside --{flag} {folder}: every file would be "
                             f"protected; give --{flag} a folder that does not hold the input")
    _check_outputs(ctx, params, (root, params["lq"], params["reference"], params["against"]))
    return Path(root)


# -- search ------------------------------------------------------------------------------------
def _verifier(params: dict[str, Any]) -> str:
    """The second tier this run uses: auto = aligned for hashes, none for exact and clip."""
    choice = params["verify"]
    if choice == "auto":
        return "aligned" if params["method"] in HASHES else "none"
    return choice


def _verify(ctx: RunContext, params: dict[str, Any], tier: str, catalog: Catalog,
            stores: RunStores, pairs: Pairs, report: Report) -> tuple[Pairs, np.ndarray | None]:
    """Keep the candidate pairs the second tier confirms; returns them with its scores."""
    if tier == "none" or len(pairs) == 0:
        return pairs, None
    bound = params["verify_threshold"]
    report.summary["candidate_pairs"] = len(pairs)
    if tier == "clip":
        method = ClipEmbedding(params["clip_model"], params["clip_weights"], bound,
                               params["batch_size"])
        rows = np.unique(np.r_[pairs.i, pairs.j])
        enc = encode_all(method, ctx, [catalog.paths[r] for r in rows], stores.features)
        report.failures.extend(enc.failures)
        _count_decoded(report, enc.computed)
        where = {int(rows[k]): n for n, k in enumerate(enc.rows)}
        ok = np.array([int(a) in where and int(b) in where for a, b in zip(pairs.i, pairs.j)], bool)
        pairs = pairs.take(ok)
        ia = np.array([where[int(a)] for a in pairs.i], np.int64)
        ib = np.array([where[int(b)] for b in pairs.j], np.int64)
        scores = method.score_pairs(enc.features, ia, ib)
        keep = scores >= method.min_similarity
    else:
        verifier = (AlignedVerifier(bound) if tier == "aligned" else
                    LpipsVerifier(params["lpips_net"], bound, params["lpips_weights"] or None,
                                  params["batch_size"]))
        scored = _scored(ctx, verifier, stores, catalog, list(zip(pairs.i.tolist(),
                                                                   pairs.j.tolist())), report)
        report.summary["verified_from_cache"] = scored.from_cache
        scores = scored.scores
        keep = verifier.accepts(np.nan_to_num(scores, nan=-np.inf if verifier.higher_is_closer
                                              else np.inf))
    report.summary["rejected_pairs"] = int((~keep).sum())
    return pairs.take(keep), scores[keep]


def _scored(ctx: RunContext, verifier: Any, stores: RunStores, catalog: Catalog,
            rows: list[tuple[int, int]], report: Report) -> Scored:
    """The verifier's scores of pairs of catalog rows (`dedup/verifying.py`); failures and
    files decoded again are reported."""
    scored = score_pairs(ctx, verifier, stores, catalog.paths, rows)
    report.failures.extend(scored.failures)
    _count_decoded(report, scored.decoded)
    return scored


def _count_decoded(report: Report, n: int) -> None:
    """Files decoded by this run (0 on a warm run: everything comes from the cache)."""
    report.summary["decoded"] = report.summary.get("decoded", 0) + int(n)


def _confirmer(ctx: RunContext, params: dict[str, Any], catalog: Catalog, tier: str,
               stores: RunStores, report: Report):
    """With the aligned verifier: a function scoring (keeper row, file row) pairs, None for a
    rejected pair (groups.absorb); with other tiers, None (nothing joins without a pair)."""
    if tier != "aligned":
        return None
    verifier = AlignedVerifier(params["verify_threshold"])

    def confirm(items: list[tuple[int, int]]) -> list[float | None]:
        scores = _scored(ctx, verifier, stores, catalog, items, report).scores
        return [float(v) if v >= verifier.min_score else None for v in scores]
    return confirm


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


def _search(ctx: RunContext, params: dict[str, Any], method: Any, catalog: Catalog,
            stores: RunStores, report: Report) -> tuple[Pairs, np.ndarray | None, dict[Path, str]]:
    """(confirmed pairs, their verifier scores, SHA-256 digests the search already read)."""
    tier = _verifier(params)
    enc = encode_all(method, ctx, catalog.paths, stores.features, stores.scratch)
    report.failures.extend(enc.failures)
    _count_decoded(report, enc.computed)
    # the outcome counts every image compared, however many features came from the cache
    ctx.tally("comparing images", ok=len(enc.rows), failed=len(enc.failures), unit="images")
    first = int(np.searchsorted(enc.rows, catalog.first_query))
    found = method.find_pairs(enc.features, first_query=first)
    pairs = Pairs(enc.rows[found.i], enc.rows[found.j], found.score)
    pairs = _with_flat(ctx, method, catalog, enc, stores.features, pairs, report)
    report.summary.update({"images": len(catalog), "encoded": len(enc.rows),
                           "from_cache": enc.cached, "computed": enc.computed,
                           "method": method.key, "metric": method.metric, "verify": tier})
    pairs, verify_scores = _verify(ctx, params, tier, catalog, stores, pairs, report)
    return pairs, verify_scores, _known_sha256(method, catalog, enc)


# -- acting on the files that are not kept -----------------------------------------------------
def _hash_and_size(item: tuple[Path, str | None]) -> tuple[str, int]:
    """(SHA-256, bytes) of a file; the digest is read only when the search did not give it."""
    path, known = item
    return known or sha256_of(path), path.stat().st_size


def _known_sha256(method: Any, catalog: Catalog, enc: Any) -> dict[Path, str]:
    """SHA-256 of the files the exact byte method already read (the undo manifest's digest)."""
    if not isinstance(method, ExactHash):
        return {}
    return {Path(os.path.abspath(catalog.paths[r])): d
            for r, d in zip(enc.rows, method.file_sha256(enc.features)) if d is not None}


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


def _plan_ops(params: dict[str, Any], plan: Plan, report: Report) -> Planned:
    """The operations the plan calls for (large groups withheld unless allowed)."""
    planned = plan_file_ops(plan, params["mode"], params["dest"],
                            allow_large=params["allow_large_groups"])
    report.summary.update({"planned_operations": len(planned.ops), "mode": params["mode"],
                           "dry_run": not params["apply"]})
    if planned.withheld and params["mode"] != "report":
        sizes = {g.id: len(g.members) for g in plan.groups}
        note = (f"{len(planned.withheld)} group(s) larger than --max-group-size "
                f"{plan.meta.get('max_group_size')} are not acted on (largest "
                f"{max(sizes[g] for g in planned.withheld)} files); review them in dedup.html, "
                "then rerun with --allow-large-groups or a stricter --threshold")
        report.findings.append({"note": note})
        report.summary["withheld_groups"] = planned.withheld[:MAX_TABLE_ROWS]
        if params["apply"]:
            for gid in planned.withheld:
                g = next(x for x in plan.groups if x.id == gid)
                report.add_failure(Failure(g.keeper.path, "LargeGroup",
                                           f"group {gid} of {len(g.members)} files not applied "
                                           "(--allow-large-groups)"))
    return planned


def _act(ctx: RunContext, params: dict[str, Any], planned: Planned, report: Report,
         known: dict[Path, str]) -> None:
    """Apply the operations with --apply, or say what --apply would do."""
    if planned.ops and params["apply"]:
        _apply(ctx, planned.ops, params, report, known)
    elif planned.ops:
        note = _dry_run_note(planned.ops, params)
        report.summary["next_step"] = note
        report.findings.append({"note": note})
    _op_table(report, planned.ops, params)


# -- the action --------------------------------------------------------------------------------
@action("dedup", Family.DEDUP, "Find exact and near-duplicate images; keep one per group",
        params=PARAMS, kind=WorkKind.CPU, destructive=True, reads=Reads.UNPAIRED,
        examples=("dataset-forge --action dedup --input photos/",
                  "dataset-forge --action dedup --input photos/ --method exact --mode remove "
                  "--apply",
                  "dataset-forge --action dedup --hq hq/ --lq lq/ --mode move --dest dupes/ "
                  "--apply",
                  "dataset-forge --action dedup --plan reports/dedup_groups.json --mode move "
                  "--dest dupes/ --apply"))
def dedup(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Hash (or embed) every image, find candidate pairs with a scalable index, confirm them
    with a second tier, group files around the file each group keeps (--keep; reference and
    --against files are always kept), and write the plan (dedup_groups.json), CSVs and an HTML
    page. Nothing changes without --apply; an applied run writes dedup_undo.jsonl for
    `dataset-forge undo`. Features are cached, so a second run only reads new or changed files.
    With --plan, a written (or reviewed) plan is applied without searching again."""
    if params["plan"] is not None:
        return _run_plan(ctx, params)
    preload_in_workers("dataset_forge.dedup.signatures")
    root = _check_params(ctx, params)
    method = make_method(params)
    if isinstance(method, ClipEmbedding) or _verifier(params) == "clip":
        check_weights(params["clip_model"], params["clip_weights"])  # before any work, offline too
    catalog = build_catalog(input=params["input"], hq=params["hq"], lq=params["lq"],
                            reference=params["reference"], against=params["against"],
                            include_hidden=params["include_hidden"])
    with RunStores.open(params["cache"]) as stores:
        return _find_and_act(ctx, params, root, method, catalog, stores)


def _find_and_act(ctx: RunContext, params: dict[str, Any], root: Path, method: Any,
                  catalog: Catalog, stores: RunStores) -> Report:
    report = Report("dedup", params)
    report.summary["decoded"] = 0
    pairs, verify_scores, known = _search(ctx, params, method, catalog, stores, report)
    meta = {"method": method.key, "metric": method.metric, "verify": report.summary["verify"],
            "higher_is_closer": method.higher_is_closer, "input": os.path.abspath(root),
            "lq": os.path.abspath(params["lq"]) if params["lq"] else None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    plan = build_plan(ctx, catalog, pairs, verify_scores, keep=params["keep"],
                      max_group=params["max_group_size"], meta=meta,
                      confirm=_confirmer(ctx, params, catalog, report.summary["verify"], stores,
                                         report))
    dropped = [g.members[k] for g in plan.groups for k in g.dropped]
    large = [g for g in plan.groups if g.large]
    report.summary.update({
        "pairs": len(pairs), "groups": len(plan.groups), "duplicates": len(dropped),
        "related_pairs": len(plan.related), "large_groups": len(large),
        "largest_group": max((len(g.members) for g in plan.groups), default=0),
        "reclaimable_bytes": sum(m.bytes for m in dropped)})
    if large:
        report.findings.append({"note": f"{len(large)} suspicious group(s) larger than "
                                        f"--max-group-size {params['max_group_size']}; see "
                                        "dedup.html"})
    if catalog.links:
        report.findings.append({"note": f"{len(catalog.links)} symbolic link(s) to scanned "
                                        "files were not compared; the files they point to are "
                                        "never moved or removed"})
    planned = _plan_ops(params, plan, report)
    _write_outputs(ctx, report, plan, planned.by_member(), method, stores)
    _act(ctx, params, planned, report, known)
    _group_table(report, plan)
    _report_unpaired(ctx, report, catalog)
    report.summary["pass_seconds"] = _pass_seconds(ctx)
    return report


def _pass_seconds(ctx: RunContext) -> dict[str, float]:
    """Wall seconds of each parallel pass (hashes, verification, thumbnails, ...)."""
    out: dict[str, float] = {}
    for s in ctx.summaries:
        if not s.workers:
            continue                  # a tally of work counted, not a pass that ran
        out[s.label] = round(out.get(s.label, 0.0) + s.elapsed, 2)
    return out


def _run_plan(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Apply a written plan: no walking, hashing or searching; refused when a file changed."""
    if params["mode"] == "report":
        raise UsageError("--plan needs a --mode that acts on files (move, copy, hardlink, "
                         "symlink, remove)")
    if params["mode"] in ("move", "copy", "hardlink", "symlink") and params["dest"] is None:
        raise UsageError(f"--mode {params['mode']} needs --dest DIR")
    try:
        plan = read_plan(params["plan"])
    except PlanError as exc:
        raise UsageError(f"--plan {exc}") from None
    _check_outputs(ctx, params, (plan.meta.get("input"), plan.meta.get("lq")))
    changed = plan.changed_files()
    if changed:
        raise UsageError(f"--plan {params['plan']}: {len(changed)} file(s) changed or gone since "
                         f"the plan was made (first: {changed[0]}); run dedup again")
    report = Report("dedup", params)
    report.summary.update({"groups": len(plan.groups), "from_plan": str(params["plan"]),
                           "duplicates": sum(len(g.dropped) for g in plan.groups)})
    _act(ctx, params, _plan_ops(params, plan, report), report, {})
    _group_table(report, plan)
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


def _write_outputs(ctx: RunContext, report: Report, plan: Plan,
                   planned: dict[tuple[int, int], tuple[str, str]], method: Any,
                   stores: RunStores) -> None:
    out = ctx.report_dir
    out.mkdir(parents=True, exist_ok=True)
    report.files["groups_json"] = str(write_plan(out / "dedup_groups.json", plan))
    report.files["groups_csv"] = str(write_groups_csv(out / "dedup_groups.csv", plan, planned))
    report.files["pairs_csv"] = str(write_pairs_csv(out / "dedup_pairs.csv", plan))
    if plan.related:
        report.files["related_csv"] = str(write_related_csv(out / "dedup_related.csv", plan))

    def thumbs(paths: list[Path]) -> list[str]:
        uris, decoded = cached_thumbnails(ctx, paths, stores.features, stores.scratch)
        _count_decoded(report, decoded)
        return uris
    report.files["html"] = str(write_html(
        out / "dedup.html", plan, ctx, title=f"Duplicates ({method.key})",
        metric=method.metric, bound=plan.meta.get("max_group_size"), thumbs=thumbs))


def _group_table(report: Report, plan: Plan) -> None:
    rows = [[g.id, len(g.members), g.keeper.path,
             ", ".join(g.members[k].path for k in g.dropped)]
            for g in plan.groups[:MAX_TABLE_ROWS]]
    report.tables.insert(0, Table(f"Duplicate groups (first {len(rows)} of {len(plan.groups)})",
                                  ["group", "files", "keep", "duplicates"], rows))


def _op_table(report: Report, ops: list[FileOp], params: dict[str, Any]) -> None:
    if ops:
        verb = "done" if params["apply"] else "planned (dry run)"
        report.tables.append(Table(f"Operations {verb} (first {min(len(ops), MAX_TABLE_ROWS)} "
                                   f"of {len(ops)})", ["operation", "file", "to"],
                                   [[op.op, str(op.src), str(op.dst or "system trash")]
                                    for op in ops[:MAX_TABLE_ROWS]]))
