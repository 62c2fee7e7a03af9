"""What a run asks of the parallel core: how many workers, which backend, how big a task."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from enum import Enum

from .cluster import ClusterSpec


class ProcessingType(str, Enum):
    """The backend that executes the work. AUTO picks one from the work's declared kind."""

    AUTO = "auto"
    SERIAL = "serial"
    THREAD = "thread"
    PROCESS = "process"
    DASK = "dask"


class WorkKind(str, Enum):
    """What a task spends its time on; AUTO uses this, never the function's name."""

    IO = "io"
    CPU = "cpu"
    GPU = "gpu"


@dataclass(frozen=True)
class ParallelConfig:
    """Knobs of one run. Zero means "choose for me" for workers, chunk size, timeout and in-flight."""

    max_workers: int = 0
    processing_type: ProcessingType = ProcessingType.AUTO
    chunk_size: int = 0
    timeout: float = 0.0
    max_in_flight: int = 0
    fail_fast: bool = False
    gpu_memory_fraction: float = 0.9
    device: str = "auto"
    start_method: str = "forkserver"
    dask: ClusterSpec = field(default_factory=ClusterSpec)  # where DASK runs

    def __post_init__(self) -> None:
        object.__setattr__(self, "processing_type", ProcessingType(self.processing_type))
        if self.max_workers < 0 or self.chunk_size < 0 or self.max_in_flight < 0:
            raise ValueError("max_workers, chunk_size and max_in_flight must be >= 0")
        if self.timeout < 0:
            raise ValueError("timeout must be >= 0 seconds")
        if not 0.1 <= self.gpu_memory_fraction <= 1.0:
            raise ValueError("gpu_memory_fraction must be between 0.1 and 1.0")

    def with_(self, **changes) -> "ParallelConfig":
        return replace(self, **changes)

    def resolved_type(self, kind: WorkKind) -> ProcessingType:
        """The concrete backend for work of `kind` (AUTO resolved, never AUTO itself)."""
        if self.processing_type is not ProcessingType.AUTO:
            return self.processing_type
        if kind is WorkKind.CPU and self.workers(kind) > 1:
            return ProcessingType.PROCESS
        if kind is WorkKind.GPU:
            return ProcessingType.SERIAL  # one process owns the device; loaders use threads
        return ProcessingType.THREAD

    def workers(self, kind: WorkKind = WorkKind.CPU) -> int:
        """Worker count: explicit, or cores for CPU work and more for I/O work."""
        if self.max_workers:
            return self.max_workers
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        # Measured (benchmarks/RESULTS.md): header reads are GIL-bound once the bytes arrive, so
        # beyond ~2 threads per core the threads only contend, cold cache or warm.
        return min(32, cores * 2) if kind is WorkKind.IO else max(1, cores)

    @classmethod
    def from_settings(cls, settings) -> "ParallelConfig":
        """Build from a `dataset_forge.settings.Settings` object (passed explicitly, no globals)."""
        p, g = settings.parallel, settings.gpu
        use_gpu = g.use_gpu and not settings.cpu_only
        return cls(
            max_workers=p.max_workers,
            processing_type=ProcessingType(p.processing_type),
            chunk_size=p.chunk_size,
            timeout=float(p.timeout),
            max_in_flight=p.max_in_flight,
            gpu_memory_fraction=g.memory_fraction,
            device=g.device if use_gpu else "cpu",
            dask=ClusterSpec.from_settings(getattr(settings, "dask", None)),
        )
