"""Facts about the machine: CPU, RAM, disk, GPU.

Two entry points:

    >>> info = collect("/data/my_dataset")      # thorough, once per run
    >>> info.memory.available_bytes <= info.memory.total_bytes
    True
    >>> sample = live_sample("/data/my_dataset")  # cheap, once a second for a live panel

Both return frozen dataclasses; ``to_dict()`` gives plain JSON-serialisable data.
torch is imported lazily inside :func:`collect` only, never at module import time.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "CpuInfo", "MemoryInfo", "DiskInfo", "GpuInfo", "TorchInfo", "SystemInfo",
    "LiveSample", "collect", "live_sample", "with_cluster",
]


def _plain(value: Any) -> Any:
    """Tuples become lists, recursively, so ``to_dict()`` survives a JSON round trip unchanged."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Dict:
    """Mixin: ``to_dict()`` returning plain data (dicts, lists, str, int, float, bool, None)."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True)
class CpuInfo(_Dict):
    model: str
    physical_cores: int
    logical_cores: int


@dataclass(frozen=True)
class MemoryInfo(_Dict):
    total_bytes: int
    available_bytes: int


@dataclass(frozen=True)
class DiskInfo(_Dict):
    path: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class GpuInfo(_Dict):
    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class TorchInfo(_Dict):
    version: str | None  # None when torch is not installed
    cuda_available: bool = False
    mps_available: bool = False
    gpus: tuple[GpuInfo, ...] = ()


@dataclass(frozen=True)
class SystemInfo(_Dict):
    cpu: CpuInfo
    memory: MemoryInfo
    disk: DiskInfo
    os: str
    python: str
    torch: TorchInfo
    # Filled in by the Dask backend with one entry per cluster worker; None on a single machine.
    cluster: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True)
class LiveSample(_Dict):
    cpu_percent: tuple[float, ...]  # one value per logical core
    ram_used_bytes: int
    ram_total_bytes: int
    disk_free_bytes: int
    gpu_used_bytes: tuple[int, ...] = field(default=())  # per CUDA device; () if none/not loaded


def _cpu_model() -> str:
    """CPU model name from /proc/cpuinfo on Linux, else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _disk(path: str | Path | None) -> DiskInfo:
    """Disk usage of the filesystem holding ``path`` (default: cwd). Raises FileNotFoundError."""
    p = Path(path) if path is not None else Path.cwd()
    if not p.exists():
        raise FileNotFoundError(f"path does not exist: {p}")
    usage = shutil.disk_usage(p)
    return DiskInfo(path=str(p.resolve()), total_bytes=usage.total, free_bytes=usage.free)


def _torch_info() -> TorchInfo:
    """Torch version, CUDA/MPS availability and per-GPU memory; empty if torch is missing."""
    try:
        import torch
    except Exception:  # ImportError, or a broken install raising something else
        return TorchInfo(version=None)
    gpus: list[GpuInfo] = []
    cuda = False
    try:
        cuda = bool(torch.cuda.is_available())
        for i in range(torch.cuda.device_count() if cuda else 0):
            free, total = torch.cuda.mem_get_info(i)
            gpus.append(GpuInfo(index=i, name=torch.cuda.get_device_name(i),
                                total_bytes=int(total), free_bytes=int(free)))
    except Exception:  # a driver problem must not break a facts screen
        pass
    try:
        mps = bool(torch.backends.mps.is_available())
    except Exception:
        mps = False
    return TorchInfo(version=str(torch.__version__), cuda_available=cuda,
                     mps_available=mps, gpus=tuple(gpus))


def collect(path: str | Path | None = None) -> SystemInfo:
    """Gather the machine's facts; ``path`` picks the filesystem reported under ``disk``."""
    vm = psutil.virtual_memory()
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    return SystemInfo(
        cpu=CpuInfo(_cpu_model(), physical_cores=physical, logical_cores=logical),
        memory=MemoryInfo(total_bytes=vm.total, available_bytes=vm.available),
        disk=_disk(path),
        os=platform.platform(),
        python=platform.python_version(),
        torch=_torch_info(),
    )


def with_cluster(info: SystemInfo, spec: Any, default_workers: int) -> SystemInfo:
    """``info`` plus the Dask cluster's workers (address, name, threads, memory_bytes).

    ``spec`` is a :class:`dataset_forge.parallel.cluster.ClusterSpec`; a local cluster is started for the
    look and stopped again; raises ``UsageError`` when the scheduler cannot be reached.
    """
    from dataclasses import replace

    from .parallel.cluster import cluster_facts
    return replace(info, cluster=tuple(cluster_facts(spec, default_workers)))


def live_sample(path: str | Path | None = None) -> LiveSample:
    """A cheap snapshot for a once-a-second panel.

    CPU percentages are measured since the previous call (the first call returns zeros).
    GPU memory is read only if torch is already imported, so this never pays torch's import.
    """
    vm = psutil.virtual_memory()
    try:
        disk_free = shutil.disk_usage(path if path is not None else os.getcwd()).free
    except OSError:
        disk_free = 0
    gpu_used: tuple[int, ...] = ()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                infos = (torch.cuda.mem_get_info(i) for i in range(torch.cuda.device_count()))
                gpu_used = tuple(int(total - free) for free, total in infos)
        except Exception:
            gpu_used = ()
    return LiveSample(
        cpu_percent=tuple(psutil.cpu_percent(percpu=True, interval=None)),
        ram_used_bytes=vm.total - vm.available,
        ram_total_bytes=vm.total,
        disk_free_bytes=disk_free,
        gpu_used_bytes=gpu_used,
    )
