"""Transforms: `resize`, `crop`, `tile`, `make-lq`, on the engine in `transforms/engine.py`."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..context import RunContext
from ..errors import UsageError
from ..io import file_digest, fingerprint
from ..parallel import WorkKind
from ..reports.report import Report, Table
from ..transforms.engine import (Job, input_losses, gather, load_partner, make_jobs, out_path,
                                 run_jobs, run_pipeline)
from ..transforms.ops.files import icc_of, load_image, save_image
from ..transforms.ops.geometric import FILTER_NAMES
from ..transforms.ops.registry import DEGRADE, RESAMPLE
from ..transforms.ops.tiles import complexity, grey, is_flat, tile_boxes
from ..transforms.pairfit import fit_pair
from ..transforms.pipeline import Frame, Pipeline, load_pipeline, parse_pipeline, single_step
from ..transforms.plugins import ensure_plugins
from .common import (FORMAT, HQ_IN, IN, LQ_IN, OUT, PIPELINE, PLUGIN, PNG_FORMAT, QUALITY, SEED,
                     TRIM, TRIM_TOLERANCE, VARIATIONS, op_params)
from .registry import Family, Param, Reads, action

#: rows of a report table shown in the terminal and the app (the findings list every input)
MAX_TABLE_ROWS = 40


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
        params=[IN, HQ_IN, LQ_IN, OUT, *op_params("crop"), TRIM, TRIM_TOLERANCE, SEED, FORMAT,
                QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action crop --input photos --output crops --mode random "
                  "--width 256 --height 256 --seed 7",
                  "dataset-forge --action crop --hq hq --lq lq_x4 --output pairs --mode random "
                  "--width 256 --height 256"))
def crop_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Crop every image (or HQ/LQ pair) to --width x --height. In pair mode the box is drawn on
    HQ in multiples of the pair's scale and the LQ crop is the same region divided by it. Pairs a
    few pixels off an integer scale are trimmed first (--trim, see --pixel-tolerance)."""
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
        kind=WorkKind.CPU, writes=True, reads=Reads.HQ,
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
    trim: float | None = None     # fit_pair's tolerance; None = pairs must be exact
    rank: str = "gradient"        # gradient (mean absolute gradient) or ic9600 (ICNet)
    min_score: float = 0.0        # drop tiles scoring below this (0 = keep all)
    weights: str | None = None    # the IC9600 checkpoint for rank ic9600
    device: str = "auto"


def tile_one(cfg: Tiling, job: Job) -> dict[str, Any]:
    """Worker: cut one image (or HQ/LQ pair) into tiles and write the kept ones."""
    hq = load_image(job.source)
    lq = load_partner(job.lq, f"LQ partner of {job.source}") if job.lq else None
    hq_icc, lq_icc = icc_of(hq), icc_of(lq) if lq is not None else None
    losses = input_losses((job.source, hq), (job.lq, lq), writes_to=job.suffix)
    trim = None
    if lq is not None and cfg.trim is not None:
        hq, lq, trim = fit_pair(hq, lq, cfg.trim)
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
    if cfg.rank == "ic9600" and candidates:
        from ..models.icnet import tile_complexity
        scores = tile_complexity([c[2] for c in candidates], cfg.weights, cfg.device)
        candidates = [(s, box, piece) for s, (_, box, piece) in zip(scores, candidates)]
    if cfg.min_score:
        candidates = [c for c in candidates if c[0] >= cfg.min_score]
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
        tiles.append({"box": list(box), "complexity": round(score, 4)})
    return {"input": str(job.source), "key": job.key, "variation": 0, "size": list(hq.size),
            "tiles": tiles, "outputs": [str(p.relative_to(cfg.out)) for p in outputs],
            **({"trim": trim} if trim else {}), **losses}


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
                Param("rank", "choice", "gradient", "how detail is measured for --best and "
                      "--min-score: gradient (mean absolute grey-level gradient, no model) or "
                      "ic9600 (learned image complexity 0..1, ICNet; needs --ic9600-weights)",
                      choices=("gradient", "ic9600")),
                Param("min_score", "float", 0.0, "drop tiles whose detail score (see --rank) is "
                      "below this; 0 = keep all", min=0.0),
                Param("ic9600_weights", "file", help="the IC9600 checkpoint (ck.pth) for --rank "
                      "ic9600, a local file (nothing is downloaded)"),
                TRIM, TRIM_TOLERANCE, FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action tile --input photos --output tiles --tile-size 512 "
                  "--overlap 64 --flat-std 4 --best 8",
                  "dataset-forge --action tile --hq hq --lq lq_x4 --output tiles --tile-size 256",
                  "dataset-forge --action tile --input photos --output tiles --tile-size 512 "
                  "--rank ic9600 --ic9600-weights ck.pth --best 4 --min-score 0.3"))
def tile_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Cut each image into --tile-size squares named NAME_y<top>_x<left> (HQ coordinates). In
    pair mode HQ tiles go to OUTPUT/hq and the matching LQ regions (box / scale) to OUTPUT/lq;
    pairs a few pixels off an integer scale are trimmed first (--trim, see --pixel-tolerance)."""
    if params["overlap"] >= params["tile_size"]:
        raise UsageError("--overlap must be smaller than --tile-size")
    report = Report("tile", params)
    items, pairs = gather(params, report)
    out = Path(params["output"]).expanduser().resolve()
    weights = None
    if params["rank"] == "ic9600":   # one-line errors (extra, weights) before any work
        from ..models.icnet import load_icnet
        load_icnet(params["ic9600_weights"], "cpu")
        weights = str(Path(params["ic9600_weights"]).expanduser().resolve())
    elif params["ic9600_weights"]:
        raise UsageError("--ic9600-weights is for --rank ic9600")
    cfg = Tiling(out, params["tile_size"], params["overlap"], params["min_edge"],
                 params["flat_std"], params["best"], params["quality"],
                 params["pixel_tolerance"] if pairs and params["trim"] else None,
                 params["rank"], params["min_score"], weights, ctx.config.device)
    jobs = make_jobs(items, 1, params["format"])
    shaping = {k: v for k, v in vars(cfg).items()
               if k not in ("out", "device") and (k != "trim" or v is not None)
               and (k not in ("rank", "min_score", "weights") or v not in ("gradient", 0.0, None))}
    if weights:
        shaping["weights"] = file_digest(Path(weights))
    print_ = fingerprint(shaping | {"f": params["format"]})
    run_jobs(ctx, report, functools.partial(tile_one, cfg), jobs, out, print_, "tile")
    report.summary.update({"inputs": len(items), "mode": "pairs" if pairs else "single"})
    _say_inputs_without_tiles(report, Path(report.files["log"]), cfg)
    return report


def _say_inputs_without_tiles(report: Report, log: Path, cfg: Tiling) -> None:
    """Count the tiles of every journaled input (this run's and earlier ones', from the log)
    and name each input that gave none, with the reason: smaller than one tile, or every
    tile flat or below --min-score."""
    records = {}
    if log.exists():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
                records[record["key"]] = record
            except (ValueError, KeyError, TypeError):
                continue   # a line a hard kill cut short: its job is redone and logged again
    empty = [r for r in records.values() if not r["tiles"]]
    report.summary.update({"tiles": sum(len(r["tiles"]) for r in records.values()),
                           "inputs_without_tiles": len(empty)})
    rows = []
    for record in empty:
        w, h = record["size"]
        small = not tile_boxes((w, h), cfg.tile, cfg.overlap, cfg.min_edge)
        why = (f"{w}x{h} is smaller than one {cfg.tile}x{cfg.tile} tile" if small else
               "every tile was flat (--flat-std) or below --min-score")
        report.findings.append({"path": record["input"], "finding": f"no tiles: {why}"})
        rows.append([record["key"], f"{w}x{h}", why])
    if rows:
        report.tables.append(Table(f"Inputs without tiles ({len(rows)})",
                                   ["input", "size", "why"], rows[:MAX_TABLE_ROWS]))
