"""`RunTracker`: the book-keeping of one pass over the data, whatever produced its outcomes.

    tracker = RunTracker(sink, "inventory", total=len(paths))
    for outcome in outcomes:
        tracker.record(outcome)           # counts, ItemFailed, throttled Advanced events
    tracker.add_busy(seconds)             # worker time spent, as workers report it
    summary = tracker.finish(workers=2, processing_type="thread", cancelled=False)

`ParallelProcessor`, `BatchProcessor` and `ImageProcessor` each keep one per `map`.
"""
from __future__ import annotations

import time

import psutil

from .events import Advanced, Finished, ItemFailed, RunSummary, Sink, Started
from .outcome import Outcome

EVENT_INTERVAL = 0.05  # at most 20 progress events a second
MEMORY_INTERVAL = 0.5  # psutil's walk over child processes is not free
CHILDREN_INTERVAL = 5.0  # finding the children reads every process's /proc entry: rarely


class RunTracker:
    """Counts outcomes, emits progress events, samples peak memory and adds up busy seconds."""

    def __init__(self, sink: Sink, label: str, total: int | None, unit: str = "items") -> None:
        self.sink, self.label, self.total, self.unit = sink, label, total, unit
        self.ok = self.failed = 0
        self.busy = 0.0
        self.peak_rss = 0
        self.t0 = time.perf_counter()
        self._last_event = self._last_memory = 0.0
        self._proc_info = psutil.Process()
        self._children: list[psutil.Process] = []
        self._children_at = -CHILDREN_INTERVAL
        sink(Started(label, total, unit))

    def record(self, outcome: Outcome) -> None:
        if outcome.error:
            self.failed += 1
            self.sink(ItemFailed(outcome.error.item, outcome.error.error_type,
                                 outcome.error.message))
        else:
            self.ok += 1
        now = time.perf_counter()
        if now - self._last_event >= EVENT_INTERVAL:
            self._last_event = now
            if now - self._last_memory >= MEMORY_INTERVAL:
                self._last_memory = now
                self._sample_memory()
            self.sink(Advanced(self.ok + self.failed, self.failed, self.total))

    def add_busy(self, seconds: float) -> None:
        """Worker-seconds spent on this pass's items (summed over workers)."""
        self.busy += seconds

    def _sample_memory(self) -> None:
        """This process's memory and its children's (workers, found again every
        CHILDREN_INTERVAL seconds: psutil reads every process on the machine to find them)."""
        try:
            rss = self._proc_info.memory_info().rss
            now = time.perf_counter()
            if now - self._children_at >= CHILDREN_INTERVAL:
                self._children = self._proc_info.children(recursive=True)
                self._children_at = now
        except psutil.Error:
            return
        for child in self._children:
            try:
                rss += child.memory_info().rss
            except psutil.Error:        # a worker that has ended since
                continue
        self.peak_rss = max(self.peak_rss, rss)

    def finish(self, workers: int, processing_type: str, cancelled: bool) -> RunSummary:
        """Emit the last progress and the `Finished` event; return the summary."""
        elapsed = time.perf_counter() - self.t0
        self._sample_memory()
        self.sink(Advanced(self.ok + self.failed, self.failed, self.total))
        summary = RunSummary(
            label=self.label, ok=self.ok, failed=self.failed, elapsed=elapsed, workers=workers,
            processing_type=processing_type, cancelled=cancelled, busy_seconds=self.busy,
            peak_rss_mb=self.peak_rss / 2**20, unit=self.unit)
        self.sink(Finished(summary))
        return summary
