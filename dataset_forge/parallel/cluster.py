"""Where Dask work runs: connect to a running scheduler, or start a cluster for one run.

    spec = ClusterSpec.from_settings(settings.dask)
    with open_cluster(spec, default_workers=4) as conn:
        conn.client.submit(...)
        conn.worker_facts()        # [{"address": ..., "threads": 1, "memory_bytes": ...}, ...]

Three ways, chosen by the settings' [dask] section:

- `scheduler_address` set: connect; the cluster belongs to someone else and stays up.
- `cluster = "local"`: a LocalCluster on this machine (one single-threaded process per worker,
  no dashboard, quiet logs), stopped when the run ends.
- `cluster = "slurm" | "pbs" | "sge" | "lsf"`: a dask-jobqueue cluster that submits `workers`
  batch jobs of `cores` cores, `memory` and `walltime` to `queue`, cancelled when the run ends.

Dask is imported lazily, so the engine works without the [dask] extra until Dask is asked for.
"""
from __future__ import annotations

import logging
import shutil
import signal
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

JOBQUEUE_CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster",
                     "lsf": "LSFCluster"}
CLUSTER_KINDS = ("none", "local", *JOBQUEUE_CLUSTERS)
CONNECT_TIMEOUT = 10.0  # seconds


@dataclass(frozen=True)
class ClusterSpec:
    """The [dask] settings a run needs (mirrors `dataset_forge.settings.DaskSettings`)."""

    scheduler_address: str = ""
    cluster: str = "local"
    cores: int = 1
    memory: str = "4GB"
    walltime: str = "01:00:00"
    workers: int = 0
    queue: str = ""
    # task slots to plan for when connecting to a cluster whose workers may still be starting
    # (set by the runner when it shares one cluster across an action's passes)
    expected_workers: int = 0

    def __post_init__(self) -> None:
        if self.cluster not in CLUSTER_KINDS:
            raise ValueError(f"dask.cluster must be one of {', '.join(CLUSTER_KINDS)}")

    @classmethod
    def from_settings(cls, dask_settings: Any) -> "ClusterSpec":
        """From a settings object's `dask` section (any object with the same attributes)."""
        if dask_settings is None:
            return cls()
        defaults = cls()
        return cls(**{name: getattr(dask_settings, name, getattr(defaults, name))
                      for name in cls.__dataclass_fields__})

    def planned_workers(self, default_workers: int) -> int:
        """Worker processes this spec starts (0 when it connects to someone else's cluster)."""
        if self.scheduler_address or self.cluster == "none":
            return 0
        if self.cluster == "local":
            return self.workers or max(1, default_workers)
        return (self.workers or 1) * self.cores

    def describe(self) -> str:
        if self.scheduler_address:
            return f"scheduler {self.scheduler_address}"
        if self.cluster == "local":
            return "local cluster"
        return (f"{self.cluster} cluster: {self.workers or 1} job(s) of {self.cores} core(s), "
                f"{self.memory}, {self.walltime}" + (f", queue {self.queue}" if self.queue else ""))


class ClusterConnection:
    """A Dask client and, when this run started it, the cluster behind it. Close it, always."""

    def __init__(self, client: Any, cluster: Any | None, planned_workers: int) -> None:
        self.client = client
        self.cluster = cluster
        self.planned_workers = planned_workers

    def __enter__(self) -> "ClusterConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def address(self) -> str:
        return self.client.scheduler.address

    def threads(self) -> int:
        """Task slots: the planned count for a cluster we started, else what the scheduler has."""
        if self.planned_workers:
            return self.planned_workers
        return max(1, sum(w["threads"] for w in self.worker_facts()))

    def worker_facts(self) -> list[dict[str, Any]]:
        """One entry per connected worker: address, name, threads and memory limit in bytes."""
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return [{"address": address, "name": str(info.get("name", "")),
                 "threads": int(info.get("nthreads", 0)),
                 "memory_bytes": int(info.get("memory_limit") or 0)}
                for address, info in sorted(workers.items())]

    def close(self) -> None:
        """Close the client, then stop the cluster we started; the second step runs whatever
        happens in the first (Ctrl-C included)."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        try:
            if client is not None:
                client.close(timeout=5)
        finally:
            if cluster is not None:
                cluster.close(timeout=10)


def open_cluster(spec: ClusterSpec, default_workers: int,
                 connect_timeout: float = CONNECT_TIMEOUT) -> ClusterConnection:
    """Connect to `spec.scheduler_address`, or start the cluster `spec` describes."""
    Client = _distributed().Client
    if spec.scheduler_address:
        try:
            client = Client(spec.scheduler_address, timeout=connect_timeout,
                            set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {spec.scheduler_address} "
                             f"(dask.scheduler_address): {exc}") from None
        return ClusterConnection(client, None, spec.expected_workers)
    if spec.cluster == "none":
        raise UsageError("the dask backend needs dask.scheduler_address, or dask.cluster set to "
                         "local, slurm, pbs, sge or lsf")
    cluster = start_local(spec, default_workers) if spec.cluster == "local" \
        else start_jobqueue(spec)
    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return ClusterConnection(client, cluster, spec.planned_workers(default_workers))


def start_local(spec: ClusterSpec, default_workers: int):
    """A LocalCluster of single-threaded worker processes, no dashboard, quiet logs."""
    return _distributed().LocalCluster(
        n_workers=spec.planned_workers(default_workers), threads_per_worker=1, processes=True,
        dashboard_address=":0", scheduler_kwargs={"dashboard": False},
        silence_logs=logging.CRITICAL, preload=[__name__])


def make_jobqueue_cluster(spec: ClusterSpec):
    """The dask-jobqueue cluster for `spec`, with no job submitted yet.

    Each job runs `cores` single-threaded worker processes (image work holds the GIL).
    """
    try:
        import dask_jobqueue
    except ImportError as exc:
        raise UsageError(f"dask.cluster = {spec.cluster} needs `pip install dask-jobqueue` "
                         f"({exc})") from None
    cls = getattr(dask_jobqueue, JOBQUEUE_CLUSTERS[spec.cluster])
    options: dict[str, Any] = {"cores": spec.cores, "processes": spec.cores,
                               "memory": spec.memory, "walltime": spec.walltime,
                               "silence_logs": "error",
                               "scheduler_options": {"dashboard_address": ":0", "dashboard": False}}
    if spec.queue:
        options["queue"] = spec.queue
    return cls(**options)


def start_jobqueue(spec: ClusterSpec):
    """Submit `spec.workers` jobs (at least one) to the batch scheduler."""
    cls_name = JOBQUEUE_CLUSTERS[spec.cluster]
    cluster = make_jobqueue_cluster(spec)
    command = cluster.job_cls.submit_command
    if shutil.which(command) is None:
        cluster.close()
        raise UsageError(f"dask.cluster = {spec.cluster} submits jobs with `{command}`, which is "
                         f"not on PATH here (run from a login node of the {cls_name[:-7]} cluster)")
    cluster.scale(jobs=spec.workers or 1)
    return cluster


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise UsageError("the dask backend needs `pip install dataset-forge[dask]` "
                         f"({exc})") from None
    return distributed


def dask_setup(worker) -> None:
    """Dask preload hook for the local cluster's workers: Ctrl-C is the client's business.

    The terminal sends SIGINT to the whole process group; workers that ignore it let the run
    stop cleanly (cancel, then shut the cluster down) instead of dying with tracebacks.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def cluster_facts(spec: ClusterSpec, default_workers: int) -> list[dict[str, Any]]:
    """The workers a Dask run would use: live ones from a scheduler or a briefly started local
    cluster; for a job-queue cluster the planned jobs' workers (no job is submitted for this)."""
    if spec.cluster in JOBQUEUE_CLUSTERS and not spec.scheduler_address:
        from dask.utils import parse_bytes
        per_worker = parse_bytes(spec.memory) // max(1, spec.cores)
        return [{"address": "", "name": f"{spec.cluster} job {job} worker {slot} (not started)",
                 "threads": 1, "memory_bytes": per_worker}
                for job in range(spec.workers or 1) for slot in range(spec.cores)]
    with open_cluster(spec, default_workers) as conn:
        if conn.planned_workers:
            conn.client.wait_for_workers(conn.planned_workers, timeout=30)
        return conn.worker_facts()
