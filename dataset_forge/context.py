"""What an action's run function receives: validated settings, the parallel set-up, a progress
sink, a cancel token and the folder its report goes to. Nothing global."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .parallel import (BatchProcessor, CancelToken, ImageProcessor, Outcome, ParallelConfig,
                       ParallelProcessor, RunSummary, Sink, WorkKind)
from .parallel.events import null_sink


@dataclass
class RunContext:
    config: ParallelConfig
    report_dir: Path
    sink: Sink = null_sink
    cancel: CancelToken = field(default_factory=CancelToken)
    kind: WorkKind = WorkKind.CPU
    settings: Any = None
    debug: bool = False
    summaries: list[RunSummary] = field(default_factory=list)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, kind: WorkKind | None = None,
            label: str = "", total: int | None = None) -> Iterator[Outcome]:
        """Run `fn` over `items` on the configured backend; outcomes stream in input order."""
        with ParallelProcessor(self.config, kind or self.kind, sink=self.sink,
                               cancel=self.cancel) as proc:
            yield from proc.map(fn, items, label=label, total=total)
            self.summaries.append(proc.summary)

    def batch_map(self, fn: Callable[[list], list], items: Iterable[Any], *, batch_size: int = 0,
                  kind: WorkKind | None = None, label: str = "",
                  total: int | None = None) -> Iterator[Outcome]:
        """Run a list-in, list-out `fn` over batches; per-item outcomes in input order."""
        with BatchProcessor(self.config, kind or self.kind, batch_size=batch_size,
                            sink=self.sink, cancel=self.cancel) as bp:
            yield from bp.map(fn, items, label=label, total=total)
            self.summaries.append(bp.summary)

    def image_map(self, fn: Callable[[list], list], items: Iterable[Any], *,
                  load: Callable[[Any], Any] | None = None, batch_size: int = 0,
                  label: str = "", total: int | None = None) -> Iterator[Outcome]:
        """Run a model's batch function on the configured device with out-of-memory back-off."""
        with ImageProcessor(self.config, batch_size=batch_size, sink=self.sink,
                            cancel=self.cancel) as ip:
            yield from ip.map(fn, items, load=load, label=label, total=total)
            self.summaries.append(ip.summary)

    @property
    def cancelled(self) -> bool:
        return self.cancel.cancelled
