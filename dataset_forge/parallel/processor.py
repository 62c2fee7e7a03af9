"""`ParallelProcessor`: one interface over serial, thread, process (and Dask) execution.

    with ParallelProcessor(ParallelConfig(max_workers=2), WorkKind.CPU) as proc:
        for outcome in proc.map(resize_one, paths):
            if outcome.ok: ...           # outcomes arrive in input order, as a stream

Items travel in chunks sized so that each task is worth scheduling. A `CompletionStream` keeps a
bounded window of chunks in flight (memory stays flat for any number of items) and yields them
as they finish; a `ReorderBuffer` puts them back in input order; a `RunTracker` counts them and
emits progress. A failing item is an `Outcome` with an `error`, never an exception, unless the
config asks for `fail_fast`.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterable, Iterator

from .backends import Backend, make_backend
from .cancel import CancelToken
from .config import ParallelConfig, ProcessingType, WorkKind
from .events import RunSummary, Sink, null_sink
from .outcome import FailFastError, Failure, Outcome, describe_item, failed
from .reorder import ReorderBuffer
from .stream import CompletionStream, Window
from .tracking import RunTracker
from .worker import can_use_alarm, pack_function, run_chunk

__all__ = ["FailFastError", "Failure", "Outcome", "ParallelProcessor", "describe_item"]

#: seconds of work each chunk should carry once its per-item cost is known
TARGET_CHUNK_SECONDS = {ProcessingType.THREAD: 0.01, ProcessingType.PROCESS: 0.05,
                        ProcessingType.DASK: 0.5}
MAX_CHUNK = 4096


class ParallelProcessor:
    """Runs a function over many items with the configured backend; one pool per processor."""

    def __init__(self, config: ParallelConfig | None = None, kind: WorkKind = WorkKind.CPU, *,
                 sink: Sink | None = None, cancel: CancelToken | None = None) -> None:
        self.config = config or ParallelConfig()
        self.kind = WorkKind(kind)
        self.sink = sink or null_sink
        self.cancel_token = cancel or CancelToken()
        self.processing_type = self.config.resolved_type(self.kind)
        self.workers = 1 if self.processing_type is ProcessingType.SERIAL else self.config.workers(self.kind)
        self._backend: Backend | None = None
        self.summary: RunSummary | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "ParallelProcessor":
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)

    def close(self, cancel: bool = False) -> None:
        if self._backend is not None:
            self._backend.close(cancel=cancel)
            self._backend = None

    def cancel(self) -> None:
        """Ask the running `map` to stop; it returns within about a second."""
        self.cancel_token.cancel()

    def _pool(self) -> Backend:
        if self._backend is None:
            self._backend = make_backend(self.config, self.processing_type, self.workers)
        return self._backend

    # -- the one verb ----------------------------------------------------------------------
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, total: int | None = None,
            label: str = "", unit: str = "items") -> Iterator[Outcome]:
        """Yield one `Outcome` per item, in input order, as results become available; `unit`
        names what the items are (images, pairs...) in progress and the summary."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        if self.processing_type is ProcessingType.PROCESS:
            pack_function(fn)  # refuse an unpicklable function before anything starts
        tracker = RunTracker(self.sink, label or getattr(fn, "__name__", "run"), total, unit)
        stopped = False
        try:
            if self.processing_type is ProcessingType.SERIAL:
                source = self._map_serial(fn, items, tracker)
            else:
                source = self._map_pooled(fn, items, tracker)
            for outcome in source:
                tracker.record(outcome)
                yield outcome
                if outcome.error and self.config.fail_fast:
                    raise FailFastError(outcome.error)
        except BaseException:  # the caller stopped early (break, fail_fast) or an error
            stopped = True
            self.close(cancel=True)
            raise
        finally:
            if stopped or self.cancel_token.cancelled:
                stopped = True
                self.close(cancel=True)
            self.summary = tracker.finish(self.workers, self.processing_type.value, stopped)

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any], **kwargs) -> list[Outcome]:
        """`map`, collected into a list."""
        return list(self.map(fn, items, **kwargs))

    # -- backends --------------------------------------------------------------------------
    def _map_serial(self, fn, items, tracker: RunTracker) -> Iterator[Outcome]:
        timeout = self.config.timeout if can_use_alarm() else 0.0
        for index, item in enumerate(items):
            if self.cancel_token.cancelled:
                return
            result = run_chunk(fn, [(index, item)], timeout)
            tracker.add_busy(result.busy)
            _, ok, value = result.items[0]
            yield Outcome(index, item, value) if ok else failed(index, item, *value)

    def _map_pooled(self, fn, items, tracker: RunTracker) -> Iterator[Outcome]:
        backend = self._pool()
        self.workers = backend.workers  # a Dask cluster may have more workers than this machine
        sizer = _ChunkSizer(self.config, self.processing_type, self.workers, tracker.total)
        # Results leave in input order, so one slow item at the head must not idle the other
        # workers: keep 2 chunks per worker running or queued, and let finished chunks wait
        # behind the head up to a larger, still constant, bound.
        window = Window(running=max(2, 2 * self.workers), held=max(8, 8 * self.workers),
                        items=self.config.max_items_in_flight)
        stream = CompletionStream(backend, backend.prepare(fn), _chunks(items, sizer), window,
                                  self.config.timeout, self.cancel_token)
        order = ReorderBuffer()
        for done in stream:
            tracker.add_busy(done.busy)
            if done.result is not None:
                sizer.observe(len(done.chunk), done.busy)
            order.put(done.seq, done)
            for ready in order.ready():
                stream.release(ready)
                yield from ready.outcomes()
        if self.cancel_token.cancelled:  # deliver what finished behind an unfinished chunk
            for done in stream.harvest():
                tracker.add_busy(done.busy)
                order.put(done.seq, done)
            for ready in order.drain():
                yield from ready.outcomes()


def _chunks(items: Iterable[Any], sizer: "_ChunkSizer") -> Iterator[list[tuple[int, Any]]]:
    """`(index, item)` pairs in chunks, each sized when it is taken (the sizer learns)."""
    source = enumerate(items)
    while chunk := list(itertools.islice(source, sizer.next_size())):
        yield chunk


class _ChunkSizer:
    """Chooses chunk sizes: fixed when configured, otherwise grown from measured item cost."""

    def __init__(self, config: ParallelConfig, kind: ProcessingType, workers: int,
                 total: int | None) -> None:
        self.fixed = config.chunk_size
        if kind is ProcessingType.THREAD and config.timeout:
            self.fixed = 1  # per-item timeouts in threads are enforced per task
        self.target = TARGET_CHUNK_SECONDS.get(kind, 0.05)
        # keep several chunks per worker so the last ones finish together
        self.cap = MAX_CHUNK if not total else max(1, min(MAX_CHUNK, math.ceil(total / (workers * 4))))
        self.per_item: float | None = None
        self.size = 1

    def next_size(self) -> int:
        if self.fixed:
            return self.fixed
        if self.per_item is None:
            size, self.size = self.size, min(self.size * 2, 64)
        else:
            size = int(self.target / max(self.per_item, 1e-7))
        return max(1, min(size, self.cap))

    def observe(self, count: int, busy: float) -> None:
        cost = busy / max(count, 1)
        self.per_item = cost if self.per_item is None else 0.7 * self.per_item + 0.3 * cost
