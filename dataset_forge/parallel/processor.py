"""`ParallelProcessor`: one interface over serial, thread, process (and Dask) execution.

    with ParallelProcessor(ParallelConfig(max_workers=2), WorkKind.CPU) as proc:
        for outcome in proc.map(resize_one, paths):
            if outcome.ok: ...           # outcomes arrive in input order, as a stream

Items travel in chunks sized so that each task is worth scheduling; at most a bounded window of
chunks is in flight, so memory stays flat for any number of items. A failing item is an
`Outcome` with an `error`, never an exception, unless the config asks for `fail_fast`.
"""
from __future__ import annotations

import collections
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

import psutil

from .backends import BROKEN_ERRORS, Backend, make_backend
from .cancel import CancelToken
from .config import ParallelConfig, ProcessingType, WorkKind
from .events import Advanced, Finished, ItemFailed, RunSummary, Sink, Started, null_sink
from .worker import ChunkResult, can_use_alarm, pack_function, run_chunk

#: seconds of work each chunk should carry once its per-item cost is known
TARGET_CHUNK_SECONDS = {ProcessingType.THREAD: 0.01, ProcessingType.PROCESS: 0.05,
                        ProcessingType.DASK: 0.5}
MAX_CHUNK = 4096
EVENT_INTERVAL = 0.05  # at most 20 progress events a second
MEMORY_INTERVAL = 0.5  # psutil's walk over child processes is not free
POLL = 0.1             # how often a waiting run looks at its cancel token


@dataclass(frozen=True)
class Failure:
    """Why one item failed: what a report line shows."""

    item: str
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"{self.item}: {self.error_type}: {self.message}"


@dataclass
class Outcome:
    """The result for one input item: a value, or a recorded failure."""

    index: int
    item: Any
    value: Any = None
    error: Optional[Failure] = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FailFastError(RuntimeError):
    """Raised by `map` under `fail_fast` after the first failed item."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


@dataclass
class _Task:
    chunk: list[tuple[int, Any]]
    future: Any = None
    started: list = field(default_factory=list)


def describe_item(item: Any) -> str:
    text = str(item)
    return text if len(text) <= 300 else text[:297] + "..."


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
            label: str = "") -> Iterator[Outcome]:
        """Yield one `Outcome` per item, in input order, as results become available."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        if self.processing_type is ProcessingType.PROCESS:
            pack_function(fn)  # refuse an unpicklable function before anything starts
        run = _Run(self.sink, label or getattr(fn, "__name__", "run"), total)
        try:
            if self.processing_type is ProcessingType.SERIAL:
                source = self._map_serial(fn, items, run)
            else:
                source = self._map_pooled(fn, items, run)
            for outcome in source:
                run.record(outcome)
                yield outcome
                if outcome.error and self.config.fail_fast:
                    raise FailFastError(outcome.error)
        except BaseException:
            run.cancelled = True
            self.close(cancel=True)
            raise
        finally:
            if run.cancelled or self.cancel_token.cancelled:
                run.cancelled = True
                self.close(cancel=True)
            self.summary = run.finish(self.workers, self.processing_type)

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any], **kwargs) -> list[Outcome]:
        """`map`, collected into a list."""
        return list(self.map(fn, items, **kwargs))

    # -- backends --------------------------------------------------------------------------
    def _map_serial(self, fn, items, run: "_Run") -> Iterator[Outcome]:
        timeout = self.config.timeout if can_use_alarm() else 0.0
        for index, item in enumerate(items):
            if self.cancel_token.cancelled:
                return
            result = run_chunk(fn, [(index, item)], timeout)
            run.busy += result.busy
            yield from _outcomes(result, {index: item})

    def _map_pooled(self, fn, items, run: "_Run") -> Iterator[Outcome]:
        backend = self._pool()
        self.workers = backend.workers  # a Dask cluster may have more workers than this machine
        payload = backend.prepare(fn)
        sizer = _ChunkSizer(self.config, self.processing_type, self.workers, run.total)
        window: collections.deque[_Task] = collections.deque()
        # Results leave in input order, so one slow item at the head must not idle the other
        # workers: keep 2 chunks per worker running or queued, and let finished chunks wait
        # behind the head up to a larger, still constant, bound.
        max_pending, max_window = max(2, 2 * self.workers), max(8, 8 * self.workers)
        source = enumerate(items)
        exhausted = False
        thread_timeout = self.config.timeout if self.processing_type is ProcessingType.THREAD else 0.0

        def submit(task: _Task) -> _Task:
            task.future = backend.submit(payload, task.chunk, self.config.timeout, task.started)
            return task

        def items_in_flight() -> int:
            return sum(len(t.chunk) for t in window)

        def room() -> bool:
            if len(window) >= max_window:
                return False
            if self.config.max_in_flight and items_in_flight() >= self.config.max_in_flight:
                return False
            return sum(1 for t in window if not t.future.done()) < max_pending

        while True:
            while not exhausted and not self.cancel_token.cancelled and room():
                chunk = list(itertools.islice(source, sizer.next_size()))
                if not chunk:
                    exhausted = True
                    break
                window.append(submit(_Task(chunk)))
            if self.cancel_token.cancelled:
                yield from _finished_before_cancel(window, run)
                return
            if not window:
                return
            head = window[0]
            if not head.future.done():
                # wake on any finished chunk, so the window is topped up without delay
                backend.wait_any([t.future for t in window if not t.future.done()], POLL)
            if not head.future.done():
                if thread_timeout and head.started and \
                        time.monotonic() - head.started[0] > thread_timeout * len(head.chunk):
                    window.popleft()
                    head.future.cancel()
                    backend.abandoned += 1  # a thread cannot be interrupted: leave it behind
                    yield from _timed_out(head.chunk, thread_timeout)
                continue
            window.popleft()
            try:
                result: ChunkResult = head.future.result()
            except BROKEN_ERRORS:
                window.appendleft(head)
                yield from self._rerun_one_by_one(window, payload, run)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable return value
                yield from _failed_chunk(head.chunk, type(exc).__name__, str(exc))
                continue
            run.busy += result.busy
            sizer.observe(len(head.chunk), result.busy)
            yield from _outcomes(result, dict(head.chunk))

    def _rerun_one_by_one(self, window, payload, run: "_Run") -> Iterator[Outcome]:
        """A worker died (crash, out-of-memory kill): restart the pool and rerun the window's
        items one at a time, so the item that kills a worker is found and fails alone."""
        backend = self._backend
        backend.recover()
        pending = [pair for task in window for pair in task.chunk]
        window.clear()
        for index, item in pending:
            future = backend.submit(payload, [(index, item)], self.config.timeout, None)
            while not backend.wait(future, POLL):
                if self.cancel_token.cancelled:
                    return
            try:
                result = future.result()
            except BROKEN_ERRORS as exc:
                backend.recover()
                yield from _failed_chunk([(index, item)], "WorkerDied",
                                         f"a worker process died while handling this item ({exc})")
                continue
            run.busy += result.busy
            yield from _outcomes(result, {index: item})


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


class _Run:
    """Book-keeping for one run: counts, throttled events, memory and utilisation."""

    def __init__(self, sink: Sink, label: str, total: int | None) -> None:
        self.sink, self.label, self.total = sink, label, total
        self.ok = self.failed = 0
        self.busy = 0.0
        self.cancelled = False
        self.t0 = time.perf_counter()
        self._last_event = self._last_memory = 0.0
        self._proc_info = psutil.Process()
        self.peak_rss = 0
        sink(Started(label, total))

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

    def _sample_memory(self) -> None:
        try:
            rss = self._proc_info.memory_info().rss
            for child in self._proc_info.children(recursive=True):
                rss += child.memory_info().rss
        except psutil.Error:
            return
        self.peak_rss = max(self.peak_rss, rss)

    def finish(self, workers: int, processing_type: ProcessingType) -> RunSummary:
        """Emit the last progress and the `Finished` event; return the summary."""
        elapsed = time.perf_counter() - self.t0
        self._sample_memory()
        self.sink(Advanced(self.ok + self.failed, self.failed, self.total))
        summary = RunSummary(
            label=self.label, ok=self.ok, failed=self.failed, elapsed=elapsed, workers=workers,
            processing_type=processing_type.value, cancelled=self.cancelled,
            utilisation=min(1.0, self.busy / (elapsed * workers)) if elapsed > 0 else 0.0,
            peak_rss_mb=self.peak_rss / 2**20)
        self.sink(Finished(summary))
        return summary


def _outcomes(result: ChunkResult, items: dict[int, Any]) -> Iterator[Outcome]:
    for index, ok, value in result.items:
        item = items[index]
        if ok:
            yield Outcome(index, item, value)
        else:
            yield Outcome(index, item, error=Failure(describe_item(item), *value))


def _finished_before_cancel(window, run: _Run) -> Iterator[Outcome]:
    """On cancel, deliver every chunk that had already finished (in input order, skipping the
    unfinished ones), so completed work is reported and journaled rather than redone."""
    for task in window:
        if not task.future.done() or task.future.cancelled():
            continue
        try:
            result = task.future.result()
        except Exception:  # noqa: BLE001 - a broken chunk has nothing to deliver
            continue
        run.busy += result.busy
        yield from _outcomes(result, dict(task.chunk))


def _failed_chunk(chunk, error_type: str, message: str) -> Iterator[Outcome]:
    for index, item in chunk:
        yield Outcome(index, item, error=Failure(describe_item(item), error_type, message))


def _timed_out(chunk, seconds: float) -> Iterator[Outcome]:
    yield from _failed_chunk(chunk, "ItemTimeout", f"took longer than {seconds:g}s")
