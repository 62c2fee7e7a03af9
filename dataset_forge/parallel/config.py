"""What a run asks of the parallel core: how many workers, which backend, how big a task."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from .cluster import ClusterSpec
from .limits import cores, process_cap, thread_cap


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
    """Knobs of one run. Zero means "choose for me" for workers, chunk size, timeout and the
    number of items in flight (submitted, not yet handed back)."""

    max_workers: int = 0
    processing_type: ProcessingType = ProcessingType.AUTO
    chunk_size: int = 0
    timeout: float = 0.0
    max_items_in_flight: int = 0
    fail_fast: bool = False
    gpu_memory_fraction: float = 0.9
    device: str = "auto"
    start_method: str = "forkserver"
    dask: ClusterSpec = field(default_factory=ClusterSpec)  # where DASK runs

    def __post_init__(self) -> None:
        object.__setattr__(self, "processing_type", ProcessingType(self.processing_type))
        if self.max_workers < 0 or self.chunk_size < 0 or self.max_items_in_flight < 0:
            raise ValueError("max_workers, chunk_size and max_items_in_flight must be >= 0")
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
        if kind is WorkKind.CPU and self.requested_workers(kind) > 1:
            return ProcessingType.PROCESS
        if kind is WorkKind.GPU:
            return ProcessingType.SERIAL  # one process owns the device; loaders use threads
        return ProcessingType.THREAD

    def requested_workers(self, kind: WorkKind = WorkKind.CPU) -> int:
        """Worker count asked for: explicit, or cores for CPU work and more for I/O work."""
        if self.max_workers:
            return self.max_workers
        n = cores()
        # Measured (benchmarks/RESULTS.md): header reads are GIL-bound once the bytes arrive, so
        # beyond ~2 threads per core the threads only contend, cold cache or warm.
        return min(32, n * 2) if kind is WorkKind.IO else max(1, n)

    def workers(self, kind: WorkKind = WorkKind.CPU) -> int:
        """Worker count used: the requested one, clamped to what this machine can hold."""
        return self.worker_plan(kind)[0]

    def worker_plan(self, kind: WorkKind = WorkKind.CPU) -> tuple[int, str]:
        """(workers, note): the note says in one line why an explicit count was lowered."""
        asked = self.requested_workers(kind)
        resolved = self.resolved_type(kind)
        pool = ProcessingType.PROCESS if resolved is ProcessingType.DASK else resolved
        if pool is ProcessingType.SERIAL or (resolved is ProcessingType.DASK
                                             and self.dask.scheduler_address):
            return asked, ""  # one worker, or someone else's cluster decides
        cap, why = thread_cap() if pool is ProcessingType.THREAD else process_cap()
        if asked <= cap:
            return asked, ""
        return cap, (f"{asked} {pool.value} workers asked, {cap} used: {why}")

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
            max_items_in_flight=p.max_items_in_flight,
            gpu_memory_fraction=g.memory_fraction,
            device=g.device if use_gpu else "cpu",
            dask=ClusterSpec.from_settings(getattr(settings, "dask", None)),
        )
