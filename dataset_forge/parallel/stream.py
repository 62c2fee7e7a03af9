"""The completion stream: chunks go out while the window has room and come back as they finish.

Like `concurrent.futures.as_completed`, it knows nothing of input order (`ReorderBuffer` does
that); it owns everything about futures: the bounded window, per-item timeouts in threads
(abandoned through `io.scope`, so they leave no output), and recovery when a worker dies.

    stream = CompletionStream(backend, payload, chunks, Window(running=4, held=16), timeout, token)
    for done in stream:            # a `Completion` per chunk, in completion order
        ...
        stream.release(done)       # its outcomes have left: make room for another chunk
    late = list(stream.harvest())  # after a cancel: chunks that had finished, not yet yielded
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..io.scope import WriteScope
from .backends import BROKEN_ERRORS, Backend
from .cancel import CancelToken
from .outcome import Outcome, failed, failed_all
from .worker import ChunkResult, timeout_message

POLL = 0.1  # how often a waiting stream looks at its cancel token and its timeouts


@dataclass(frozen=True)
class Window:
    """Bounds that keep memory flat: chunks running or queued, chunks not yet released
    (running, or finished and waiting for an earlier one), items not yet released (0 = any)."""

    running: int
    held: int
    items: int = 0


@dataclass
class Task:
    """One submitted chunk."""

    seq: int
    chunk: list[tuple[int, Any]]
    future: Any
    scope: Optional[WriteScope] = None


@dataclass
class Completion:
    """A finished chunk: its worker's result, or one error for all of its items."""

    seq: int
    chunk: list[tuple[int, Any]]
    result: Optional[ChunkResult] = None
    error: Optional[tuple[str, str]] = None  # (error_type, message)

    @property
    def busy(self) -> float:
        return self.result.busy if self.result else 0.0

    def outcomes(self) -> Iterator[Outcome]:
        """One `Outcome` per item of the chunk, in input order."""
        if self.result is None:
            yield from failed_all(self.chunk, *self.error)
            return
        items = dict(self.chunk)
        for index, ok, value in self.result.items:
            item = items[index]
            yield Outcome(index, item, value) if ok else failed(index, item, *value)


class CompletionStream:
    """Submits chunks from `chunks` within `window` and yields them as they complete."""

    def __init__(self, backend: Backend, payload: Any, chunks: Iterator[list], window: Window,
                 timeout: float, cancel: CancelToken) -> None:
        self.backend, self.payload, self.window = backend, payload, window
        self.timeout, self.cancel = timeout, cancel
        self._chunks = chunks
        self._exhausted = False
        self._seq = 0
        self._running: list[Task] = []  # submitted and not yet yielded, in submission order
        self._held_chunks = self._held_items = 0

    def __iter__(self) -> Iterator[Completion]:
        while True:
            self._fill()
            if self.cancel.cancelled or not self._running:
                return
            self.backend.wait_any([t.future for t in self._running if not t.future.done()], POLL)
            for task in [t for t in self._running if t.future.done()]:
                yield from self._complete(task)
            if self.timeout and self.backend.abandons_timeouts:
                yield from self._expire()

    def release(self, done: Completion) -> None:
        """The chunk's outcomes have left the core: it no longer counts against the window."""
        self._held_chunks -= 1
        self._held_items -= len(done.chunk)

    def harvest(self) -> Iterator[Completion]:
        """After a cancel: chunks that had finished but were not yet yielded, so completed
        work is reported (and journaled by actions) rather than redone."""
        for task in self._running:
            if not task.future.done() or task.future.cancelled():
                continue
            try:
                result = task.future.result()
            except Exception:  # noqa: BLE001 - a broken chunk has nothing to deliver
                continue
            yield Completion(task.seq, task.chunk, result)

    # -- inside -----------------------------------------------------------------------------
    def _fill(self) -> None:
        while not self._exhausted and not self.cancel.cancelled and self._has_room():
            chunk = next(self._chunks, None)
            if not chunk:
                self._exhausted = True
                return
            scope = WriteScope() if self.timeout and self.backend.abandons_timeouts else None
            future = self.backend.submit(self.payload, chunk, self.timeout, scope)
            self._running.append(Task(self._seq, chunk, future, scope))
            self._seq += 1
            self._held_chunks += 1
            self._held_items += len(chunk)

    def _has_room(self) -> bool:
        if self._held_chunks >= self.window.held:
            return False
        if self.window.items and self._held_items >= self.window.items:
            return False
        return sum(1 for t in self._running if not t.future.done()) < self.window.running

    def _complete(self, task: Task) -> Iterator[Completion]:
        if task not in self._running:  # already handled by a recovery in this round
            return
        self._running.remove(task)
        try:
            result = task.future.result()
        except BROKEN_ERRORS:
            yield from self._recover(task)
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable return value
            yield Completion(task.seq, task.chunk, error=(type(exc).__name__, str(exc)))
        else:
            yield Completion(task.seq, task.chunk, result)

    def _expire(self) -> Iterator[Completion]:
        """Give up on thread tasks past their timeout: abandon their writes, report them."""
        now = time.monotonic()
        for task in list(self._running):
            started = task.scope.started if task.scope else None
            if started is None or task.future.done() or \
                    now - started <= self.timeout * len(task.chunk):
                continue
            self._running.remove(task)
            self.backend.abandon(task.future)
            message = timeout_message(self.timeout, task.scope.abandon())
            yield Completion(task.seq, task.chunk, error=("ItemTimeout", message))

    def _recover(self, broken: Task) -> Iterator[Completion]:
        """A worker died (crash, out-of-memory kill): restart the pool and rerun the unfinished
        chunks one item at a time, so the item that kills a worker is found and fails alone."""
        tasks = sorted([broken, *self._running], key=lambda t: t.seq)
        self._running.clear()
        finished = {t.seq: _result_if_ok(t.future) for t in tasks if t is not broken}
        self.backend.recover()
        for task in tasks:
            result = finished.get(task.seq)
            yield Completion(task.seq, task.chunk, result) if result else self._rerun(task)

    def _rerun(self, task: Task) -> Completion:
        items: list = []
        busy = 0.0
        for index, item in task.chunk:
            future = self.backend.submit(self.payload, [(index, item)], self.timeout)
            while not self.backend.wait(future, POLL):
                if self.cancel.cancelled:  # deliver what was rerun; the rest is not done
                    return Completion(task.seq, task.chunk[:len(items)], ChunkResult(items, busy))
            try:
                result = future.result()
            except BROKEN_ERRORS as exc:
                self.backend.recover()
                items.append((index, False, ("WorkerDied", "a worker process died while "
                                             f"handling this item ({exc})")))
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable return value
                items.append((index, False, (type(exc).__name__, str(exc))))
                continue
            items.extend(result.items)
            busy += result.busy
        return Completion(task.seq, task.chunk, ChunkResult(items, busy))


def _result_if_ok(future: Any) -> ChunkResult | None:
    """The result of a future that finished without error, else None."""
    if not future.done() or future.cancelled():
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - broken or failed: the caller reruns it
        return None

