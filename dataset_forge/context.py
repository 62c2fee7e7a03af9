"""What an action's run function receives: the parallel set-up, a progress sink, a cancel token
and the folder its report goes to. Nothing global.

Each pass over the data (`map`, `batch_map`, `image_map`) adds its `RunSummary` to `summaries`
when it ends, also when the caller stops early (break, exception); the runner combines them.
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


@dataclass
class RunContext:
    config: ParallelConfig
    report_dir: Path
    sink: Sink = null_sink
    cancel: CancelToken = field(default_factory=CancelToken)
    kind: WorkKind = WorkKind.CPU
    summaries: list[RunSummary] = field(default_factory=list)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, kind: WorkKind | None = None,
            label: str = "", total: int | None = None) -> Iterator[Outcome]:
        """Run `fn` over `items` on the configured backend; outcomes stream in input order."""
        proc = ParallelProcessor(self.config, kind or self.kind, sink=self.sink, cancel=self.cancel)
        with self._pass(proc):
            yield from proc.map(fn, items, label=label, total=total)

    def batch_map(self, fn: Callable[[list], list], items: Iterable[Any], *, batch_size: int = 0,
                  kind: WorkKind | None = None, label: str = "",
                  total: int | None = None) -> Iterator[Outcome]:
        """Run a list-in, list-out `fn` over batches; per-item outcomes in input order."""
        bp = BatchProcessor(self.config, kind or self.kind, batch_size=batch_size,
                            sink=self.sink, cancel=self.cancel)
        with self._pass(bp):
            yield from bp.map(fn, items, label=label, total=total)

    def image_map(self, fn: Callable[[list], list], items: Iterable[Any], *,
                  load: Callable[[Any], Any] | None = None, batch_size: int = 0,
                  label: str = "", total: int | None = None) -> Iterator[Outcome]:
        """Run a model's batch function on the configured device with out-of-memory back-off."""
        ip = ImageProcessor(self.config, batch_size=batch_size, sink=self.sink, cancel=self.cancel)
        with self._pass(ip):
            yield from ip.map(fn, items, load=load, label=label, total=total)

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
