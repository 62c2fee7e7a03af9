"""How many workers this machine can hold: the clamp on an explicit worker count.

    cap, why = process_cap()   # e.g. (8, "4 processes per core on 2 core(s)")

Threads are cheap but contend for the GIL: at most 8 per core (at least 32). A process worker
(or a local Dask worker) costs memory and file descriptors: at most 4 per core, one per
`PROCESS_BUDGET_MB` of available memory, and as many as the open-file limit leaves room for.
Only explicit counts are clamped; the automatic ones are below every cap.
"""
from __future__ import annotations

import os

import psutil

THREADS_PER_CORE = 8
MIN_THREAD_CAP = 32
PROCESSES_PER_CORE = 4
PROCESS_BUDGET_MB = 150  # a pool worker with the engine loaded: ~60-100 MB resident
FDS_PER_PROCESS = 12     # pipes and sockets the parent holds per worker (Dask: nanny + worker)
FDS_RESERVED = 256       # for the run's own files


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def thread_cap() -> tuple[int, str]:
    """The most worker threads worth running here, and why (for the one-line note)."""
    n = cores()
    return max(MIN_THREAD_CAP, THREADS_PER_CORE * n), \
        f"at most {THREADS_PER_CORE} threads per core on {n} core(s)"


def process_cap() -> tuple[int, str]:
    """The most worker processes this machine can hold, and the limit that decides it."""
    n = cores()
    limits = {f"{PROCESSES_PER_CORE} processes per core on {n} core(s)": PROCESSES_PER_CORE * n}
    available = psutil.virtual_memory().available
    limits[f"{available / 2**30:.1f} GiB of memory available"] = \
        available // (PROCESS_BUDGET_MB * 2**20)
    files = _open_file_limit()
    if files:
        limits[f"an open-file limit of {files}"] = (files - FDS_RESERVED) // FDS_PER_PROCESS
    why = min(limits, key=limits.get)
    return max(1, limits[why]), why


def _open_file_limit() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 0 if soft == resource.RLIM_INFINITY else soft
