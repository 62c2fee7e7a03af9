"""The parallel core: one interface over serial, thread, process and Dask execution.

    from dataset_forge.parallel import smart_map, ParallelConfig, WorkKind
    outcomes = smart_map(resize_one, paths, kind=WorkKind.CPU)

See docs/ARCHITECTURE.md for how the pieces fit.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from .batch import BatchProcessor
from .cancel import CancelToken
from .config import ParallelConfig, ProcessingType, WorkKind
from .events import Advanced, Event, Finished, ItemFailed, RunSummary, Sink, Started
from .image import ImageProcessor, is_out_of_memory, resolve_device
from .outcome import FailFastError, Failure, Outcome
from .processor import ParallelProcessor
from .tracking import RunTracker
from .worker import worker_state

__all__ = [
    "Advanced", "BatchProcessor", "CancelToken", "Event", "FailFastError", "Failure",
    "Finished", "ImageProcessor", "ItemFailed", "Outcome", "ParallelConfig",
    "ParallelProcessor", "ProcessingType", "RunSummary", "RunTracker", "Sink", "Started",
    "WorkKind", "batch_map", "image_map", "is_out_of_memory", "resolve_device", "smart_map",
    "worker_state",
]


def smart_map(fn: Callable[[Any], Any], items: Iterable[Any], *, kind: WorkKind = WorkKind.CPU,
              config: ParallelConfig | None = None, **kwargs) -> list[Outcome]:
    """Run `fn` on every item with the backend AUTO picks for `kind`; outcomes in input order."""
    with ParallelProcessor(config, kind, **kwargs) as proc:
        return proc.run(fn, items)


def batch_map(fn: Callable[[list], list], items: Iterable[Any], *, batch_size: int = 0,
              kind: WorkKind = WorkKind.CPU, config: ParallelConfig | None = None,
              **kwargs) -> list[Outcome]:
    """Run a list-in, list-out `fn` over batches; per-item outcomes in input order."""
    with BatchProcessor(config, kind, batch_size=batch_size, **kwargs) as bp:
        return list(bp.map(fn, items))


def image_map(fn: Callable[[list], list], items: Iterable[Any], *,
              load: Callable[[Any], Any] | None = None, batch_size: int = 0,
              config: ParallelConfig | None = None, **kwargs) -> list[Outcome]:
    """Run a model's batch function on the configured device with out-of-memory back-off."""
    with ImageProcessor(config, batch_size=batch_size, **kwargs) as ip:
        return list(ip.map(fn, items, load=load))
