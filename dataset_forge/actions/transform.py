"""Transforms: `resize`, `crop`, `tile`, `make-lq`, and the engine the augment actions share.

Every writing action here runs jobs (one input or HQ/LQ pair x one variation) through `ctx.map`;
each job's worker loads, transforms and atomically writes its outputs and returns a record that
is appended to `<action>_log.jsonl` (inputs, seed, drawn parameters, outputs). A journal keyed by
a fingerprint of everything that shapes outputs makes reruns skip finished work.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..context import RunContext
from ..errors import UsageError
from ..io import (Journal, check_output, fingerprint, iter_images, pair_folders, pair_key,
                  remove_leftover_temporaries)
from ..ops import all_ops
from ..ops.files import (OUTPUT_FORMATS, icc_of, is_grey_source, load_image, output_suffix,
                         save_image)
from ..ops.geometric import FILTER_NAMES, modcrop
from ..ops.registry import DEGRADE, RESAMPLE
from ..ops.tiles import complexity, grey, is_flat, tile_boxes
from ..parallel import WorkKind
from ..pipeline import Frame, Pipeline, image_entropy, load_pipeline, parse_pipeline, single_step
from ..plugins import ensure_plugins
from ..report import Report, Table
from .common import SEED
from .registry import Family, Param, action

# ---------------------------------------------------------------------------------- params

IN = Param("input", "dir", help="folder of images to read (never modified)")
OUT = Param("output", "path", help="new folder for the outputs (never the input folder)",
            required=True)
HQ_IN = Param("hq", "dir", help="HQ folder: pair mode, outputs in OUTPUT/hq and OUTPUT/lq")
LQ_IN = Param("lq", "dir", help="LQ folder paired with --hq by relative path and stem")
FORMAT = Param("format", "choice", "same", "output format (same = the input's)",
               choices=OUTPUT_FORMATS)
PNG_FORMAT = Param("format", "choice", "png", "output format (png keeps degradations exact)",
                   choices=OUTPUT_FORMATS)
QUALITY = Param("quality", "int", 95, "JPEG/WebP output quality", min=1, max=100)
VARIATIONS = Param("variations", "int", 1, "outputs per input, each with its own draws "
                   "(named NAME_v01, NAME_v02, ...)", min=1, max=10_000)
PIPELINE = Param("pipeline", "str", help="pipeline file (.toml/.json) or inline JSON list of ops")
PLUGIN = Param("plugin", "list", [], help="Python file(s) registering custom ops "
               "(comma-separated)")


def op_params(op_name: str, skip: tuple[str, ...] = ()) -> list[Param]:
    """An op's fields as action parameters, so an action and its op are declared once.
    A field whose default lies outside its range has no usable default: the flag is required."""
    op = all_ops()[op_name]
    kinds = {"int": "int", "float": "float", "bool": "bool", "choice": "choice", "str": "str"}
    return [Param(f.name, kinds[f.type], f.default, f.help, tuple(f.choices), f.min, f.max,
                  required=f.min is not None and f.default is not None and f.default < f.min)
            for f in op.fields if f.name not in skip]


# ---------------------------------------------------------------------------------- jobs

@dataclass(frozen=True)
class Job:
    """One output unit: an input (or HQ/LQ pair) and a variation index."""

    key: str            # relative path without extension: seeds and names come from it
    source: Path
    lq: Path | None
    variation: int
    name: str           # output relative path without extension
    suffix: str

    @property
    def id(self) -> str:
        return f"{self.key}#{self.variation}"

    def __str__(self) -> str:
        """How a failure names this job in reports: the input file (and its output, if renamed)."""
        return str(self.source) + (f" -> {self.name}{self.suffix}" if self.name != self.key else "")


@dataclass(frozen=True)
class Render:
    """What every job of a pipeline run shares (pickled once per worker chunk)."""

    pipeline: Pipeline
    seed: int
    out: Path
    quality: int = 95
    mode: str = "single"          # single | pairs | make_lq
    scale: int = 0                # make-lq's scale
    write_hq: bool = True
    plugins: tuple[str, ...] = ()

    def fingerprint(self, extra: dict | None = None) -> str:
        return fingerprint({"pipeline": self.pipeline.to_json(), "seed": self.seed,
                            "quality": self.quality, "mode": self.mode, "scale": self.scale,
                            "write_hq": self.write_hq, "plugins": _plugin_hashes(self.plugins),
                            **(extra or {})})


def _plugin_hashes(paths: Iterable[str]) -> list[str]:
    return [hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16] for p in paths]


def variation_name(key: str, variation: int, count: int) -> str:
    return key if count == 1 else f"{key}_v{variation + 1:0{max(2, len(str(count)))}d}"


def make_jobs(items: list[tuple[Path, Path | None, str]], variations: int,
              fmt: str) -> list[Job]:
    return [Job(key, src, lq, v, variation_name(key, v, variations), output_suffix(src, fmt))
            for src, lq, key in items for v in range(variations)]


def out_path(out: Path, job: Job, sub: str = "", name: str | None = None) -> Path:
    return (out / sub if sub else out) / f"{name or job.name}{job.suffix}"


def render(cfg: Render, job: Job) -> dict[str, Any]:
    """Worker: load, run the pipeline, write the outputs; return the log record."""
    ensure_plugins(cfg.plugins)
    hq = load_image(job.source)
    hq_icc = lq_icc = icc_of(hq)
    hq_grey = lq_grey = is_grey_source(hq)
    frame = Frame(hq)
    if cfg.mode == "make_lq":
        frame.hq = modcrop(hq, cfg.scale)
        frame.lq, frame.snap, frame.scale = frame.hq.copy(), cfg.scale, cfg.scale
    elif cfg.mode == "pairs":
        frame.lq = load_image(job.lq)
        lq_icc, lq_grey = icc_of(frame.lq), is_grey_source(frame.lq)
        frame.snap = frame.factor
    log = cfg.pipeline.run(frame, image_entropy(cfg.seed, job.key, job.variation))
    outputs = []
    if frame.lq is None:
        outputs.append(save_image(frame.hq, out_path(cfg.out, job), cfg.quality, hq_icc,
                                  hq_grey))
    else:
        frame.factor  # noqa: B018 - raises if the pair lost alignment
        if cfg.write_hq:
            outputs.append(save_image(frame.hq, out_path(cfg.out, job, "hq"), cfg.quality,
                                      hq_icc, hq_grey))
        outputs.append(save_image(frame.lq, out_path(cfg.out, job, "lq"), cfg.quality, lq_icc,
                                  lq_grey))
    return {"input": str(job.source), **({"lq_input": str(job.lq)} if job.lq else {}),
            "seed": cfg.seed, "key": job.key, "variation": job.variation,
            "outputs": [str(p.relative_to(cfg.out)) for p in outputs],
            "size": list(frame.hq.size), **({"lq_size": list(frame.lq.size)} if frame.lq else {}),
            "ops": log}


# ---------------------------------------------------------------------------------- driver

def gather(params: dict[str, Any], report: Report, allow_pairs: bool = True
           ) -> tuple[list[tuple[Path, Path | None, str]], bool]:
    """Inputs as (source, lq, key) from --input, or HQ/LQ pairs from --hq/--lq."""
    single, hq, lq = params.get("input"), params.get("hq"), params.get("lq")
    if allow_pairs and (hq or lq):
        if single or not (hq and lq):
            raise UsageError("give --input, or both --hq and --lq")
        check_output(params["output"], (hq, lq))
        pairing = pair_folders(hq, lq)
        for path in pairing.missing_lq:
            report.findings.append({"path": str(path), "finding": "no LQ partner; skipped"})
        for path in pairing.missing_hq:
            report.findings.append({"path": str(path), "finding": "no HQ partner; skipped"})
        return [(h, l, pair_key(h, hq)) for h, l in pairing.pairs], True
    if not single:
        raise UsageError("--input is required" + (" (or --hq and --lq)" if allow_pairs else ""))
    check_output(params["output"], (single,))
    return [(p, None, pair_key(p, single)) for p in iter_images(single)], False


def run_jobs(ctx: RunContext, report: Report, worker: Callable[[Job], dict], jobs: list[Job],
             out: Path, print_fingerprint: str, label: str) -> None:
    """Run `worker` over jobs not yet journaled; log records; fill the report's counts."""
    out.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporaries(out)  # a hard-killed earlier run's half-written files
    log_path = out / f"{report.action}_log.jsonl"
    journal = Journal(out / ".forge-journal" / f"{report.action}.jsonl", print_fingerprint)
    if len(journal) == 0 and log_path.exists():
        log_path.unlink()  # a fresh run (new parameters): the old log no longer describes outputs
    pending = [j for j in jobs if not _finished(journal, j, out)]
    written, preview = 0, []
    with journal, open(log_path, "a", encoding="utf-8") as log:
        for outcome in ctx.map(worker, pending, label=label):
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            record = outcome.value
            log.write(json.dumps(record, default=str) + "\n")
            log.flush()
            journal.mark(outcome.item.id, record["outputs"])
            written += len(record["outputs"])
            if len(preview) < 30:
                preview.append([outcome.item.key, outcome.item.variation,
                                ", ".join(record["outputs"]), _applied(record.get("ops", []))])
    report.summary.update({"jobs": len(jobs), "done_now": len(pending) - len(report.failures),
                           "skipped_already_done": len(jobs) - len(pending),
                           "files_written": written, "failed": len(report.failures),
                           "output": str(out)})
    report.files.update({"output": str(out), "log": str(log_path)})
    report.tables.append(Table(f"Outputs (first {len(preview)})",
                               ["input", "variation", "outputs", "ops applied"], preview))


def _finished(journal: Journal, job: Job, out: Path) -> bool:
    return journal.done(job.id) and all((out / p).exists() for p in journal.info(job.id) or [])


def _applied(log: list[dict]) -> str:
    def name(entry: dict) -> str:
        return name(entry["step"]) if "step" in entry else entry["op"]
    return " > ".join(name(e) for e in log if e.get("applied")) or "-"


def run_pipeline(ctx: RunContext, action_name: str, params: dict[str, Any], pipeline: Pipeline, *,
                 mode: str | None = None, scale: int = 0, write_hq: bool = True,
                 extra: dict | None = None) -> Report:
    """The shared body of resize, crop, make-lq and augment."""
    report = Report(action_name, params)
    items, pairs = gather(params, report, allow_pairs=mode != "make_lq")
    mode = mode or ("pairs" if pairs else "single")
    if mode == "pairs" and RESAMPLE.value in pipeline.kinds():
        raise UsageError("downscale makes LQ from HQ: use it in make-lq or on a single folder")
    out = Path(params["output"]).expanduser().resolve()
    plugins = tuple(str(Path(p).expanduser().resolve()) for p in params.get("plugin") or [])
    cfg = Render(pipeline, params.get("seed", 0), out, params.get("quality", 95), mode, scale,
                 write_hq, plugins)
    jobs = make_jobs(items, params.get("variations", 1), params.get("format", "same"))
    run_jobs(ctx, report, functools.partial(render, cfg), jobs, out, cfg.fingerprint(extra),
             report.action)
    report.summary.update({"inputs": len(items), "mode": mode, "seed": cfg.seed,
                           "pipeline": pipeline.source})
    return report


# ---------------------------------------------------------------------------------- actions

@action("resize", Family.TRANSFORM, "Resize images by a scale or to a size",
        params=[IN, OUT, *op_params("resize"), FORMAT, QUALITY], kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action resize --input photos --output half --scale 0.5",
                  "dataset-forge --action resize --input photos --output sq --width 512 "
                  "--height 512 --fit crop"))
def resize_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Resize every image under --input into --output (same relative paths). Give --scale, or
    --width and/or --height (the other side keeps the aspect); with both, --fit stretch, crop
    (fill then centre-crop) or pad (fit then pad with --pad-color)."""
    fields = {k: params[k] for k in ("scale", "width", "height", "filter", "fit", "pad_color")}
    if not (fields["scale"] or fields["width"] or fields["height"]):
        raise UsageError("resize needs --scale, or --width and/or --height")
    return run_pipeline(ctx, "resize", params, single_step("resize", **fields))


@action("crop", Family.TRANSFORM, "Crop a centre, random or given box (HQ/LQ pairs in lockstep)",
        params=[IN, HQ_IN, LQ_IN, OUT, *op_params("crop"), SEED, FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action crop --input photos --output crops --mode random "
                  "--width 256 --height 256 --seed 7",
                  "dataset-forge --action crop --hq hq --lq lq_x4 --output pairs --mode random "
                  "--width 256 --height 256"))
def crop_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Crop every image (or HQ/LQ pair) to --width x --height. In pair mode the box is drawn on
    HQ in multiples of the pair's scale and the LQ crop is the same region divided by it."""
    fields = {k: params[k] for k in ("mode", "width", "height", "x", "y")}
    return run_pipeline(ctx, "crop", params, single_step("crop", **fields))


@action("make-lq", Family.TRANSFORM, "Create LQ images by downscaling HQ, with optional degradations",
        params=[Param("input", "dir", help="HQ folder (never modified)", required=True), OUT,
                Param("scale", "int", 4, "integer downscale factor", min=1, max=16),
                Param("filter", "choice", "bicubic", "downscale filter when the pipeline has no "
                      "downscale step", choices=FILTER_NAMES),
                PIPELINE, PLUGIN, SEED, VARIATIONS,
                Param("write_hq", "bool", True, "also write the (mod-cropped, transformed) HQ"),
                PNG_FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action make-lq --input hq --output pairs --scale 4",
                  "dataset-forge --action make-lq --input hq --output pairs --scale 4 "
                  "--pipeline assets/pipelines/realistic_lq.toml --seed 1 --variations 2"))
def make_lq(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Write OUTPUT/hq (HQ cropped to a multiple of --scale) and OUTPUT/lq (HQ / scale). With
    --pipeline, its ops run in order on the pair: degradations before the `downscale` step work
    at HQ resolution, after it at LQ resolution; without a `downscale` step one is appended."""
    scale = params["scale"]
    ensure_plugins(params["plugin"])
    steps = list(load_pipeline(params["pipeline"]).steps) if params["pipeline"] else []
    downs = [s for s in steps if s.op == "downscale"]
    if len(downs) > 1 or any(s.p < 1 for s in downs):
        raise UsageError("make-lq: the pipeline may hold one downscale step, with p = 1")
    if any(dict(s.specs)["scale"].to_json() not in (0, scale) for s in downs):
        raise UsageError(f"make-lq: the pipeline's downscale scale differs from --scale {scale}")
    if not downs:
        steps += parse_pipeline([{"op": "downscale", "filter": params["filter"]}]).steps
    pipeline = Pipeline(tuple(steps), params["pipeline"] or "make-lq")
    if not params["write_hq"] and pipeline.kinds() - {DEGRADE.value, RESAMPLE.value}:
        raise UsageError("--no-write-hq: the pipeline changes HQ too (geometric or colour ops)")
    return run_pipeline(ctx, "make-lq", params, pipeline, mode="make_lq", scale=scale,
                        write_hq=params["write_hq"])


# ---------------------------------------------------------------------------------- tile

@dataclass(frozen=True)
class Tiling:
    out: Path
    tile: int
    overlap: int
    min_edge: int
    flat_std: float
    best: int
    quality: int
    pairs: bool = False
    extra: dict = field(default_factory=dict)


def tile_one(cfg: Tiling, job: Job) -> dict[str, Any]:
    """Worker: cut one image (or HQ/LQ pair) into tiles and write the kept ones."""
    hq = load_image(job.source)
    lq = load_image(job.lq) if job.lq else None
    hq_icc, lq_icc = icc_of(hq), icc_of(lq) if lq is not None else None
    factor = Frame(hq, lq).factor if lq is not None else 1
    if cfg.tile % factor or cfg.overlap % factor:
        raise ValueError(f"tile size {cfg.tile} and overlap {cfg.overlap} must be multiples of "
                         f"the pair's scale {factor}")
    candidates = []
    for box in tile_boxes(hq.size, cfg.tile, cfg.overlap, cfg.min_edge, factor):
        piece = hq.crop(box)
        g = grey(piece)
        if cfg.flat_std and is_flat(piece, g, cfg.flat_std):
            continue
        candidates.append((complexity(g), box, piece))
    if cfg.best:
        keep = sorted(candidates, key=lambda c: -c[0])[:cfg.best]
        candidates = sorted(keep, key=lambda c: (c[1][1], c[1][0]))
    outputs, tiles = [], []
    for score, box, piece in candidates:
        name = f"{job.name}_y{box[1]}_x{box[0]}"
        if lq is None:
            outputs.append(save_image(piece, out_path(cfg.out, job, "", name), cfg.quality,
                                      hq_icc))
        else:
            outputs.append(save_image(piece, out_path(cfg.out, job, "hq", name), cfg.quality,
                                      hq_icc))
            lq_box = tuple(v // factor for v in box)
            outputs.append(save_image(lq.crop(lq_box), out_path(cfg.out, job, "lq", name),
                                      cfg.quality, lq_icc))
        tiles.append({"box": list(box), "complexity": round(score, 3)})
    return {"input": str(job.source), "key": job.key, "variation": 0, "size": list(hq.size),
            "tiles": tiles, "outputs": [str(p.relative_to(cfg.out)) for p in outputs]}


@action("tile", Family.TRANSFORM, "Cut images (or HQ/LQ pairs in lockstep) into tiles",
        params=[IN, HQ_IN, LQ_IN, OUT,
                Param("tile_size", "int", 512, "tile side in (HQ) pixels", min=8),
                Param("overlap", "int", 0, "pixels shared by neighbouring tiles", min=0),
                Param("min_edge", "int", 0, "keep partial edge tiles at least this many pixels "
                      "wide and high (0 = full tiles only)", min=0),
                Param("flat_std", "float", 0.0, "skip tiles whose grey-level standard deviation "
                      "is below this (and fully transparent ones); 0 = keep all", min=0.0),
                Param("best", "int", 0, "keep only the N most detailed tiles per image (0 = all)",
                      min=0),
                FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action tile --input photos --output tiles --tile-size 512 "
                  "--overlap 64 --flat-std 4 --best 8",
                  "dataset-forge --action tile --hq hq --lq lq_x4 --output tiles --tile-size 256"))
def tile_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Cut each image into --tile-size squares named NAME_y<top>_x<left> (HQ coordinates). In
    pair mode HQ tiles go to OUTPUT/hq and the matching LQ regions (box / scale) to OUTPUT/lq."""
    if params["overlap"] >= params["tile_size"]:
        raise UsageError("--overlap must be smaller than --tile-size")
    report = Report("tile", params)
    items, pairs = gather(params, report)
    out = Path(params["output"]).expanduser().resolve()
    cfg = Tiling(out, params["tile_size"], params["overlap"], params["min_edge"],
                 params["flat_std"], params["best"], params["quality"], pairs)
    jobs = make_jobs(items, 1, params["format"])
    print_ = fingerprint({k: v for k, v in vars(cfg).items() if k != "out"} | {"f": params["format"]})
    run_jobs(ctx, report, functools.partial(tile_one, cfg), jobs, out, print_, "tile")
    report.summary.update({"inputs": len(items), "mode": "pairs" if pairs else "single"})
    return report
