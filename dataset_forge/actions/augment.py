"""Augmentation: `augment` runs a pipeline file (N seeded variations, HQ/LQ pairs in lockstep,
plugin ops), `mixup` blends each image with a seeded partner (mixup or CutMix)."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..context import RunContext
from ..errors import UsageError
from ..io import fingerprint
from ..transforms.ops.files import icc_of, is_grey_source, load_image, save_image
from ..transforms.ops.mix import cutmix, cutmix_box, mixup
from ..parallel import WorkKind
from ..transforms.pipeline import image_entropy, load_pipeline, step_rng
from ..transforms.plugins import ensure_plugins
from ..reports.report import Report
from ..transforms.engine import (Job, input_losses, gather, load_partner, make_jobs, out_path,
                                 run_jobs, run_pipeline)
from .common import (FORMAT, HQ_IN, IN, LQ_IN, OUT, PIPELINE, PLUGIN, QUALITY, SEED,
                     VARIATIONS)
from .registry import Family, Param, Reads, action


@action("augment", Family.AUGMENT, "Run a pipeline file: seeded variations, HQ/LQ pairs in lockstep",
        params=[IN, HQ_IN, LQ_IN, OUT, Param("pipeline", PIPELINE.type, help=PIPELINE.help,
                                               required=True),
                PLUGIN, SEED, VARIATIONS, FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True,
        examples=("dataset-forge --action augment --input photos --output aug "
                  "--pipeline assets/pipelines/augment_basic.toml --variations 4 --seed 1",
                  "dataset-forge --action augment --hq hq --lq lq_x4 --output aug "
                  "--pipeline assets/pipelines/pair_augment.toml",
                  "dataset-forge --action augment --input photos --output flipped "
                  "--pipeline '[{\"op\": \"flip\"}]'"))
def augment(ctx: RunContext, params: dict[str, Any]) -> Report:
    """Apply the pipeline's ops in order to every image, --variations times with distinct draws
    (NAME_v01, NAME_v02, ...). With --hq/--lq, geometric ops draw once per pair and apply to
    both (LQ coordinates = HQ / scale), colour ops apply alike, degradations touch LQ only.
    Every output's drawn parameters are in OUTPUT/augment_log.jsonl."""
    ensure_plugins(params["plugin"])
    return run_pipeline(ctx, "augment", params, load_pipeline(params["pipeline"]))


@dataclass(frozen=True)
class Mixing:
    out: Path
    seed: int
    alpha: float
    mode: str
    quality: int
    pool: int          # how many images partners are drawn from


@dataclass(frozen=True)
class MixJob(Job):
    partner: Path


def job_rng(seed: int, job: Job) -> np.random.Generator:
    return step_rng(image_entropy(seed, job.key, job.variation), 0)


def with_partners(jobs: list[Job], sources: list[Path], seed: int) -> list[MixJob]:
    """Draw each job's partner (never itself) from `sources`, seeded by the job alone."""
    position = {src: i for i, src in enumerate(sources)}
    mixed = []
    for job in jobs:
        own, pick = position[job.source], int(job_rng(seed, job).integers(len(sources) - 1))
        mixed.append(MixJob(**vars(job), partner=sources[pick + (pick >= own)]))
    return mixed


def mix_one(cfg: Mixing, job: MixJob) -> dict[str, Any]:
    """Worker: blend one image with its partner; weight ~ Beta(alpha, alpha)."""
    rng = job_rng(cfg.seed, job)
    rng.integers(cfg.pool - 1)  # the partner's draw (made in the main process): same stream
    lam = float(rng.beta(cfg.alpha, cfg.alpha))
    a = load_image(job.source)
    icc = icc_of(a)
    b = load_partner(job.partner, f"mixup partner of {job.source}")
    grey = is_grey_source(a) and is_grey_source(b)
    losses = input_losses((job.source, a), (job.partner, b), writes_to=job.suffix)
    mode = "RGBA" if "A" in a.mode + b.mode else "RGB"
    a, b = a.convert(mode), b.convert(mode).resize(a.size, Image.Resampling.BICUBIC)
    record: dict[str, Any] = {"input": str(job.source), "partner": str(job.partner),
                              "key": job.key, "variation": job.variation, "seed": cfg.seed,
                              **losses}
    if cfg.mode == "cutmix":
        box = cutmix_box(a.size, lam, rng)
        out = cutmix(a, b, box)
        area = (box[2] - box[0]) * (box[3] - box[1])
        record.update(box=list(box), lam=1.0 - area / (a.width * a.height), lam_drawn=lam)
    else:
        out = mixup(a, b, lam)
        record["lam"] = lam
    path = save_image(out, out_path(cfg.out, job), cfg.quality, icc, grey)
    record["outputs"] = [str(path.relative_to(cfg.out))]
    return record


@action("mixup", Family.AUGMENT, "Blend each image with a seeded partner (mixup or CutMix)",
        params=[Param("input", "dir", help="folder of images (never modified)", required=True),
                OUT, Param("mode", "choice", "mixup", "blend the whole image, or paste a box "
                           "from the partner (cutmix)", choices=("mixup", "cutmix")),
                Param("alpha", "float", 0.4, "Beta(alpha, alpha) shape of the mixing weight",
                      min=0.01, max=100.0),
                SEED, VARIATIONS, FORMAT, QUALITY],
        kind=WorkKind.CPU, writes=True, reads=Reads.HQ,
        examples=("dataset-forge --action mixup --input photos --output mixed --alpha 0.4",
                  "dataset-forge --action mixup --input photos --output cut --mode cutmix"))
def mixup_action(ctx: RunContext, params: dict[str, Any]) -> Report:
    """For each image (and variation) draw a partner and a weight lam ~ Beta(alpha, alpha):
    mixup writes lam * image + (1 - lam) * partner; cutmix pastes a partner box of about
    (1 - lam) of the area. Partners are resized to the image's size. Weights, partners and boxes
    are logged in OUTPUT/mixup_log.jsonl."""
    report = Report("mixup", params)
    items, _ = gather(params, report, allow_pairs=False)
    if len(items) < 2:
        raise UsageError("mixup needs at least two images under --input")
    out = Path(params["output"]).expanduser().resolve()
    sources = [src for src, _, _ in items]
    cfg = Mixing(out, params["seed"], params["alpha"], params["mode"], params["quality"],
                 len(sources))
    jobs = with_partners(make_jobs(items, params["variations"], params["format"]), sources,
                         cfg.seed)
    pool = "\n".join(sorted(src.relative_to(params["input"]).as_posix() for src in sources))
    print_ = {"seed": cfg.seed, "alpha": cfg.alpha, "mode": cfg.mode, "q": cfg.quality,
              "f": params["format"], "pool": hashlib.sha256(pool.encode()).hexdigest()}
    run_jobs(ctx, report, functools.partial(mix_one, cfg), jobs, out, fingerprint(print_), "mixup")
    report.summary.update({"inputs": len(items), "seed": cfg.seed, "alpha": cfg.alpha,
                           "mode": cfg.mode})
    return report
