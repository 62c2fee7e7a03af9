"""What an action's run function receives: the parallel set-up, a progress sink, a cancel token
and the folder its report goes to. Nothing global.

Each pass over the data (`map`, `batch_map`, `image_map`) adds its `RunSummary` to `summaries`
when it ends, also when the caller stops early (break, exception); the runner combines them.
Each pass names what it counts (`unit`, plural; images unless it says otherwise), so the
faces can say `12/64 images done` and the runner can pick the pass the action's outcome counts:

    ctx.map(score_pair, pairs, label="verifying pairs", unit="candidate pairs")
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .parallel import (BatchProcessor, CancelToken, ImageProcessor, Outcome, ParallelConfig,
                       ParallelProcessor, RunSummary, Sink, WorkKind)
from .parallel.events import null_sink


#: the label of passes that make a report's thumbnails: not the action's work, so they never
#: set the run's counts (`runner`)
THUMBNAIL_PASS = "thumbnails"
#: the label of the count `failed_before` keeps: items refused while planning, before any pass
REFUSED = "refused while planning"
#: the label of the count `done_before` keeps: items an earlier (interrupted) run finished
DONE_EARLIER = "done earlier"


@dataclass
class RunContext:
    config: ParallelConfig
    report_dir: Path
    sink: Sink = null_sink
    cancel: CancelToken = field(default_factory=CancelToken)
    kind: WorkKind = WorkKind.CPU
    summaries: list[RunSummary] = field(default_factory=list)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, kind: WorkKind | None = None,
            label: str = "", total: int | None = None,
            unit: str = "images") -> Iterator[Outcome]:
        """Run `fn` over `items` on the configured backend; outcomes stream in input order."""
        proc = ParallelProcessor(self.config, kind or self.kind, sink=self.sink, cancel=self.cancel)
        with self._pass(proc):
            yield from proc.map(fn, items, label=label, total=total, unit=unit)

    def batch_map(self, fn: Callable[[list], list], items: Iterable[Any], *, batch_size: int = 0,
                  kind: WorkKind | None = None, label: str = "",
                  total: int | None = None, unit: str = "images") -> Iterator[Outcome]:
        """Run a list-in, list-out `fn` over batches; per-item outcomes in input order."""
        bp = BatchProcessor(self.config, kind or self.kind, batch_size=batch_size,
                            sink=self.sink, cancel=self.cancel)
        with self._pass(bp):
            yield from bp.map(fn, items, label=label, total=total, unit=unit)

    def image_map(self, fn: Callable[[list], list], items: Iterable[Any], *,
                  load: Callable[[Any], Any] | None = None, batch_size: int = 0,
                  label: str = "", total: int | None = None,
                  unit: str = "images") -> Iterator[Outcome]:
        """Run a model's batch function on the configured device with out-of-memory back-off."""
        ip = ImageProcessor(self.config, batch_size=batch_size, sink=self.sink, cancel=self.cancel)
        with self._pass(ip):
            yield from ip.map(fn, items, load=load, label=label, total=total,
                              unit=unit)

    def failed_before(self, failed: int, unit: str = "images") -> None:
        """Count items that failed while the work was planned, before they could reach a pass
        (two sources claiming one output name): the runner adds them to the pass the outcome
        counts, so `156 written, 1 collision` reads `156 of 157 images ok, 1 failed`."""
        if failed:
            self.summaries.append(RunSummary(REFUSED, ok=0, failed=failed, elapsed=0.0,
                                             workers=0, processing_type="", unit=unit))

    def done_before(self, done: int, unit: str = "images") -> None:
        """Count items an earlier run of the same command finished (journaled), which this run
        skips: the outcome names them, `56 of 56 images ok, 0 failed, 66 done earlier`, so a
        finished rerun does not read `0 of 0`."""
        if done:
            self.summaries.append(RunSummary(DONE_EARLIER, ok=done, failed=0, elapsed=0.0,
                                             workers=0, processing_type="", unit=unit))

    def tally(self, label: str, ok: int, failed: int, unit: str) -> None:
        """Count work done outside the parallel core (validate's steps) as a pass of its own, so
        the run's outcome can name it: `5 of 6 steps ok, 1 failed`."""
        self.summaries.append(RunSummary(label, ok=ok, failed=failed, elapsed=0.0, workers=0,
                                         processing_type="", unit=unit))

    @contextlib.contextmanager
    def _pass(self, processor):
        """Close the processor and keep its summary however the pass ends."""
        try:
            with processor:
                yield
        finally:
            if processor.summary is not None:
                self.summaries.append(processor.summary)

    @property
    def cancelled(self) -> bool:
        return self.cancel.cancelled
