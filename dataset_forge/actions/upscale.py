"""`upscale`: run any super-resolution model file (spandrel) over a folder or HQ/LQ pairs.

Images are decoded in loader threads and go through the model in batches on the GPU core
(`ctx.image_map`: one device, memory fraction, batch halving on out-of-memory); each image is
cut into tiles that are blended seamlessly, the tile side chosen from free GPU memory and
halved on out-of-memory. Alpha is upscaled apart (Lanczos) and carried; grey sources stay grey.
In pair mode the LQ images are upscaled and scored against their HQ partners (PSNR, SSIM), a
quick way to score a model on a dataset or to find pairs the model finds implausible.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..context import RunContext
from ..errors import UsageError
from ..io import (Journal, OutputClaims, file_digest, fingerprint,
                  remove_leftover_temporaries)
from ..metrics import psnr, ssim
from ..models.sr import PRECISIONS, SRModel, load_sr_model
from ..parallel import Failure, WorkKind
from ..reports.report import Report, RowWriter, Table
from ..transforms.engine import gather
from ..transforms.ops.files import icc_of, is_grey_source, load_image, output_suffix, save_image
from .common import FORMAT, HQ_IN, IN, LQ_IN, OUT, QUALITY
from .registry import Family, Param, Reads, action

COLUMNS = ["input", "output", "width", "height", "out_width", "out_height", "psnr", "ssim",
           "hq"]
WORST_PAIRS = 20


@dataclass(frozen=True)
class Item:
    key: str
    source: Path            # the image to upscale (LQ in pair mode)
    hq: Path | None         # its HQ partner in pair mode
    dest: Path


@dataclass
class Loaded:
    rgb: np.ndarray         # HxWxC float32 0..1, C = the model's input channels
    alpha: Image.Image | None
    icc: bytes | None
    grey: bool


@action("upscale", Family.MODELS, "Upscale images with any super-resolution model file "
        "(spandrel: ESRGAN, SwinIR, SPAN, Compact, ...); pairs: score LQ upscaled against HQ",
        params=[IN, HQ_IN, LQ_IN, OUT,
                Param("model", "file", help="model file (.pth, .safetensors); the architecture "
                      "and scale are detected from the weights", required=True),
                Param("tile", "int", 0, "tile side in input pixels (0 = from free GPU memory; "
                      "512 on the CPU); halved on out-of-memory", min=0),
                Param("overlap", "int", 32, "input pixels shared by neighbouring tiles (blended "
                      "seamlessly)", min=0, max=256),
                Param("precision", "choice", "auto", "auto = fp16 on a GPU where the model "
                      "supports it, else fp32", choices=PRECISIONS),
                Param("batch_size", "int", 0, "images per model batch (0 = automatic); halved "
                      "on out-of-memory", min=0),
                Param("write", "bool", True, "write the upscaled images (pair mode: --no-write "
                      "only scores)"),
                FORMAT, QUALITY],
        kind=WorkKind.GPU, writes=True, reads=Reads.LQ,
        examples=("dataset-forge --action upscale --input lq/ --output up/ --model 4x-model.pth",
                  "dataset-forge --action upscale --hq hq/ --lq lq_x4/ --output scored/ "
                  "--model 4x-model.safetensors --no-write"))
def upscale(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Upscale every image under --input into --output (same relative paths), or with --hq
    and --lq upscale each LQ image and score it against its HQ partner (PSNR, SSIM)."""
    report = Report("upscale", params)
    items, pairs = gather(params, report)
    out = Path(params["output"]).expanduser().resolve()
    model = load_sr_model(params["model"], device=ctx.config.device,
                          precision=params["precision"])
    tile = params["tile"] or model.auto_tile(ctx.config.gpu_memory_fraction)
    if params["overlap"] * 2 >= tile:
        raise UsageError(f"--overlap {params['overlap']} must be under half the tile ({tile})")
    jobs = _jobs(items, pairs, out, params["format"], report)
    ctx.failed_before(len(report.failures))  # unpaired stems and output name collisions
    out.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporaries(out)
    print_ = fingerprint({"model": file_digest(model.path), "precision": model.facts["precision"],
                          "format": params["format"], "quality": params["quality"],
                          "write": params["write"], "overlap": params["overlap"]})
    journal = Journal(out / ".forge-journal" / "upscale.jsonl", print_)
    pending = [j for j in jobs if not (journal.done(j.key) and
                                       (not params["write"] or j.dest.exists()))]
    rows = RowWriter(out / "upscale.csv", COLUMNS)
    scores: list[tuple[float, str]] = []
    with journal, rows:
        for outcome in ctx.image_map(lambda batch: _upscale_batch(model, batch, tile,
                                                                  params["overlap"]),
                                     pending, load=lambda job: _load(job, model.channels),
                                     batch_size=params["batch_size"], label="upscale"):
            job = outcome.item
            if not outcome.ok:
                report.add_failure(outcome.error)
                continue
            try:
                row = _finish(job, outcome.value, params, out)
            except Exception as exc:  # noqa: BLE001 - one item's failure is one line
                report.add_failure(Failure(str(job.source), type(exc).__name__, str(exc)))
                continue
            rows.write(row)
            journal.mark(job.key, row["output"])
            if row["psnr"] != "":
                scores.append((row["psnr"], job.key))
    report.summary.update({"images": len(jobs), "done_now": len(pending) - len(report.failures),
                           "skipped_already_done": len(jobs) - len(pending),
                           "failed": len(report.failures), "mode": "pairs" if pairs else "single",
                           "tile": tile, "output": str(out), **model.facts})
    if scores:
        values = np.array([s for s, _ in scores if np.isfinite(s)] or [np.inf])
        report.summary.update({"mean_psnr": round(float(values.mean()), 3),
                               "median_psnr": round(float(np.median(values)), 3)})
        worst = sorted(scores)[:WORST_PAIRS]
        report.tables.append(Table(f"Lowest PSNR pairs (of {len(scores)})", ["pair", "psnr"],
                                   [[k, round(s, 2)] for s, k in worst]))
    report.files.update({"rows_csv": str(rows.path), "output": str(out)})
    return report


def _jobs(items, pairs: bool, out: Path, fmt: str, report: Report) -> list[Item]:
    claims, jobs = OutputClaims(), []
    for src, lq, key in items:
        source, hq = (lq, src) if pairs else (src, None)
        dest = out / f"{key}{output_suffix(source, fmt)}"
        clash = claims.claim(source, dest)
        if clash:
            report.add_failure(Failure(str(source), "NameCollision", clash))
            continue
        jobs.append(Item(key, source, hq, dest))
    return jobs


def _load(job: Item, channels: int) -> Loaded:
    """Loader thread: decode, split off alpha, shape for the model's input channels."""
    img = load_image(job.source)
    icc, grey = icc_of(img), is_grey_source(img)
    alpha = img.getchannel("A") if img.mode == "RGBA" else None
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    if channels == 1:
        rgb = rgb.mean(axis=2, keepdims=True)
    elif channels != 3:
        raise UsageError(f"models with {channels} input channels are not supported")
    return Loaded(rgb, alpha, icc, grey)


def _upscale_batch(model: SRModel, batch: list[Loaded], tile: int, overlap: int) -> list:
    """Model work on the device: same-sized images share tile batches."""
    by_size: dict[tuple, list[int]] = {}
    for i, item in enumerate(batch):
        by_size.setdefault(item.rgb.shape, []).append(i)
    results: list[Any] = [None] * len(batch)
    for indices in by_size.values():
        outs = model.upscale([batch[i].rgb for i in indices], tile=tile, overlap=overlap,
                             batch=max(1, len(indices)) * 2)
        for i, arr in zip(indices, outs):
            results[i] = (batch[i], arr)
    return results


def _finish(job: Item, value, params: dict[str, Any], out: Path) -> dict[str, Any]:
    """Back in the run's thread: assemble the output image, score it, write it."""
    loaded, arr = value
    pixels = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
    if pixels.shape[2] == 1 or loaded.grey:
        image = Image.fromarray(pixels.mean(axis=2).round().astype(np.uint8)
                                if pixels.shape[2] > 1 else pixels[..., 0], "L")
    else:
        image = Image.fromarray(pixels[..., :3], "RGB")
    if loaded.alpha is not None:
        image.putalpha(loaded.alpha.resize(image.size, Image.Resampling.LANCZOS))
    row = {"input": job.key, "output": "", "width": loaded.rgb.shape[1],
           "height": loaded.rgb.shape[0], "out_width": image.width, "out_height": image.height,
           "psnr": "", "ssim": "", "hq": str(job.hq) if job.hq else ""}
    if job.hq is not None:
        row.update(_scores(image, job.hq))
    if params["write"]:
        save_image(image, job.dest, params["quality"], loaded.icc, loaded.grey)
        row["output"] = str(job.dest.relative_to(out))
    return row


def _scores(image: Image.Image, hq_path: Path) -> dict[str, float]:
    """PSNR and SSIM of the upscaled LQ against HQ, on their common top-left area."""
    hq = np.asarray(load_image(hq_path).convert("RGB"))
    up = np.asarray(image.convert("RGB"))
    h, w = min(hq.shape[0], up.shape[0]), min(hq.shape[1], up.shape[1])
    hq, up = hq[:h, :w], up[:h, :w]
    return {"psnr": round(psnr(up, hq), 3), "ssim": round(ssim(up, hq), 4)}
