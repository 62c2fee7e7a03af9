"""Run one action from raw parameters: the single path the CLI and the app both take."""
from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .actions.registry import Action
from .context import DONE_EARLIER, REFUSED, THUMBNAIL_PASS, RunContext
from .errors import UsageError
from .io.atomic import remove_leftover_temporaries
from .io.discover import SharedWalks, WalkProblem
from .io.paths import check_writable_folder
from .parallel import CancelToken, ParallelConfig, ProcessingType, RunSummary, Sink, WorkKind
from .parallel.events import null_sink
from .parallel.runlog import append_run
from .reports.report import Report, Table


#: parameters that name folders of images to read; an empty one is a usage error for any action
IMAGE_FOLDER_PARAMS = ("input", "hq", "lq")


class ReportNotWritten(UsageError):
    """The run ended but its report could not be written (disk full, folder gone): the face
    still shows `report`, then the one-line error."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


def require_images(action: Action, params: dict[str, Any],
                   walks: SharedWalks | None = None) -> SharedWalks:
    """Refuse, in one line, an image folder with no images in it (by the one discovery rule,
    `io.discover`), or HQ and LQ folders that are one and the same (before anything starts).
    Each folder is walked only to its first image; the walk then waits for the action to go
    on with it (`SharedWalks`), so a run walks each input once."""
    walks = walks or SharedWalks()
    hq, lq = params.get("hq"), params.get("lq")
    if hq and lq and Path(hq).resolve() == Path(lq).resolve():
        raise UsageError(f"--hq and --lq are the same folder ({hq}): pairs need two folders")
    for name in IMAGE_FOLDER_PARAMS:
        folder = params.get(name)
        if folder is None or action.param(name).type != "dir":
            continue
        first, found = walks.first_image(folder, bool(params.get("include_hidden")))
        if first is None:  # the walk ran to the end: every problem is known
            hint = f" ({len(found)} could not be read, first {found[0]})" if found else ""
            raise UsageError(f"--{name} {folder}: no images found{hint}")
    return walks


def report_walk_problems(report: Report, problems: list[WalkProblem]) -> None:
    """What discovery could not walk becomes findings and a table, never a silent skip."""
    if not problems:
        return
    report.findings.extend(problem.finding() for problem in problems)
    report.summary["not_walked"] = len(problems)
    report.tables.append(Table("Not read while finding images", ["path", "problem", "reason"],
                               [[str(p.path), p.kind, p.reason] for p in problems]))


def default_report_dir(action: Action, params: dict[str, Any], reports_root: Path) -> Path:
    """Outputs' folder when the action writes one; otherwise a fresh folder under reports."""
    output = params.get("output")
    if output:
        return Path(output)
    return reports_root / f"{action.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_action(action: Action, raw_params: dict[str, Any], *, config: ParallelConfig,
               settings: Any = None, sink: Sink = null_sink, cancel: CancelToken | None = None,
               report_dir: Path | None = None, log_dir: Path | None = None) -> Report:
    """Validate parameters, run the action, write its JSON report, append the run log."""
    params = action.parse_params(raw_params)
    walks = require_images(action, params)
    if settings is None:  # library use: the user's settings file, as the CLI would read it
        from .settings import load_settings, resolve_settings_path
        settings = load_settings(resolve_settings_path()).settings
    for param in action.params:        # every folder the action writes into (type "path")
        if param.type == "path" and params.get(param.name):
            check_writable_folder(params[param.name], param.flag)
    if report_dir is not None:
        check_writable_folder(report_dir, "--report-dir")
    else:
        if not params.get("output"):
            check_writable_folder(settings.reports_dir(), "reports.dir")
        report_dir = default_report_dir(action, params, Path(settings.reports_dir()))
    notes = [note for note in [config.worker_plan(action.kind)[1]] if note]
    t0 = time.perf_counter()
    with _one_cluster_per_run(config, action.kind) as config, walks.active():
        ctx = RunContext(config=config, report_dir=Path(report_dir), sink=sink,
                         cancel=cancel or CancelToken(), kind=action.kind)
        report: Report = action.run(ctx, params)
    report.cancelled = report.cancelled or ctx.cancelled
    if report.cancelled and action.writes:
        _sweep_temporaries(params)
    report_walk_problems(report, walks.problems(finish=not report.cancelled))
    report.run = _combine(ctx.summaries, time.perf_counter() - t0, action, config, report)
    report.notes[:0] = notes
    report.files = {name: str(Path(path).resolve()) for name, path in report.files.items()}
    try:
        ctx.report_dir.mkdir(parents=True, exist_ok=True)
        report.write_json(ctx.report_dir)
    except OSError as exc:
        raise ReportNotWritten(f"the report could not be written to {ctx.report_dir}: "
                               f"{exc.strerror or exc}", report) from None
    if log_dir is not None:
        try:
            _log_run(Path(log_dir), action, report)
        except OSError as exc:
            report.notes.append(f"the run log could not be written to {log_dir}: "
                                f"{exc.strerror or exc}")
    return report


def _log_run(log_dir: Path, action: Action, report: Report) -> None:
    """One line in `<log_dir>/runs.jsonl` for this run."""
    append_run(log_dir, {
        "action": action.name, "params": report.to_dict()["params"],
        "processing_type": report.run.processing_type, "workers": report.run.workers,
        "duration_s": round(report.run.elapsed, 3), "ok": report.run.ok,
        "failed": report.run.failed, "cancelled": report.cancelled,
        "peak_rss_mb": round(report.run.peak_rss_mb, 1),
        "busy_s": round(report.run.busy_seconds, 3),
        "utilisation": round(report.run.utilisation, 3), "report": report.files.get("report"),
    })


def _sweep_temporaries(params: dict[str, Any]) -> None:
    """After a cancel, remove the temporary files of items whose worker was stopped before it
    could clean up (a worker busy in a C encoder gets SIGKILL when SIGTERM is not handled in
    time); the run lock keeps other runs out of these folders."""
    folders = [params.get("output")] + ([params.get("input")] if params.get("in_place") else [])
    for folder in filter(None, folders):
        remove_leftover_temporaries(folder)


@contextlib.contextmanager
def _one_cluster_per_run(config: ParallelConfig, kind: WorkKind):
    """On the dask backend, start the cluster once for the whole action, not once per pass
    over the data; every pass connects to it by address. It is closed whatever happens."""
    if config.resolved_type(kind) is not ProcessingType.DASK or config.dask.scheduler_address:
        yield config
        return
    from .parallel.cluster import open_cluster
    conn = open_cluster(config.dask, config.workers(WorkKind.CPU))
    try:
        shared = replace(config.dask, scheduler_address=conn.address,
                         expected_workers=conn.threads())
        yield config.with_(dask=shared)
    finally:
        conn.close()


def _combine(summaries: list[RunSummary], elapsed: float, action: Action,
             config: ParallelConfig, report: Report) -> RunSummary:
    """One summary for the whole action, however many passes it ran over the parallel core.
    Thumbnails made for a report page are not the action's work: they never set its counts.
    Items refused while planning (`RunContext.failed_before`) join the counted pass; items an
    earlier run finished (`RunContext.done_before`) are named beside it.
    Its counts are those of the largest pass over what the action declares it counts
    (`Action.unit`; else the largest pass, with its own unit); workers and processing type
    those of the largest pass that ran on the core."""
    busy = sum(s.busy_seconds for s in summaries)
    refused = [s for s in summaries if s.label == REFUSED]
    earlier = [s for s in summaries if s.label == DONE_EARLIER]
    summaries = [s for s in summaries
                 if s.label not in (THUMBNAIL_PASS, REFUSED, DONE_EARLIER)] or refused
    if not summaries:
        return RunSummary(action.name, ok=0, failed=len(report.failures), elapsed=elapsed,
                          workers=1, processing_type=config.resolved_type(action.kind).value,
                          cancelled=report.cancelled, unit=action.unit,
                          earlier=sum(s.ok for s in earlier if s.unit == action.unit))
    main = max([s for s in summaries if s.unit == action.unit] or summaries,
               key=lambda s: s.total)
    ran = max([s for s in summaries if s.workers] or summaries, key=lambda s: s.total)
    before = sum(s.failed for s in refused if s.unit == main.unit and s is not main)
    failed = max(main.failed + before, len(report.failures))
    return replace(main, label=action.name, elapsed=elapsed, workers=ran.workers,
                   processing_type=ran.processing_type,
                   failed=failed, ok=main.total + before - failed,
                   earlier=sum(s.ok for s in earlier if s.unit == main.unit),
                   cancelled=report.cancelled or any(s.cancelled for s in summaries),
                   busy_seconds=busy,
                   peak_rss_mb=max(s.peak_rss_mb for s in summaries))
