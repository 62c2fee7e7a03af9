"""Code that runs inside workers (threads, processes, Dask workers): apply a function to a chunk.

Everything here is module-level so it pickles by reference. A chunk never raises for one bad
item: each item becomes `(index, ok, value_or_error)`.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import cloudpickle

from ..io.scope import WriteScope, write_scope
from .lifeline import watch_parent

_fn_cache: "collections.OrderedDict[bytes, Callable]" = collections.OrderedDict()
FN_CACHE_SIZE = 32  # long-lived (Dask) workers see many functions over their life
_state: dict[str, Any] = {}
_state_lock = threading.Lock()


@dataclass(frozen=True)
class ChunkResult:
    items: list[tuple[int, bool, Any]]  # (index, ok, value or (error_type, message))
    busy: float                          # seconds spent working on the chunk's items


def pack_function(fn: Callable) -> bytes:
    """Serialise `fn` (closures included) for process workers; fail early and clearly."""
    try:
        return cloudpickle.dumps(fn)
    except Exception as exc:  # noqa: BLE001 - any pickling problem is the same user error
        raise TypeError(
            f"cannot send {getattr(fn, '__qualname__', fn)!r} to worker processes "
            f"({type(exc).__name__}: {exc}); use thread mode or a picklable function"
        ) from None


def _unpack(blob: bytes) -> Callable:
    key = hashlib.blake2b(blob, digest_size=16).digest()
    fn = _fn_cache.get(key)
    if fn is None:
        fn = _fn_cache[key] = cloudpickle.loads(blob)
        if len(_fn_cache) > FN_CACHE_SIZE:
            _fn_cache.popitem(last=False)
    else:
        _fn_cache.move_to_end(key)
    return fn


def worker_state(key: str, factory: Callable[[], Any]) -> Any:
    """Per-worker memo: build an expensive object (a model, an index) once per worker process.

    Works the same in thread, process and Dask workers; in thread mode the object is shared.
    """
    with _state_lock:
        if key not in _state:
            _state[key] = factory()
        return _state[key]


def init_process_worker() -> None:
    """Process-pool initializer: Ctrl-C is the parent's business; SIGTERM unwinds cleanly;
    the worker ends when its parent dies (lifeline).

    Turning SIGTERM into SystemExit runs `finally` blocks, so atomic writers remove their
    temporary files when the parent terminates a cancelled run.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    watch_parent()


def _exit_on_term(signum, frame):  # pragma: no cover - runs in a child being terminated
    raise SystemExit(128 + signum)


class ItemTimeout(TimeoutError):
    """One item ran past the per-item timeout."""


@contextlib.contextmanager
def _deadline(seconds: float, enforce: bool) -> Iterator[None]:
    """Raise ItemTimeout in this (main) thread after `seconds`, using SIGALRM."""
    if not (enforce and seconds > 0):
        yield
        return

    def _expire(signum, frame):
        raise ItemTimeout(f"took longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def timeout_message(timeout: float, replaced: list) -> str:
    """How an item abandoned past its timeout is reported (thread mode, Dask)."""
    message = f"took longer than {timeout:g}s"
    if replaced:
        message += "; it had already replaced " + ", ".join(map(str, replaced))
    return message


def run_chunk(fn: Callable | bytes, chunk: list[tuple[int, Any]], timeout: float = 0.0,
              scope: WriteScope | None = None, abandon_late: bool = False) -> ChunkResult:
    """Apply `fn` to each `(index, item)`; record failures instead of raising.

    `fn` is a callable (threads, serial) or a cloudpickle blob (processes, Dask). `scope`, in
    thread mode with a timeout, records when the work began (the caller enforces the timeout
    from outside) and lets the caller abandon the chunk's writes (io.scope). `abandon_late`
    (Dask workers, whose task threads cannot take SIGALRM): the timeout is kept here, item by
    item (`_run_watched`).
    """
    if isinstance(fn, bytes):
        fn = _unpack(fn)
    if scope is not None:
        scope.start()
    enforce = can_use_alarm()
    if abandon_late and timeout > 0 and not enforce:
        return _run_watched(fn, chunk, timeout)
    out: list[tuple[int, bool, Any]] = []
    t0 = time.perf_counter()
    with write_scope(scope) if scope is not None else contextlib.nullcontext():
        for index, item in chunk:
            try:
                with _deadline(timeout, enforce):
                    out.append((index, True, fn(item)))
            except Exception as exc:  # noqa: BLE001 - one item's failure is one line in the report
                out.append((index, False, (type(exc).__name__, str(exc) or repr(exc))))
    return ChunkResult(out, time.perf_counter() - t0)


def _run_watched(fn: Callable, chunk: list[tuple[int, Any]], timeout: float) -> ChunkResult:
    """Each item in a helper thread inside its own write scope: one past `timeout` is
    abandoned (its writes refused, the files it created removed; `io.scope`) and reported as
    ItemTimeout, and the chunk goes on, as a process worker's SIGALRM gives. The helper cannot
    be interrupted: it runs on, unseen, until its item returns."""
    out: list[tuple[int, bool, Any]] = []
    t0 = time.perf_counter()
    for index, item in chunk:
        scope, box = WriteScope(), {}

        def work(item=item, scope=scope, box=box) -> None:
            with write_scope(scope):
                try:
                    box["done"] = (True, fn(item))
                except Exception as exc:  # noqa: BLE001 - one item's failure is one line
                    box["done"] = (False, (type(exc).__name__, str(exc) or repr(exc)))
        helper = threading.Thread(target=work, name="forge-item", daemon=True)
        helper.start()
        helper.join(timeout)
        if "done" in box:
            out.append((index, *box["done"]))
        else:
            out.append((index, False, ("ItemTimeout", timeout_message(timeout, scope.abandon()))))
    return ChunkResult(out, time.perf_counter() - t0)
