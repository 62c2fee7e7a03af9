"""``dataset-forge sysinfo``: print CPU, RAM, disk and GPU facts.

    dataset-forge sysinfo                 # table
    dataset-forge sysinfo --path DIR      # disk figures for the filesystem holding DIR
    dataset-forge sysinfo --json          # machine-readable
    dataset-forge sysinfo --processing-type dask   # plus the Dask cluster's workers
                                          # (also when the settings choose dask)
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from dataset_forge.errors import UsageError
from dataset_forge.sysinfo import SystemInfo, collect, with_cluster


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``sysinfo`` subcommand; ``run`` is set as the handler default."""
    p = subparsers.add_parser("sysinfo", help="show CPU, RAM, disk and GPU facts",
                              description="Show CPU, RAM, disk and GPU facts.")
    p.add_argument("--path", metavar="DIR", default=None,
                   help="report disk space for the filesystem holding DIR (default: cwd)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    # also accepted after the subcommand; SUPPRESS keeps a value given before it
    p.add_argument("--processing-type", default=argparse.SUPPRESS, metavar="TYPE",
                   help="with `dask`, also list the Dask cluster's workers (default: settings)")
    p.set_defaults(func=run)
    return p


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def system_table(info: SystemInfo) -> Table:
    """A two-column rich table of the facts (knows nothing about where it is printed)."""
    t = Table(title="System", show_header=False)
    t.add_column("fact", style="bold")
    t.add_column("value")
    t.add_row("CPU", info.cpu.model)
    t.add_row("Cores", f"{info.cpu.physical_cores} physical, {info.cpu.logical_cores} logical")
    t.add_row("RAM", f"{_gib(info.memory.available_bytes)} free of {_gib(info.memory.total_bytes)}")
    t.add_row("Disk", f"{_gib(info.disk.free_bytes)} free of {_gib(info.disk.total_bytes)}"
                      f" ({info.disk.path})")
    t.add_row("OS", info.os)
    t.add_row("Python", info.python)
    tor = info.torch
    t.add_row("torch", tor.version or "not installed")
    if tor.version:
        t.add_row("CUDA", "yes" if tor.cuda_available else "no")
        t.add_row("MPS", "yes" if tor.mps_available else "no")
    for g in tor.gpus:
        t.add_row(f"GPU {g.index}", f"{g.name}: {_gib(g.free_bytes)} free of {_gib(g.total_bytes)}")
    if info.cluster is not None:
        t.add_row("Cluster", f"{len(info.cluster)} Dask workers")
        for w in info.cluster:
            t.add_row("  worker", f"{w['address'] or w['name']}: {w['threads']} thread(s), "
                                  f"{_gib(w['memory_bytes'])}")
    return t


def _dask_selected(args: argparse.Namespace):
    """The settings when this run's backend is Dask (flag, else settings file), else None."""
    from dataset_forge.settings import load_settings, resolve_settings_path
    settings = load_settings(resolve_settings_path(getattr(args, "settings", None))).settings
    chosen = getattr(args, "processing_type", None) or settings.parallel.processing_type
    return settings if chosen == "dask" else None


def _add_cluster(info: SystemInfo, settings) -> SystemInfo:
    from dataset_forge.parallel import ParallelConfig
    config = ParallelConfig.from_settings(settings)
    return with_cluster(info, config.dask, config.workers())


def run(args: argparse.Namespace) -> int:
    """Print the facts; exit 0, or 2 with one ``error:`` line if ``--path`` does not exist."""
    try:
        info = collect(args.path)
        settings = _dask_selected(args)
        if settings is not None:
            info = _add_cluster(info, settings)
    except (FileNotFoundError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        Console().print(system_table(info))
    return 0
