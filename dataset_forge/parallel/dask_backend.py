"""The Dask backend: `ParallelProcessor`'s chunks as Dask tasks, on any Dask cluster.

    config = ParallelConfig(processing_type="dask", dask=ClusterSpec(scheduler_address="tcp://..."))
    smart_map(resize_one, paths, config=config)

Each task is one chunk (`worker.run_chunk` with the cloudpickled function), sized by the processor
to take about half a second, because Dask spends 0.2 to 1 ms on each task; the processor keeps at
most two chunks per worker in flight. Per-item failures come back inside the `ChunkResult` like in
every other backend; a worker that dies repeatedly on a chunk (Dask's `KilledWorker`) is reported
as a broken pool, so the processor retries that window item by item and only the culprit fails.

Timeouts: Dask runs tasks in threads, which SIGALRM cannot reach, so the worker keeps the per-item
`timeout` itself: each item runs in a helper thread inside its own write scope, and one past its
time is abandoned (it can no longer write; the files it made are removed) and reported as
`ItemTimeout`, while the chunk goes on, on a cluster we started or one we only connected to.

Limits: Python threads cannot be interrupted, so an abandoned item (or a cancelled task already
running on a cluster we only connected to) runs on in its worker until it returns; the run
itself goes on, or stops at once when cancelled (a cluster we started is shut down).
"""
from __future__ import annotations

import threading
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from distributed import KilledWorker

from .cluster import open_cluster
from .backends import Backend
from .config import ParallelConfig, ProcessingType, WorkKind
from .worker import ChunkResult, pack_function, run_chunk


class DaskWorkerLost(BrokenProcessPool):
    """A chunk's task killed the Dask workers that ran it (crash, out-of-memory kill)."""


class DaskTask:
    """A Dask future behind the `done` / `result` / `cancel` surface the processor expects."""

    def __init__(self, future: Any, any_finished: threading.Event) -> None:
        self.future = future
        self._finished = threading.Event()

        def finished(_):
            self._finished.set()
            any_finished.set()
        future.add_done_callback(finished)

    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float) -> bool:
        """True once the task has finished (in any state), waking at once rather than polling."""
        return self._finished.wait(timeout) or self.future.done()

    def result(self) -> ChunkResult:
        try:
            return self.future.result()
        except KilledWorker as exc:
            raise DaskWorkerLost(f"Dask worker lost: {exc}") from None

    def cancel(self) -> bool:
        self.future.cancel()
        return True

    def cancelled(self) -> bool:
        return self.future.cancelled()


class DaskBackend(Backend):
    """Runs chunks on the cluster that `config.dask` names or starts; closes it when done."""

    kind = ProcessingType.DASK

    def __init__(self, config: ParallelConfig, workers: int) -> None:
        # a local cluster gets one process per core (or max_workers), whatever the work kind
        local_workers = config.workers(WorkKind.CPU)
        self._spec = config.dask
        self._conn = open_cluster(config.dask, local_workers)
        self._tasks: list[DaskTask] = []
        self._any_finished = threading.Event()
        try:
            self.workers = self._conn.threads()
        except BaseException:
            self._conn.close()
            raise

    def prepare(self, fn):
        return pack_function(fn)

    def submit(self, payload, chunk, timeout, scope=None):
        if self._conn is None:
            raise RuntimeError("the Dask backend is closed")
        # Dask runs tasks in threads, which SIGALRM cannot reach: the worker keeps the
        # per-item timeout itself and abandons a late item (`worker._run_watched`)
        future = self._conn.client.submit(run_chunk, payload, chunk, timeout, None, True,
                                          pure=False)
        self._tasks = [t for t in self._tasks if not t.done()]
        task = DaskTask(future, self._any_finished)
        self._tasks.append(task)
        return task

    def wait(self, future, timeout: float) -> bool:
        if isinstance(future, DaskTask):
            return future.wait(timeout)
        return super().wait(future, timeout)  # e.g. the processor's ready-made failures

    def wait_any(self, futures, timeout: float) -> None:
        self._any_finished.clear()
        if not any(f.done() for f in futures):
            self._any_finished.wait(timeout)

    def recover(self) -> None:
        """Nothing to rebuild: the Dask scheduler replaces lost workers itself."""

    def close(self, cancel: bool = False) -> None:
        """Cancel outstanding tasks (when asked), then close the client and our cluster."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            pending = [t.future for t in self._tasks if not t.done()]
            if cancel and pending:
                conn.client.cancel(pending, force=True)
        finally:
            self._tasks = []
            conn.close()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["cluster"] = self._spec.describe()
        if self._conn is not None:
            info["scheduler"] = self._conn.address
        return info
