"""The transform engine shared by the transform and augment actions.

Every writing run is a list of `Job`s (one input or HQ/LQ pair x one variation) run through
`ctx.map`; each worker loads, transforms and atomically writes its outputs and returns a record
appended to `<action>_log.jsonl` (inputs, seed, drawn parameters, outputs). A journal keyed by a
fingerprint of everything that shapes outputs makes reruns skip finished work.
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
from ..io import (Journal, check_output, fingerprint, iter_images, pair_folders, pair_key,
                  remove_leftover_temporaries)
from ..reports.report import Report, Table
from .ops.files import icc_of, is_grey_source, load_image, output_suffix, save_image
from .ops.geometric import modcrop
from .ops.registry import RESAMPLE
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
        return f"{self.key}#{self.variation}"

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


def apply_pipeline(cfg: PipelineRun, job: Job) -> dict[str, Any]:
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
    cfg = PipelineRun(pipeline, params.get("seed", 0), out, params.get("quality", 95), mode, scale,
                 write_hq, plugins)
    jobs = make_jobs(items, params.get("variations", 1), params.get("format", "same"))
    run_jobs(ctx, report, functools.partial(apply_pipeline, cfg), jobs, out, cfg.fingerprint(extra),
             report.action)
    report.summary.update({"inputs": len(items), "mode": mode, "seed": cfg.seed,
                           "pipeline": pipeline.source})
    return report
