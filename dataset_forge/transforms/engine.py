"""The transform engine shared by the transform and augment actions.

Every writing run is a list of `Job`s (one input or HQ/LQ pair x one variation) run through
`ctx.map`; each worker loads, transforms and atomically writes its outputs and returns a record
appended to `<action>_log.jsonl` (inputs, seed, drawn parameters, outputs). A journal keyed by a
fingerprint of everything that shapes outputs makes reruns skip finished work.

Before anything is written, jobs whose output names collide (a.jpg and a.webp both to a.png)
become `NameCollision` failures: the first input in sorted order keeps the name. A worker that
cannot read a second input (a pair's LQ, a mixup partner) raises `PartnerError`, so the report
blames that file rather than the job's own source.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..context import RunContext
from ..errors import UsageError
from ..io import (Journal, OutputClaims, check_output, fingerprint, iter_images, pair_folders,
                  pair_key, remove_leftover_temporaries)
from ..io.images import first_frame_only
from ..io.journal import end_cut_line
from ..parallel import Failure
from ..reports.report import Report, Table
from .ops.files import icc_of, is_grey_source, load_image, output_suffix, save_image
from .ops.geometric import modcrop
from .ops.registry import RESAMPLE
from .pairfit import describe_trim, fit_pair
from .pipeline import Frame, Pipeline, image_entropy
from .plugins import ensure_plugins

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
        """The journal key: the output name (unique per run, unlike the key of a.jpg and a.webp)."""
        return f"{self.name}{self.suffix}"

    def __str__(self) -> str:
        """How a failure names this job in reports: the input file (and its output, if renamed)."""
        return str(self.source) + (f" -> {self.name}{self.suffix}" if self.name != self.key else "")


@dataclass(frozen=True)
class PipelineRun:
    """What every job of a pipeline run shares (pickled once per worker chunk)."""

    pipeline: Pipeline
    seed: int
    out: Path
    quality: int = 95
    mode: str = "single"          # single | pairs | make_lq
    scale: int = 0                # make-lq's scale
    write_hq: bool = True
    plugins: tuple[str, ...] = ()
    trim: float | None = None     # pairs: fit_pair's tolerance; None = pairs must be exact

    def fingerprint(self, extra: dict | None = None) -> str:
        return fingerprint({"pipeline": self.pipeline.to_json(), "seed": self.seed,
                            "quality": self.quality, "mode": self.mode, "scale": self.scale,
                            "write_hq": self.write_hq, "plugins": _plugin_hashes(self.plugins),
                            **({"trim": self.trim} if self.trim is not None else {}),
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


class TooSmall(ValueError):
    """An image with a side shorter than make-lq's scale."""


class PartnerError(Exception):
    """A job's second input (an LQ partner, a mixup partner) could not be read."""

    def __init__(self, path: Path, role: str, error: Exception) -> None:
        super().__init__(f"{error} ({role})")
        self.path, self.error_type = path, type(error).__name__


def load_partner(path: Path, role: str) -> Any:
    """`load_image(path)`, raising PartnerError (which names `path` and its `role`) on failure."""
    try:
        return load_image(path)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the report names this file
        raise PartnerError(path, role, exc) from None


def input_losses(*loaded: tuple[Path | None, Any], writes_to: str = "") -> dict[str, Any]:
    """A worker's record entries naming the (path, loaded image) inputs that lost something:
    animated ones (only their first frame was used), ones deeper than 8 bits (16-bit grey
    written as 8-bit) and, when the outputs are `writes_to` JPEG or BMP, ones with real
    transparency (flattened onto white); run_jobs turns each into a finding."""
    loaded = tuple((str(path), img) for path, img in loaded if img is not None)
    animated = {path: img.info["frames"] for path, img in loaded if img.info.get("frames", 1) > 1}
    deep = {path: img.info["deep_source"] for path, img in loaded if img.info.get("deep_source")}
    flat = {path: writes_to for path, img in loaded if writes_to.lower() in OPAQUE_SUFFIXES
            and img.mode in ("RGBA", "LA") and img.getchannel("A").getextrema()[0] < 255}
    return {**({"first_frame_of": animated} if animated else {}),
            **({"reduced_to_8_bit": deep} if deep else {}),
            **({"transparency_flattened": flat} if flat else {})}


#: input_losses' record key -> (the summary's count, the finding from the recorded detail)
LOSS_FINDINGS = {
    "first_frame_of": ("animated_first_frame_only", first_frame_only),
    "transparency_flattened": ("transparency_flattened",
                               lambda suffix: f"transparent: flattened onto white for {suffix}"),
    "reduced_to_8_bit": ("reduced_to_8_bit", lambda mode: f"{mode} grey, deeper than 8 bits: "
                         "written as 8-bit (scaled, not clipped)"),
}


#: output formats without an alpha channel: a transparent input is flattened onto white
OPAQUE_SUFFIXES = (".jpg", ".jpeg", ".bmp")


def blaming(worker: Callable[[Job], dict], job: Job) -> dict[str, Any]:
    """Run `worker`; a PartnerError becomes a record that run_jobs turns into a failure of the
    partner's path (what went wrong travels back from any backend as plain data)."""
    try:
        return worker(job)
    except PartnerError as exc:
        return {"failed": {"item": str(exc.path), "error_type": exc.error_type,
                           "message": f"{exc}; {job.name}{job.suffix} not written"}}


def apply_pipeline(cfg: PipelineRun, job: Job) -> dict[str, Any]:
    """Worker: load, run the pipeline, write the outputs; return the log record."""
    ensure_plugins(cfg.plugins)
    frame, trim = Frame(load_image(job.source)), None
    losses = input_losses((job.source, frame.hq), writes_to=job.suffix)
    hq_icc = lq_icc = icc_of(frame.hq)
    hq_grey = lq_grey = is_grey_source(frame.hq)
    if cfg.mode == "make_lq":
        if min(frame.hq.size) < cfg.scale:
            raise TooSmall(f"{frame.hq.width}x{frame.hq.height} is smaller than --scale "
                           f"{cfg.scale} on a side: no LQ pixel can be made from it")
        frame.hq = modcrop(frame.hq, cfg.scale)
        frame.snap = frame.scale = cfg.scale
        # LQ starts as HQ. Built-in ops never edit their input, so both share one full-size
        # buffer until an op makes a new LQ; a plugin op might edit in place: it gets a copy
        frame.lq = frame.hq if cfg.pipeline.builtin_only() else frame.hq.copy()
    elif cfg.mode == "pairs":
        frame.lq = load_partner(job.lq, f"LQ partner of {job.source}")
        lq_icc, lq_grey = icc_of(frame.lq), is_grey_source(frame.lq)
        losses = input_losses((job.source, frame.hq), (job.lq, frame.lq),
                                writes_to=job.suffix)
        if cfg.trim is not None:
            frame.hq, frame.lq, trim = fit_pair(frame.hq, frame.lq, cfg.trim)
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
            "ops": log, **({"trim": trim} if trim else {}), **losses}


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
        for path, kept in pairing.left_out:
            report.add_failure(Failure(str(path), "NameCollision", f"{path} has the same name "
                                       f"stem as {kept}, which is paired instead; rename one"))
        return [(h, l, pair_key(h, hq)) for h, l in pairing.pairs], True
    if not single:
        raise UsageError("--input is required" + (" (or --hq and --lq)" if allow_pairs else ""))
    check_output(params["output"], (single,))
    return [(p, None, pair_key(p, single)) for p in iter_images(single)], False


def job_unit(report: Report, jobs: list[Job]) -> str:
    """What a run's jobs count: outputs (several variations per input), pairs or images."""
    if any(job.variation for job in jobs):
        return "outputs"
    return "pairs" if report.params.get("hq") else "images"


def run_jobs(ctx: RunContext, report: Report, worker: Callable[[Job], dict], jobs: list[Job],
             out: Path, print_fingerprint: str, label: str) -> None:
    """Run `worker` over jobs not yet journaled; log records; fill the report's counts."""
    planned, jobs = len(jobs), _without_collisions(jobs, out, report)
    ctx.failed_before(len(report.failures), job_unit(report, jobs))  # gather's and collisions
    out.mkdir(parents=True, exist_ok=True)
    remove_leftover_temporaries(out)  # a hard-killed earlier run's half-written files
    log_path = out / f"{report.action}_log.jsonl"
    journal = Journal(out / ".forge-journal" / f"{report.action}.jsonl", print_fingerprint)
    if len(journal) == 0 and log_path.exists():
        log_path.unlink()  # a fresh run (new parameters): the old log no longer describes outputs
    end_cut_line(log_path)
    pending = [j for j in jobs if not _finished(journal, j, out)]
    ctx.done_before(len(jobs) - len(pending), job_unit(report, jobs))
    written, failed, trimmed, preview = 0, 0, 0, []
    lost: dict[str, set[str]] = {key: set() for key in LOSS_FINDINGS}   # inputs said once
    with journal, open(log_path, "a", encoding="utf-8") as log:
        for outcome in ctx.map(functools.partial(blaming, worker), pending, label=label,
                               unit=job_unit(report, jobs)):
            record = outcome.value if outcome.ok else None
            if record is None or "failed" in record:
                report.add_failure(outcome.error or Failure(**record["failed"]))
                failed += 1
                continue
            log.write(json.dumps(record, default=str) + "\n")
            log.flush()
            journal.mark(outcome.item.id, record["outputs"])
            for key, (_, finding) in LOSS_FINDINGS.items():
                for path, detail in record.get(key, {}).items():
                    if path not in lost[key]:   # a variation or a shared partner: said once
                        lost[key].add(path)
                        report.findings.append({"path": path, "finding": finding(detail)})
            if record.get("trim"):
                trimmed += 1
                report.findings.append({"path": record["input"],
                                        "finding": describe_trim(record["trim"])})
            written += len(record["outputs"])
            if len(preview) < 30:
                preview.append([outcome.item.key, outcome.item.variation,
                                ", ".join(record["outputs"]), _applied(record.get("ops", []))])
    report.summary.update({"jobs": planned, "done_now": len(pending) - failed,
                           "skipped_already_done": len(jobs) - len(pending),
                           "files_written": written, "failed": len(report.failures),
                           "output": str(out), **({"trimmed_pairs": trimmed} if trimmed else {}),
                           **{LOSS_FINDINGS[key][0]: len(paths)
                              for key, paths in lost.items() if paths}})
    report.files.update({"output": str(out), "log": str(log_path)})
    report.tables.append(Table(f"Outputs (first {len(preview)})",
                               ["input", "variation", "outputs", "ops applied"], preview))


def _without_collisions(jobs: list[Job], out: Path, report: Report) -> list[Job]:
    """Jobs whose output name no earlier job claimed; the others become failures."""
    claims, kept = OutputClaims(), []
    for job in jobs:
        clash = claims.claim(job.source, out_path(out, job))
        if clash:
            report.add_failure(Failure(str(job), "NameCollision", clash))
        else:
            kept.append(job)
    return kept


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
    trim = params["pixel_tolerance"] if mode == "pairs" and params.get("trim") else None
    cfg = PipelineRun(pipeline, params.get("seed", 0), out, params.get("quality", 95), mode, scale,
                      write_hq, plugins, trim)
    jobs = make_jobs(items, params.get("variations", 1), params.get("format", "same"))
    run_jobs(ctx, report, functools.partial(apply_pipeline, cfg), jobs, out, cfg.fingerprint(extra),
             report.action)
    report.summary.update({"inputs": len(items), "mode": mode, "seed": cfg.seed,
                           "pipeline": pipeline.source})
    return report
