"""Dask-local vs the process pool on the same work, side by side (2 workers each by default).

    .venv/bin/python benchmarks/bench_dask.py [--images /tmp/real-images] [--count 240]
                                              [--trivial 20000] [--workers 2] [--rounds 3]

Workloads:
1. decode + resize to fit 512 px + JPEG encode (in memory) of every k-th real photo;
2. a trivial function over many integers: the per-item overhead of each backend.
(Both are `cpu_task` and `trivial` of bench_parallel.py, so figures line up with it.)

Rows: a serial loop (baseline); `ParallelProcessor` with the process pool; with Dask on a
LocalCluster that the backend starts and stops itself (what `processing_type = "dask"` costs a
one-off run); with Dask connected to an already running LocalCluster (`dask.scheduler_address`,
warm workers); and plain `client.map`, one Dask task per item, to show why chunks matter.
Medians over rounds; ratios against the serial loop and against the process pool.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from bench_parallel import cpu_task, trivial  # the same workloads as the process-pool benchmark
from dataset_forge.parallel.cluster import ClusterSpec, open_cluster
from dataset_forge.io import iter_images
from dataset_forge.parallel import ParallelConfig, ParallelProcessor, WorkKind


def run_processor(config: ParallelConfig, fn: Callable, items: list) -> list:
    with ParallelProcessor(config, WorkKind.CPU) as proc:
        return [o.value for o in proc.map(fn, items)]


def run_client_map(address: str, fn: Callable, items: list) -> list:
    from distributed import Client
    with Client(address, set_as_default=False) as client:
        return client.gather(client.map(fn, items, pure=False))


def timed(run: Callable[[], list], rounds: int) -> tuple[float, list]:
    times, result = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def compare(title: str, fn: Callable, items: list, workers: int, address: str,
            rounds: int, naive: bool) -> None:
    base = ParallelConfig(max_workers=workers)
    rows: dict[str, Callable[[], list]] = {
        "serial loop": lambda: [fn(x) for x in items],
        f"process pool ({workers} workers)": lambda: run_processor(
            base.with_(processing_type="process"), fn, items),
        f"dask, own LocalCluster ({workers})": lambda: run_processor(base.with_(
            processing_type="dask", dask=ClusterSpec(cluster="local", workers=workers)), fn, items),
        f"dask, running cluster ({workers})": lambda: run_processor(base.with_(
            processing_type="dask", dask=ClusterSpec(scheduler_address=address)), fn, items),
    }
    if naive:
        rows["dask client.map, 1 task/item"] = lambda: run_client_map(address, fn, items)
    results: dict[str, tuple[float, Any]] = {name: timed(run, rounds) for name, run in rows.items()}
    reference = results["serial loop"][1]
    serial = results["serial loop"][0]
    pool = results[f"process pool ({workers} workers)"][0]
    print(f"\n{title}: {len(items)} items, median of {rounds}")
    print(f"{'':34} {'seconds':>9} {'items/s':>9} {'vs serial':>10} {'vs pool':>8} {'us/item':>8}")
    for name, (seconds, values) in results.items():
        assert values == reference, f"{name} gave different results"
        print(f"{name:34} {seconds:9.3f} {len(items) / seconds:9.0f} {serial / seconds:9.2f}x "
              f"{pool / seconds:7.2f}x {1e6 * seconds / len(items):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=Path("/tmp/real-images"))
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--trivial", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from distributed import LocalCluster
    paths = list(iter_images(args.images))
    photos = paths[::max(1, len(paths) // args.count)][:args.count]
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster:
        address = cluster.scheduler_address
        t0 = time.perf_counter()
        with open_cluster(ClusterSpec(cluster="local", workers=args.workers), args.workers):
            started = time.perf_counter() - t0
        print(f"own LocalCluster of {args.workers} workers: start + stop {started:.2f} s")
        compare("decode + resize + JPEG encode of real photos", cpu_task, photos,
                args.workers, address, args.rounds, naive=True)
        compare("trivial function", trivial, list(range(args.trivial)),
                args.workers, address, args.rounds, naive=True)


if __name__ == "__main__":
    main()
