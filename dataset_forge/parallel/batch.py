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
from .processor import Failure, Outcome, ParallelProcessor, _Run, describe_item


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
            label: str = "") -> Iterator[Outcome]:
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        run = _Run(self.sink, label or getattr(fn, "__name__", "batch"), total)
        batches = _batched(enumerate(items), self.batch_size)
        try:
            for outcome in self.processor.map(_BatchCall(fn), batches, label=run.label):
                indexed = outcome.item
                results = outcome.value if outcome.ok else \
                    [(False, (outcome.error.error_type, outcome.error.message))] * len(indexed)
                for (index, item), (ok, value) in zip(indexed, results):
                    single = Outcome(index, item, value) if ok else \
                        Outcome(index, item, error=Failure(describe_item(item), *value))
                    run.record(single)
                    yield single
        finally:
            inner = self.processor.summary
            run.busy = inner.utilisation * inner.elapsed * inner.workers if inner else 0.0
            run.cancelled = bool(inner and inner.cancelled)
            self.summary = run.finish(self.processor.workers, self.processor.processing_type)


def _batched(pairs: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(pairs, size)):
        yield batch
