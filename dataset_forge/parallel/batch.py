"""`BatchProcessor`: for functions that work on a list of items at once (vectorised work).

    with BatchProcessor(config, WorkKind.CPU, batch_size=256) as bp:
        for outcome in bp.map(hash_many, paths):   # hash_many(list) -> list, same length
            ...

Each batch is one task. If a batch raises, its items are retried one by one inside the worker,
so one bad item fails alone. Outcomes are per item, in input order.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .cancel import CancelToken
from .config import ParallelConfig, WorkKind
from .events import Sink, null_sink
from .outcome import Outcome, failed
from .processor import ParallelProcessor
from .tracking import RunTracker


@dataclass(frozen=True)
class _BatchCall:
    """Worker-side wrapper: apply `fn` to a batch; isolate failures item by item."""

    fn: Callable[[list], list]

    def __call__(self, pairs: list[tuple[int, Any]]) -> list[tuple[bool, Any]]:
        batch = [item for _, item in pairs]
        try:
            values = list(self.fn(batch))
            if len(values) != len(batch):
                raise ValueError(f"batch function returned {len(values)} results for {len(batch)} items")
            return [(True, v) for v in values]
        except Exception:  # noqa: BLE001 - fall back to one item at a time
            return [self._one(item) for item in batch]

    def _one(self, item: Any) -> tuple[bool, Any]:
        try:
            return True, list(self.fn([item]))[0]
        except Exception as exc:  # noqa: BLE001
            return False, (type(exc).__name__, str(exc) or repr(exc))


class BatchProcessor:
    """Runs a list-in, list-out function over batches with any backend of `ParallelProcessor`."""

    def __init__(self, config: ParallelConfig | None = None, kind: WorkKind = WorkKind.CPU, *,
                 batch_size: int = 0, sink: Sink | None = None,
                 cancel: CancelToken | None = None) -> None:
        self.sink = sink or null_sink
        self.batch_size = batch_size or 64
        # each batch is already a well-sized task: one batch per chunk
        inner = (config or ParallelConfig()).with_(chunk_size=1)
        self.processor = ParallelProcessor(inner, kind, cancel=cancel)
        self.summary = None

    def __enter__(self) -> "BatchProcessor":
        return self

    def __exit__(self, *exc) -> None:
        self.processor.close(cancel=exc[0] is not None)

    def cancel(self) -> None:
        self.processor.cancel()

    def map(self, fn: Callable[[list], list], items: Iterable[Any], *, total: int | None = None,
            label: str = "", unit: str = "items") -> Iterator[Outcome]:
        """Yield per-item outcomes in input order; progress counts items, not batches."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        tracker = RunTracker(self.sink, label or getattr(fn, "__name__", "batch"), total, unit)
        batches = _batched(enumerate(items), self.batch_size)
        inner_stream = self.processor.map(_BatchCall(fn), batches, label=tracker.label)
        try:
            for outcome in inner_stream:
                for single in _per_item(outcome):
                    tracker.record(single)
                    yield single
        finally:
            inner_stream.close()  # a caller that stopped early stops the batches too
            inner = self.processor.summary
            tracker.add_busy(inner.busy_seconds if inner else 0.0)
            self.summary = tracker.finish(self.processor.workers,
                                          self.processor.processing_type.value,
                                          bool(inner and inner.cancelled))


def _per_item(outcome: Outcome) -> Iterator[Outcome]:
    """A batch's outcome as one outcome per item (a failed batch fails each of its items)."""
    pairs = outcome.item
    results = outcome.value if outcome.ok else \
        [(False, (outcome.error.error_type, outcome.error.message))] * len(pairs)
    for (index, item), (ok, value) in zip(pairs, results):
        yield Outcome(index, item, value) if ok else failed(index, item, *value)


def _batched(pairs: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(pairs, size)):
        yield batch
