"""Executors behind `ParallelProcessor`: a tiny surface (submit, wait, close) over each engine.

A backend hands out future-like objects with `done()`, `result()`, `cancel()` and `cancelled()`.
The Dask backend (dataset_forge.parallel.dask_backend) implements the same surface.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from ..io.scope import WriteScope
from .config import ParallelConfig, ProcessingType
from .worker import init_process_worker, pack_function, run_chunk

#: imported by the forkserver when it starts, so it exits when the main process dies
FORKSERVER_PRELOAD = ["dataset_forge.parallel.forkserver_lifeline"]
#: modules an action's workers need (`preload_in_workers`)
WORKER_PRELOAD: list[str] = []


def preload_in_workers(*modules: str) -> None:
    """Have the forkserver import `modules` when it starts, so every process worker forked from
    it has them loaded: a pool per pass then costs a fork, not an import of numpy, scipy and
    the action's modules in each worker. Call it before the process's first pool (later calls
    change nothing: the forkserver is started once per process)."""
    WORKER_PRELOAD.extend(m for m in modules if m not in WORKER_PRELOAD)

BROKEN_ERRORS: tuple[type[BaseException], ...] = (BrokenProcessPool,)


class Backend:
    """Base class: run `run_chunk(fn, chunk, timeout)` somewhere and return a future."""

    kind: ProcessingType
    workers: int
    #: True where a timed-out task cannot be interrupted and is abandoned from outside (threads)
    abandons_timeouts = False

    def prepare(self, fn: Callable) -> Any:
        """Turn `fn` into what `submit` ships (the function itself, or a pickled blob)."""
        return fn

    def submit(self, payload: Any, chunk: list, timeout: float,
               scope: WriteScope | None = None) -> Any:
        """Run the chunk; `scope` (threads only) times it and lets the caller abandon it."""
        raise NotImplementedError

    def abandon(self, future: Any) -> None:
        """Stop waiting for a timed-out task that cannot be interrupted."""

    def wait(self, future: Any, timeout: float) -> bool:
        done, _ = cf.wait([future], timeout=timeout)
        return bool(done)

    def wait_any(self, futures: list[Any], timeout: float) -> None:
        """Return when any of `futures` finishes or `timeout` passes."""
        cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)

    def recover(self) -> None:
        """Replace a broken pool (a worker died) so the run can go on."""

    def close(self, cancel: bool = False) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"processing_type": self.kind.value, "workers": self.workers}


class ThreadBackend(Backend):
    kind = ProcessingType.THREAD
    abandons_timeouts = True

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.abandoned = 0  # timed-out tasks still running: do not wait for them on close
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="forge")

    def submit(self, payload, chunk, timeout, scope=None):
        # Threads cannot be interrupted: the caller enforces timeouts from outside via `scope`.
        return self._pool.submit(run_chunk, payload, chunk, 0.0, scope)

    def abandon(self, future) -> None:
        future.cancel()
        self.abandoned += 1  # a thread cannot be interrupted: leave it behind on close

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=not (cancel or self.abandoned), cancel_futures=cancel)


class ProcessBackend(Backend):
    kind = ProcessingType.PROCESS

    def __init__(self, workers: int, start_method: str) -> None:
        self.workers = workers
        self._context = mp.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(FORKSERVER_PRELOAD + WORKER_PRELOAD)
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=self._context,
                                      initializer=init_process_worker)

    def prepare(self, fn):
        return pack_function(fn)

    def submit(self, payload, chunk, timeout, scope=None):
        return self._pool.submit(run_chunk, payload, chunk, timeout)

    def recover(self) -> None:
        self._terminate()
        self._pool = self._new_pool()

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self._terminate()
        else:
            self._pool.shutdown(wait=True)

    def _terminate(self) -> None:
        """Stop now: drop queued work, SIGTERM the workers, then SIGKILL any that linger."""
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=1.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=1.0)


def make_backend(config: ParallelConfig, kind: ProcessingType, workers: int) -> Backend:
    """The backend for a resolved processing type (never AUTO or SERIAL: those run inline)."""
    if kind is ProcessingType.THREAD:
        return ThreadBackend(workers)
    if kind is ProcessingType.PROCESS:
        return ProcessBackend(workers, config.start_method)
    if kind is ProcessingType.DASK:
        try:
            from .dask_backend import DaskBackend
        except ImportError as exc:
            from ..errors import UsageError
            raise UsageError(
                "the dask backend needs `pip install dataset-forge[dask]` "
                f"({exc})") from None
        return DaskBackend(config, workers)
    raise ValueError(f"no pool backend for {kind.value}")
