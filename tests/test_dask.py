"""The Dask backend on a real local Dask cluster: same results as threads and processes,
cancellation, clusters always closed, the settings that pick a cluster, sysinfo."""
from __future__ import annotations

import csv
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import psutil
import pytest

distributed = pytest.importorskip("distributed")

from dataset_forge.actions.registry import all_actions  # noqa: E402
from dataset_forge.parallel.cluster import ClusterSpec, make_jobqueue_cluster, open_cluster  # noqa: E402
from dataset_forge.errors import UsageError  # noqa: E402
from dataset_forge.parallel import (CancelToken, ParallelConfig, ParallelProcessor,  # noqa: E402
                                    WorkKind, smart_map)
from dataset_forge.cli import main as cli_main  # noqa: E402
from dataset_forge.runner import run_action  # noqa: E402
from dataset_forge.settings import Settings  # noqa: E402
from dataset_forge.sysinfo import collect, with_cluster  # noqa: E402

from action_params import ACTION_PARAMS  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo"

# worker processes cannot import this test module: ship its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def dask_address():
    """One two-worker cluster (single-threaded worker processes) for the whole module."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def dask_config(address: str, **changes) -> ParallelConfig:
    return ParallelConfig(processing_type="dask", max_workers=2,
                          dask=ClusterSpec(scheduler_address=address), **changes)


def square_or_fail(x: int) -> int:
    if x % 7 == 3:
        raise ValueError(f"item {x} is bad")
    if x == 50:
        raise OSError(f"cannot read {x}")
    return x * x


def slow(x: int) -> int:
    time.sleep(0.4)
    return x


def as_comparable(outcomes):
    return [(o.index, o.item, o.value, o.error) for o in outcomes]


def spawned_children() -> list[psutil.Process]:
    """Worker processes this test process started (multiprocessing spawn children)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def test_smart_map_matches_thread_and_process_modes(dask_address):
    items = list(range(120))
    on_dask = smart_map(square_or_fail, items, config=dask_config(dask_address))
    threads = smart_map(square_or_fail, items, config=ParallelConfig(processing_type="thread",
                                                                     max_workers=2))
    processes = smart_map(square_or_fail, items, config=ParallelConfig(processing_type="process",
                                                                       max_workers=2))
    assert as_comparable(on_dask) == as_comparable(threads) == as_comparable(processes)
    failed = [o for o in on_dask if not o.ok]
    assert len(failed) == 18
    assert str(failed[0].error) == "3: ValueError: item 3 is bad"
    assert on_dask[50].error.error_type == "OSError"
    assert on_dask[119].value == 119 * 119


def test_closures_and_summary_on_dask(dask_address):
    offset = 1000
    with ParallelProcessor(dask_config(dask_address), WorkKind.CPU) as proc:
        values = [o.value for o in proc.map(lambda x: x + offset, range(40))]
    assert values == [x + 1000 for x in range(40)]
    assert proc.summary.processing_type == "dask"
    assert proc.summary.workers == 2  # the connected cluster's task slots
    assert (proc.summary.ok, proc.summary.failed) == (40, 0)


def test_cancel_stops_the_run_and_the_scheduler_forgets_its_tasks(dask_address):
    token = CancelToken()
    seen: list[int] = []
    with distributed.Client(dask_address, set_as_default=False) as observer:
        def watch():
            while len(seen) < 2:
                time.sleep(0.02)
            token.cancel()

        threading.Thread(target=watch, daemon=True).start()
        t0 = time.monotonic()
        with ParallelProcessor(dask_config(dask_address, chunk_size=1), WorkKind.CPU,
                               cancel=token) as proc:
            for outcome in proc.map(slow, range(100)):
                seen.append(outcome.value)
        elapsed = time.monotonic() - t0
        assert proc.summary.cancelled
        assert 2 <= len(seen) < 100
        assert elapsed < 20  # 100 x 0.4 s on 2 workers would take 20 s
        # the cancelled futures are released: the scheduler holds none of our tasks
        deadline = time.monotonic() + 10
        while observer.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert observer.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


def test_own_local_cluster_is_stopped_even_when_cancelled():
    before = {p.pid for p in spawned_children()}
    token = CancelToken()
    config = ParallelConfig(processing_type="dask", max_workers=2, chunk_size=1,
                            dask=ClusterSpec(cluster="local"))
    outcomes = []
    with ParallelProcessor(config, WorkKind.CPU, cancel=token) as proc:
        for outcome in proc.map(slow, range(60)):
            outcomes.append(outcome)
            if len(spawned_children()) >= 2 and len(outcomes) == 2:
                token.cancel()
    assert proc.summary.cancelled and 2 <= len(outcomes) < 60
    assert all(o.ok for o in outcomes)
    psutil.wait_procs([p for p in spawned_children() if p.pid not in before], timeout=10)
    assert {p.pid for p in spawned_children()} <= before


def head_blocks(x: int) -> int:
    time.sleep(4.0 if x == 0 else 0.01)
    return x


def test_cancel_with_finished_tasks_behind_a_slow_head(dask_address):
    """Issue 12 item 7: Ctrl-C while finished Dask tasks wait behind an unfinished one raised
    AttributeError ('DaskTask' has no 'cancelled'); they are delivered, as on other backends."""
    token = CancelToken()
    threading.Timer(1.5, token.cancel).start()
    with ParallelProcessor(dask_config(dask_address, chunk_size=1), WorkKind.CPU,
                           cancel=token) as proc:
        delivered = [o.index for o in proc.map(head_blocks, range(12))]
    # which items finished depends on Dask's placement (one may queue behind the slow head)
    assert 0 not in delivered and delivered == sorted(delivered) and len(delivered) >= 2
    assert proc.summary.cancelled and proc.summary.ok == len(delivered)


def sleep_then_write(job: tuple[float, str]) -> str:
    from dataset_forge.io.atomic import atomic_write
    seconds, path = job
    time.sleep(seconds)
    with atomic_write(path) as fh:
        fh.write(b"late" if seconds > 1 else b"ok")
    return path


def test_an_item_past_its_timeout_is_abandoned_on_a_cluster_we_only_joined(dask_address,
                                                                             tmp_path):
    """Dask task threads cannot take SIGALRM, so a sleeping item used to hold the run until
    it woke (and then wrote). Now it fails as ItemTimeout after its time, the rest of its
    chunk and of the run goes on, and its late write is refused."""
    jobs = [(0.0, str(tmp_path / f"{n}.out")) for n in range(6)]
    jobs[2] = (3.0, str(tmp_path / "slow.out"))
    t0 = time.monotonic()
    outcomes = list(smart_map(sleep_then_write, jobs,
                              config=dask_config(dask_address, chunk_size=3, timeout=0.5)))
    assert [o.ok for o in outcomes] == [True, True, False, True, True, True]
    assert outcomes[2].error.error_type == "ItemTimeout"    # before: ok, 3 s later
    assert outcomes[2].error.message == "took longer than 0.5s"
    time.sleep(max(0.0, t0 + 4.0 - time.monotonic()))   # it wakes on its worker, tries to write
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}.out" for n in (0, 1, 3, 4, 5)]


def test_worker_that_dies_fails_only_its_item(tmp_path):
    """A task that kills its worker is retried item by item; only the culprit fails."""
    import dask
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0",
                                     silence_logs=logging.CRITICAL) as cluster:
        outcomes = smart_map(_die_on_8, range(12), config=dask_config(
            cluster.scheduler_address, chunk_size=6))
    failed = [o for o in outcomes if not o.ok]
    assert [o.index for o in failed] == [8]
    assert failed[0].error.error_type == "WorkerDied"
    assert [o.value for o in outcomes if o.ok] == [x for x in range(12) if x != 8]


def _die_on_8(x: int) -> int:
    if x == 8:
        os._exit(1)
    return x


def test_settings_reach_the_cluster_spec():
    settings = Settings().with_overrides({
        "parallel.processing_type": "dask", "dask.cluster": "slurm", "dask.cores": 8,
        "dask.memory": "32GB", "dask.walltime": "02:00:00", "dask.workers": 4,
        "dask.queue": "gpu"})
    config = ParallelConfig.from_settings(settings)
    assert config.dask == ClusterSpec("", "slurm", 8, "32GB", "02:00:00", 4, "gpu")
    assert config.dask.planned_workers(2) == 32
    assert ClusterSpec(cluster="local").planned_workers(3) == 3
    assert ClusterSpec(scheduler_address="tcp://x:1").planned_workers(3) == 0


def test_slurm_job_script_carries_the_settings():
    spec = ClusterSpec(cluster="slurm", cores=4, memory="16GB", walltime="03:00:00", queue="batch")
    cluster = make_jobqueue_cluster(spec)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p batch" in script
    assert "#SBATCH --cpus-per-task=4" in script
    assert "#SBATCH -t 03:00:00" in script
    assert "--nworkers 4" in script and "--nthreads 1" in script


def test_cluster_settings_errors_are_one_line_usage_errors():
    with pytest.raises(UsageError, match="dask.scheduler_address"):
        open_cluster(ClusterSpec(cluster="none"), 1)
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        open_cluster(ClusterSpec(scheduler_address="tcp://127.0.0.1:9"), 1, connect_timeout=1)
    if not any(os.access(os.path.join(d, "sbatch"), os.X_OK)
               for d in os.environ.get("PATH", "").split(os.pathsep)):
        with pytest.raises(UsageError, match="sbatch"):
            open_cluster(ClusterSpec(cluster="slurm"), 1)


def test_engine_works_without_dask_installed(image_folder):
    """With dask unimportable the CLI runs thread mode and refuses dask in one line."""
    code = ("import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
            "from dataset_forge.cli import main\n"
            f"assert main(['--action', 'inventory', '--input', {str(image_folder)!r}]) == 0\n"
            f"sys.exit(main(['--action', 'inventory', '--input', {str(image_folder)!r}, "
            "'--processing-type', 'dask']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2, proc.stderr
    assert "pip install dataset-forge[dask]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sysinfo_lists_the_cluster_workers(dask_address, isolated_settings, capsys):
    isolated_settings.write_text(isolated_settings.read_text()
                                 + f'\n[dask]\nscheduler_address = "{dask_address}"\n')
    # in-process: the subprocess form costs a torch import (10+ s on a busy machine)
    assert cli_main(["sysinfo", "--processing-type", "dask", "--json"]) == 0
    workers = json.loads(capsys.readouterr().out)["cluster"]
    assert len(workers) == 2
    assert all(w["address"].startswith("tcp://") and w["threads"] == 1 and w["memory_bytes"] > 0
               for w in workers)
    assert cli_main(["sysinfo", "--processing-type", "dask"]) == 0
    text = capsys.readouterr().out
    assert "2 Dask workers" in text and workers[0]["address"] in text
    assert cli_main(["sysinfo", "--json"]) == 0  # not dask: no cluster is looked at
    assert json.loads(capsys.readouterr().out)["cluster"] is None


def test_sysinfo_plans_a_slurm_cluster_without_submitting_jobs():
    spec = ClusterSpec(cluster="slurm", cores=2, memory="8GB", workers=3)
    workers = with_cluster(collect(), spec, 1).cluster
    assert len(workers) == 6
    assert {w["memory_bytes"] for w in workers} == {4 * 10**9}
    assert all("not started" in w["name"] and w["threads"] == 1 for w in workers)


#: process mode starts a pool per pass (seconds each on 2 busy cores): compared on one action
PROCESS_CHECKED = {"inventory"}


TIMING_KEYS = re.compile(r"(seconds|elapsed|duration|throughput|per_s|_s)$")


def without_timings(value):
    """The report data minus wall-clock figures, which differ from run to run in any mode."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if not TIMING_KEYS.search(k)}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def run_in_mode(name: str, mode: str, tmp_path: Path, address: str):
    """Run action `name` on the demo data in `mode`; its comparable report and output bytes."""
    out = tmp_path / mode
    params = {k: (str(out) if v == "OUT" else v) for k, v in ACTION_PARAMS[name].items()}
    config = dask_config(address) if mode == "dask" else ParallelConfig(processing_type=mode,
                                                                        max_workers=2)
    report = run_action(all_actions()[name], params, config=config, report_dir=out)
    data = report.to_dict()
    on_device = all_actions()[name].kind is WorkKind.GPU  # model passes run on this process's device
    assert data["run"]["processing_type"] == ("serial" if on_device else mode)
    comparable = without_timings({k: data[k] for k in ("summary", "findings", "failures", "tables")})
    text = json.dumps(comparable, sort_keys=True, default=str).replace(str(out), "OUT")
    outputs = {str(p.relative_to(out)): comparable_file(p, out) for p in sorted(out.rglob("*"))
               if p.is_file() and p.suffix not in (".json", ".jsonl", ".html")}
    return text, outputs


def comparable_file(path: Path, out: Path):
    """Bytes, or for a CSV its rows minus timing columns, with the output folder neutralised."""
    if path.suffix != ".csv":
        return path.read_bytes()
    with path.open(newline="") as fh:
        rows = [without_timings(row) for row in csv.DictReader(fh)]
    return json.dumps(rows).replace(str(out), "OUT")


def test_every_registered_action_has_demo_params():
    assert sorted(all_actions()) == sorted(ACTION_PARAMS)


@pytest.mark.parametrize("name", sorted(ACTION_PARAMS))
def test_action_gives_identical_results_on_dask(name, dask_address, tmp_path):
    if name not in all_actions():
        pytest.fail(f"{name} is no longer registered: update ACTION_PARAMS")
    modes = ["thread", "dask"] + (["process"] if name in PROCESS_CHECKED else [])
    results = {mode: run_in_mode(name, mode, tmp_path, dask_address) for mode in modes}
    reference_text, reference_files = results["thread"]
    for mode in modes[1:]:
        text, files = results[mode]
        assert text == reference_text, f"{name}: {mode} report differs from thread mode"
        assert files.keys() == reference_files.keys()
        assert files == reference_files, f"{name}: {mode} output bytes differ"


def test_cli_runs_an_action_on_the_cluster_named_in_settings(dask_address, run_cli,
                                                             isolated_settings, tmp_path):
    isolated_settings.write_text(isolated_settings.read_text() + '\n[parallel]\nprocessing_type = '
                                 f'"dask"\n\n[dask]\nscheduler_address = "{dask_address}"\n')
    result = run_cli("--action", "inventory", "--input", DEMO / "mixed", "--json",
                     "--report-dir", tmp_path / "report")
    assert result.returncode == 1, result  # the demo's broken files are failed items
    data = result.json()
    assert (data["run"]["processing_type"], data["run"]["workers"]) == ("dask", 2)
    expected, _ = run_in_mode("inventory", "thread", tmp_path, dask_address)
    assert json.dumps(without_timings({k: data[k] for k in ("summary", "findings", "failures",
                                                             "tables")}), sort_keys=True) == expected
    assert "Traceback" not in result.stderr
