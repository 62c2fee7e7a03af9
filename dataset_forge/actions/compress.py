"""`compress` and `convert`: re-encode or convert images to JPEG, WebP, PNG or AVIF.

Outputs mirror the input tree under --output (same stem, the target's extension); originals are
never touched unless --in-place, where each file is replaced by a verified swap. Lossless first:
without --quality/--target-* a file keeps its pixels (JPEG and PNG optimised losslessly);
in place, an original whose pixels change goes to the trash with an undo manifest. A journal in
the output folder makes an interrupted run resume, a lock keeps a second run out of it while
one writes; --hq/--lq keep both trees apart. The per-file work lives in `dataset_forge.compress`.
"""
from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator

from PIL import ImageColor

from ..compress import (DEFAULT_QUALITY, EXTENSIONS, FORMATS, ConvertSettings, EncodeOptions, Job,
                        Target, convert_file, parse_size)
from ..compress.routes import LOSSY, choose_route, webp_is_lossless
from ..compress.swap import IntentLog
from ..context import RunContext
from ..errors import UsageError
from ..io import (Journal, OutputClaims, check_output, fingerprint, iter_images,
                  pair_folders, remove_leftover_temporaries)
from ..io.runlock import RunLock, RunLocked
from ..parallel import Failure, WorkKind
from ..reports.report import Report, RowWriter, Table
from ..io.images import first_frame_only
from ..io.sniff import sniff_format
from ..io.undo import UndoManifest
from .common import HQ, INCLUDE_HIDDEN, LQ, MAX_PIXELS
from .registry import Family, Param, action

JOURNAL_DIR = ".forge-journal"
MAX_TABLE_ROWS = 40
COLUMNS = ["source", "output", "status", "route", "pixel_identical", "format_in", "mode_in",
           "format_out", "mode_out", "width", "height", "bytes_in", "bytes_out", "ratio", "quality",
           "ssim", "encodes", "target_reached", "lost_alpha", "seconds", "notes"]
#: a source's content format (sniffed, not its name) -> its format for --format keep (anything
#: else becomes PNG)
KEEP_BY_CONTENT = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}

INPUT = Param("input", "dir", help="folder of images to convert (or use --hq and --lq)")
OUTPUT = Param("output", "path", help="folder for the converted tree, the journal and the report "
               "(required unless --in-place)")
SHARED_PARAMS = [
    Param("quality", "int", None, "encoder quality for JPEG, lossy WebP and AVIF: asks for a "
          "lossy re-encode (without it, files keep their pixels where their format allows: JPEG "
          "and PNG are optimised losslessly; conversions to a lossy format use "
          + ", ".join(f"{k} {v}" for k, v in DEFAULT_QUALITY.items()) + ")", min=1, max=100),
    Param("target_ssim", "float", None, "search each image's quality for the smallest file whose "
          "SSIM to the source is at least this (e.g. 0.95; images over 2 Mpx are scored on a "
          "shrunk copy, which is more lenient than full-resolution SSIM)", min=0.5, max=1.0),
    Param("target_bytes", "str", None, "search each image's quality for the best one that fits "
          "this size (e.g. 150k, 1.5MB, 200KiB)"),
    Param("min_quality", "int", 10, "lowest quality the search may pick", min=1, max=100),
    Param("max_quality", "int", 95, "highest quality the search may pick", min=1, max=100),
    Param("measure", "bool", False, "also report the SSIM of fixed-quality results (slower)"),
    Param("progressive", "bool", True, "JPEG: progressive encoding"),
    Param("subsampling", "choice", "auto", "JPEG/AVIF chroma subsampling (auto: encoder default "
          "for the quality)", choices=("auto", "4:4:4", "4:2:2", "4:2:0")),
    Param("jpeg_optimize", "bool", True, "JPEG: optimised Huffman tables (lossless, smaller)"),
    Param("lossless", "bool", False, "WebP: lossless encoding"),
    Param("effort", "int", 4, "WebP: method 0 (fast) to 6 (smallest)", min=0, max=6),
    Param("oxipng", "bool", True, "PNG: optimise losslessly with oxipng"),
    Param("oxipng_level", "int", 2, "PNG: oxipng preset 0 (fast) to 6 (smallest)", min=0, max=6),
    Param("png_reduce", "bool", False, "PNG: let oxipng change colour type and bit depth where "
          "lossless (smaller; the file may then decode as another mode, e.g. RGB as P)"),
    Param("png_compress_level", "int", 9, "PNG: zlib level when --no-oxipng", min=0, max=9),
    Param("avif_speed", "int", 6, "AVIF: encoder speed 0 (smallest) to 10 (fastest)", min=0, max=10),
    Param("in_place", "bool", False, "replace the originals (verified swap); an original whose "
          "pixels change or whose name changes goes to the system trash with an undo manifest "
          "(dataset-forge undo restores it); lossy re-encodes need --quality or --target-*"),
    Param("strip_metadata", "bool", False, "drop ICC profiles and EXIF"),
    Param("keep_exif", "bool", False, "copy EXIF (orientation reset: pixels are turned upright)"),
    Param("background", "str", "white", "colour that transparency is flattened onto for JPEG "
          "(name or #rrggbb)"),
    INCLUDE_HIDDEN, MAX_PIXELS,
]


def only_if_smaller(default: bool) -> Param:
    return Param("only_if_smaller", "bool", default, "keep the original where re-encoding does "
                 "not make it smaller (copied as it is into --output, or left alone --in-place)"
                 + ("; on for compress, --no-only-if-smaller writes every re-encode" if default
                    else ""))


COMPRESS_PARAMS = [INPUT, OUTPUT, HQ, LQ,
                   Param("format", "choice", "keep", "target format; keep re-encodes each file in "
                         "the format of its content, whatever its name (others become PNG)",
                         choices=("keep",) + FORMATS),
                   *SHARED_PARAMS, only_if_smaller(True)]
CONVERT_PARAMS = [INPUT, OUTPUT, HQ, LQ,
                  Param("format", "choice", None, "target format", choices=FORMATS, required=True),
                  *SHARED_PARAMS, only_if_smaller(False)]


@dataclass(frozen=True)
class Tree:
    """One folder to convert: its name in keys and output ('' alone, 'hq'/'lq' in pair mode)."""

    name: str
    source: Path
    dest: Path


# -- the actions -----------------------------------------------------------------------------

@action("compress", Family.COMPRESS, "Re-encode images smaller, in their own format or another",
        params=COMPRESS_PARAMS, kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action compress --input photos --output small --format webp "
                  "--target-ssim 0.95",
                  "dataset-forge --action compress --input pngs --in-place --only-if-smaller"))
def compress(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Re-encode every image under --input (or --hq and --lq) into --output, mirroring the tree.
    With --format keep each file keeps its format (JPEG, PNG via oxipng, WebP, AVIF; other formats
    become PNG). --target-ssim or --target-bytes search each image's quality (at most ~7 encodes).
    Resumable: rerunning the same command skips finished files."""
    return run_conversion(ctx, params, "compress")


@action("convert", Family.COMPRESS, "Convert images to JPEG, WebP, PNG or AVIF",
        params=CONVERT_PARAMS, kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action convert --input pngs --output jpgs --format jpeg "
                  "--quality 92 --background black",
                  "dataset-forge --action convert --hq HR --lq LR --output out --format webp "
                  "--lossless"))
def convert(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Convert every image under --input (or --hq and --lq) to --format, mirroring the tree into
    --output. Alpha is kept where the format stores it, else flattened onto --background (and
    counted); 16-bit and palette images follow a documented policy; ICC profiles are kept."""
    return run_conversion(ctx, params, "convert")


# -- the shared run ------------------------------------------------------------------------

def run_conversion(ctx: RunContext, params: dict[str, Any], name: str) -> Report:
    settings = build_settings(params)
    trees = plan_trees(params)
    journal_root = Path(params["output"] or trees[0].source)
    roots = [journal_root] if params["output"] else [t.source for t in trees]
    with contextlib.ExitStack() as locks:
        try:
            for root in roots:
                locks.enter_context(RunLock(root, name))
        except RunLocked as exc:
            raise UsageError(str(exc)) from None
        return _run_locked(ctx, params, name, settings, trees, journal_root)


def _run_locked(ctx: RunContext, params: dict[str, Any], name: str, settings: ConvertSettings,
                trees: list[Tree], journal_root: Path) -> Report:
    report = Report(name, params)
    fp = fingerprint({"action": name, "settings": repr(settings), "format": params["format"],
                      "trees": [(t.name, str(t.source), str(t.dest)) for t in trees]})
    intents = IntentLog(journal_root / JOURNAL_DIR / f"{name}.intents.jsonl", fp)
    finished = intents.finish_cut_swaps() if settings.in_place else 0
    if params["hq"]:
        report.findings.extend(_pairing_findings(params["hq"], params["lq"], params))
    jobs, failures = plan_jobs(trees, params, settings)
    refuse_unasked_lossy_in_place(jobs, settings)
    for failure in failures:
        report.add_failure(failure)
    ctx.failed_before(len(failures))
    cleaned = sum(remove_leftover_temporaries(t.dest) for t in trees)
    totals = Totals()
    ctx.report_dir.mkdir(parents=True, exist_ok=True)
    undo_path = ctx.report_dir / f"{name}_undo.jsonl"
    if settings.in_place:   # workers append to it; created here so it has one header
        settings = replace(settings, undo_manifest=str(undo_path), intents=intents)
        start_undo_manifest(undo_path, name, params)
    t0 = time.perf_counter()
    with Journal(journal_root / JOURNAL_DIR / f"{name}.jsonl", fp) as journal, \
            RowWriter(ctx.report_dir / f"{name}_rows.csv", COLUMNS) as rows:
        pending = []
        for job in jobs:
            done = journal.info(job.key) if journal.done(job.key) else None
            if done and _still_written(done):
                totals.add({**done, "status": "done-earlier"}, rows)
            else:
                pending.append(job)
        if settings.in_place:   # swapped by a run killed before it journaled them
            recognised = intents.recognise(job.key for job in pending)
            for job in [j for j in pending if j.key in recognised]:
                row = {"source": job.label, **recognised[job.key]}
                journal.mark(job.key, row)
                totals.add({**row, "status": "done-earlier"}, rows)
            pending = [j for j in pending if j.key not in recognised]
        ctx.done_before(len(jobs) - len(pending))
        worker, first_frame = functools.partial(convert_file, settings), 0
        for outcome in ctx.map(worker, pending, label=name, total=len(pending)):
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            row = {"source": outcome.item.label, **outcome.value}
            if row["status"] == "written" and row.get("frames_in", 1) > 1:
                report.findings.append({"path": str(outcome.item.source),
                                        "finding": first_frame_only(row["frames_in"])})
                first_frame += 1
            journal.mark(outcome.item.key, row)
            totals.add(row, rows)
    elapsed = time.perf_counter() - t0
    report.summary = totals.summary(len(jobs) + len(failures), len(report.failures), elapsed,
                                    cleaned, settings)
    if finished:
        report.summary["interrupted_swaps_finished"] = finished
    if first_frame:
        report.summary["animated_first_frame_only"] = first_frame
    report.tables = totals.tables(settings.target is not None or settings.measure)
    if settings.in_place and finish_undo_manifest(undo_path):
        report.files["undo_manifest"] = str(undo_path)
    report.files["rows_csv"] = str(rows.path)
    report.files["journal"] = str(journal.path)
    return report


def _still_written(done: dict[str, Any]) -> bool:
    """Whether the file a journaled job wrote is still in place: it exists with the size it
    was written with (undo may have put a same-name original back there)."""
    try:
        return Path(done["output"]).stat().st_size == done["bytes_out"]
    except OSError:
        return False


def asked_lossy(params: dict[str, Any]) -> bool:
    """The user asked for a lossy encode: a quality, a target SSIM or a target size."""
    return any(params[k] is not None for k in ("quality", "target_ssim", "target_bytes"))


def refuse_unasked_lossy_in_place(jobs: list[Job], settings: ConvertSettings) -> None:
    """In place, a lossy re-encode happens only when asked for; say so before anything runs."""
    lossy = [job for job in jobs if job.route == LOSSY]
    if not settings.in_place or not lossy or settings.asked_lossy:
        return
    example = lossy[0]
    raise UsageError(
        f"--in-place would re-encode {len(lossy)} file(s) lossily to {example.format} (e.g. "
        f"{example.label}) and nobody asked for a quality: add --quality, --target-ssim or "
        "--target-bytes to confirm (originals go to the trash; dataset-forge undo restores "
        "them), or use --output")


def start_undo_manifest(path: Path, name: str, params: dict[str, Any]) -> None:
    """Write the manifest header once (a rerun appends to the manifest it already started)."""
    UndoManifest(path, name, params).close()


def finish_undo_manifest(path: Path) -> bool:
    """True when the manifest logged an operation; one with only its header is removed."""
    try:
        with open(path, encoding="utf-8") as fh:
            if any(line.strip() for line in itertools.islice(fh, 1, None)):
                return True
    except FileNotFoundError:
        return False
    path.unlink()
    return False


def build_settings(params: dict[str, Any]) -> ConvertSettings:
    """Validated encoder settings from the parameters (usage errors name the flag)."""
    if params["strip_metadata"] and params["keep_exif"]:
        raise UsageError("--strip-metadata and --keep-exif contradict each other; pick one")
    if params["target_ssim"] is not None and params["target_bytes"] is not None:
        raise UsageError("--target-ssim and --target-bytes both set; pick one")
    if params["min_quality"] > params["max_quality"]:
        raise UsageError("--min-quality is above --max-quality")
    try:
        background = ImageColor.getrgb(params["background"])[:3]
    except ValueError:
        raise UsageError(f"--background {params['background']!r}: not a colour "
                         "(try white, black, #808080)") from None
    target = None
    if params["target_ssim"] is not None or params["target_bytes"] is not None:
        try:
            size = parse_size(params["target_bytes"]) if params["target_bytes"] else None
        except ValueError as exc:
            raise UsageError(f"--target-bytes: {exc}") from None
        target = Target(ssim=params["target_ssim"], bytes=size,
                        min_quality=params["min_quality"], max_quality=params["max_quality"])
        if params["format"] == "png" or (params["format"] == "webp" and params["lossless"]):
            raise UsageError("--target-ssim/--target-bytes need a lossy format (jpeg, webp, "
                             "avif); PNG and lossless WebP have no quality to search")
    options = EncodeOptions(
        format=params["format"] if params["format"] in FORMATS else "png",
        quality=params["quality"], progressive=params["progressive"],
        subsampling=params["subsampling"], jpeg_optimize=params["jpeg_optimize"],
        lossless=params["lossless"], effort=params["effort"], oxipng=params["oxipng"],
        oxipng_level=params["oxipng_level"], png_reduce=params["png_reduce"],
        png_compress_level=params["png_compress_level"],
        avif_speed=params["avif_speed"], strip_metadata=params["strip_metadata"],
        keep_exif=params["keep_exif"], background=tuple(background))
    return ConvertSettings(options, target, params["only_if_smaller"], params["in_place"],
                           params["measure"], params["max_pixels"],
                           asked_lossy=asked_lossy(params))


def plan_trees(params: dict[str, Any]) -> list[Tree]:
    """The folders to convert and where each one's outputs go."""
    single, hq, lq, output = params["input"], params["hq"], params["lq"], params["output"]
    if single and (hq or lq):
        raise UsageError("give either --input or --hq with --lq, not both")
    if bool(hq) != bool(lq):
        raise UsageError("--hq and --lq go together")
    if not single and not hq:
        raise UsageError("--input (or --hq with --lq) is required")
    sources = [("", single)] if single else [("hq", hq), ("lq", lq)]
    if params["in_place"]:
        if output:
            raise UsageError("--in-place writes beside the originals; drop --output (use "
                             "--report-dir for the report)")
        return [Tree(n, Path(s), Path(s)) for n, s in sources]
    if not output:
        raise UsageError("--output is required (or --in-place to replace the originals)")
    output = Path(output)
    check_output(output, [Path(s) for _, s in sources])
    return [Tree(n, Path(s), output / n if n else output) for n, s in sources]


def plan_jobs(trees: list[Tree], params: dict[str, Any],
              settings: ConvertSettings) -> tuple[list[Job], list[Failure]]:
    """One job per source image; sources whose outputs would collide become failures."""
    jobs: list[Job] = []
    failures: list[Failure] = []
    claims = OutputClaims({p for t in trees for p in _sources(t, params)}
                          if settings.in_place else ())
    keep_format = params["format"] == "keep"
    for tree in trees:
        for path in _sources(tree, params):
            rel = path.relative_to(tree.source)
            sniffed = sniff_format(path) or ""
            content = KEEP_BY_CONTENT.get(sniffed)
            fmt = params["format"] if not keep_format else content or "png"
            # keep: a file in one of the four formats keeps its name, even a PNG named .jpg
            same_name = keep_format and content is not None
            dest = tree.dest / (rel if same_name else rel.with_suffix(EXTENSIONS[fmt]))
            clash = claims.claim(path, dest)
            if clash:
                failures.append(Failure(str(path), "NameCollision", clash))
                continue
            route = choose_route(content, fmt, settings.options, asked_lossy=settings.asked_lossy,
                                 webp_lossless=content == "webp" and webp_is_lossless(path),
                                 keep_format=keep_format)
            # keyed by output, so an in-place rerun also knows the files it already converted
            key, label = (_tree_key(tree, dest.relative_to(tree.dest)),
                          _tree_key(tree, rel))
            keep_dest = None if settings.in_place else tree.dest / rel
            jobs.append(Job(path, dest, keep_dest, key, fmt, label, route))
    return jobs, failures


def _tree_key(tree: Tree, rel: Path) -> str:
    return f"{tree.name}/{rel.as_posix()}" if tree.name else rel.as_posix()


def _sources(tree: Tree, params: dict[str, Any]) -> Iterator[Path]:
    """Images under the tree's source (--output never overlaps it: plan_trees refuses that)."""
    return iter_images(tree.source, include_hidden=params["include_hidden"])


def _pairing_findings(hq: Path, lq: Path, params: dict[str, Any]) -> list[dict[str, Any]]:
    pairing = pair_folders(hq, lq, include_hidden=params["include_hidden"])
    findings = []
    if pairing.missing_lq:
        findings.append({"kind": "unpaired_hq", "count": len(pairing.missing_lq),
                         "examples": [str(p) for p in pairing.missing_lq[:10]]})
    if pairing.missing_hq:
        findings.append({"kind": "unpaired_lq", "count": len(pairing.missing_hq),
                         "examples": [str(p) for p in pairing.missing_hq[:10]]})
    return findings


# -- totals and tables ---------------------------------------------------------------------

class Totals:
    """Running sums for the summary and tables; rows stream to CSV, a few stay for display."""

    def __init__(self) -> None:
        self.status: collections.Counter = collections.Counter()
        self.by_format: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
        self.before = self.after = self.lost_alpha = self.missed = 0
        self.identical: collections.Counter = collections.Counter()
        self.encodes: list[int] = []
        self.preview: list[list[Any]] = []

    def add(self, row: dict[str, Any], writer: RowWriter) -> None:
        row["ratio"] = round(row["bytes_out"] / row["bytes_in"], 4) if row["bytes_in"] else None
        writer.write(row)
        self.status[row["status"]] += 1
        fmt = self.by_format[row["format_out"] if row["status"] != "kept-original" else "original"]
        fmt[0] += 1
        fmt[1] += row["bytes_in"]
        fmt[2] += row["bytes_out"]
        self.before += row["bytes_in"]
        self.after += row["bytes_out"]
        self.lost_alpha += bool(row["lost_alpha"])
        self.identical[_flag(row.get("pixel_identical"))] += 1
        self.missed += not row["target_reached"]
        if row["status"] != "done-earlier":
            self.encodes.append(row["encodes"])
        if len(self.preview) < MAX_TABLE_ROWS:
            self.preview.append([_cell(row[k]) for k in ("source", "status", "format_out",
                                 "quality", "bytes_in", "bytes_out", "ratio", "ssim", "encodes")])

    def summary(self, images: int, failed: int, elapsed: float, cleaned: int,
                settings: ConvertSettings) -> dict[str, Any]:
        processed = sum(self.status[s] for s in ("written", "kept-original"))
        out = {
            "images": images, "written": self.status["written"],
            "kept_original": self.status["kept-original"],
            "done_earlier": self.status["done-earlier"], "failed": failed,
            "bytes_before": self.before, "bytes_after": self.after,
            "bytes_saved": self.before - self.after,
            "ratio": round(self.after / self.before, 4) if self.before else None,
            "pixel_identical": self.identical[True], "pixels_changed": self.identical[False],
            "lost_transparency": self.lost_alpha, "seconds": round(elapsed, 3),
            "images_per_s": round(processed / elapsed, 2) if elapsed > 0 else None,
            "formats": {k: {"images": v[0], "bytes_before": v[1], "bytes_after": v[2]}
                        for k, v in sorted(self.by_format.items())},
        }
        if settings.target is not None:
            out["target"] = (f"ssim >= {settings.target.ssim}" if settings.target.ssim is not None
                             else f"<= {settings.target.bytes:,} bytes")
            out["target_missed"] = self.missed
            out["encodes_per_image"] = (round(sum(self.encodes) / len(self.encodes), 2)
                                        if self.encodes else None)
        if cleaned:
            out["stale_temporaries_removed"] = cleaned
        return {k: v for k, v in out.items() if v is not None}  # nothing to say: no line

    def tables(self, show_scores: bool) -> list[Table]:
        formats = Table("Bytes by output format", ["format", "images", "before", "after", "ratio"],
                        [[k, v[0], v[1], v[2], _ratio(v[2], v[1])]
                         for k, v in sorted(self.by_format.items())])
        formats.rows.append(["total", sum(self.status.values()), self.before, self.after,
                             _ratio(self.after, self.before)])
        columns = ["source", "status", "format", "quality", "bytes in", "bytes out", "ratio"]
        rows = [r[:7] for r in self.preview]
        if show_scores:
            columns += ["ssim", "encodes"]
            rows = [list(r) for r in self.preview]
        total = sum(self.status.values())
        return [formats, Table(f"Images (first {len(rows)} of {total})", columns, rows)]


def _ratio(after: int, before: int) -> float | str:
    return round(after / before, 4) if before else "-"


def _flag(value: Any) -> bool | None:
    """A row's yes/no cell, whether it comes from a worker (bool) or a journal (JSON)."""
    return value if isinstance(value, bool) or value is None else str(value) == "True"


def _cell(value: Any) -> Any:
    """Table cells show "-" where a row has no value (no quality for PNG, no SSIM measured)."""
    return "-" if value is None else value
