"""The parallel core: ordering, failures, timeouts, closures, cancellation, back-off, events."""
from __future__ import annotations

import os
import threading
import time

import psutil
import pytest

from dataset_forge.parallel import (Advanced, BatchProcessor, CancelToken, FailFastError,
                                    Finished, ImageProcessor, ItemFailed, ParallelConfig,
                                    ParallelProcessor, ProcessingType, Started, WorkKind,
                                    batch_map, image_map, smart_map)

TYPES = ["serial", "thread", "process"]


def square_or_fail(x: int) -> int:
    if x % 7 == 3:
        raise ValueError(f"bad item {x}")
    return x * x


def sleepy(x: float) -> float:
    time.sleep(x)
    return x


def slow_identity(x: int) -> int:
    time.sleep(0.05)
    return x


def config(kind: str, **kw) -> ParallelConfig:
    return ParallelConfig(processing_type=kind, max_workers=2, **kw)


@pytest.mark.parametrize("kind", TYPES)
def test_results_identical_and_ordered_across_types(kind):
    outcomes = smart_map(square_or_fail, range(200), config=config(kind))
    assert [o.index for o in outcomes] == list(range(200))
    assert [o.value for o in outcomes if o.ok] == [x * x for x in range(200) if x % 7 != 3]
    failed = [o for o in outcomes if not o.ok]
    assert [o.item for o in failed] == [x for x in range(200) if x % 7 == 3]
    assert failed[0].error.error_type == "ValueError"
    assert failed[0].error.message == "bad item 3"


@pytest.mark.parametrize("kind", TYPES)
def test_generator_input_streams_with_bounded_window(kind):
    consumed = []

    def source():
        for i in range(5000):
            consumed.append(i)
            yield i

    with ParallelProcessor(config(kind, chunk_size=10)) as proc:
        stream = proc.map(abs, source())
        first = next(stream)
        assert first.value == 0
        # only a bounded window was pulled from the generator, not all 5000 items
        assert len(consumed) <= 8 * 2 * 10 + 10  # max_window chunks of 10, plus one
        rest = list(stream)
    assert len(rest) == 4999 and proc.summary.ok == 5000


def test_auto_picks_backend_from_declared_kind():
    cfg = ParallelConfig(max_workers=2)
    assert cfg.resolved_type(WorkKind.IO) is ProcessingType.THREAD
    assert cfg.resolved_type(WorkKind.CPU) is ProcessingType.PROCESS
    assert cfg.resolved_type(WorkKind.GPU) is ProcessingType.SERIAL
    assert ParallelConfig(max_workers=1).resolved_type(WorkKind.CPU) is ProcessingType.THREAD


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_closures_work(kind):
    offset = 1000
    outcomes = smart_map(lambda x: x + offset, range(20), config=config(kind))
    assert [o.value for o in outcomes] == [x + 1000 for x in range(20)]


def test_unpicklable_function_refused_before_start_in_process_mode():
    lock = threading.Lock()
    with ParallelProcessor(config("process")) as proc:
        with pytest.raises(TypeError, match="cannot send .* to worker processes"):
            list(proc.map(lambda x: (lock, x), range(3)))


@pytest.mark.parametrize("kind", ["serial", "thread", "process"])
def test_per_item_timeout_recorded(kind):
    items = [0.01, 6.0, 0.01]  # without the timeout the 6 s item would succeed
    outcomes = smart_map(sleepy, items, config=config(kind, timeout=0.5))
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error.error_type == "ItemTimeout"


def test_fail_fast_stops_at_first_failure():
    with ParallelProcessor(config("thread", fail_fast=True)) as proc:
        with pytest.raises(FailFastError, match="bad item 3"):
            list(proc.map(square_or_fail, range(100)))


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_cancel_stops_quickly_and_leaves_no_children(kind):
    cancel = CancelToken()
    me = psutil.Process()
    results = []
    with ParallelProcessor(config(kind, chunk_size=1), cancel=cancel) as proc:
        for outcome in proc.map(slow_identity, range(10_000)):
            results.append(outcome)
            if len(results) == 3:  # cancel from another thread, as the app does
                threading.Timer(0.2, cancel.cancel).start()
                cancelled_at = time.perf_counter() + 0.2
    # 'within about a second'; the bound is loose for busy CI machines (uncancelled: ~250 s)
    assert time.perf_counter() - cancelled_at < 10.0
    assert 3 <= len(results) < 10_000
    assert proc.summary.cancelled
    time.sleep(0.2)
    assert live_pool_workers(me) == []


def live_pool_workers(me: psutil.Process) -> list[psutil.Process]:
    """Descendants other than multiprocessing's own long-lived helpers (forkserver, tracker)."""
    helpers = {c.pid for c in me.children() if "multiprocessing" in " ".join(c.cmdline())}
    return [c for c in me.children(recursive=True)
            if c.pid not in helpers and c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def crash_on_five(x: int) -> int:
    if x == 5:
        os._exit(1)  # a worker dies as on a segfault or an out-of-memory kill
    return x


def test_dead_worker_fails_only_its_item():
    outcomes = smart_map(crash_on_five, range(12), config=config("process", chunk_size=3))
    assert [o.value for o in outcomes if o.ok] == [x for x in range(12) if x != 5]
    [dead] = [o for o in outcomes if not o.ok]
    assert dead.item == 5 and dead.error.error_type == "WorkerDied"


def test_events_stream_and_summary():
    events = []
    outcomes = smart_map(square_or_fail, range(30), config=config("thread"), sink=events.append)
    assert isinstance(events[0], Started) and events[0].total == 30
    assert isinstance(events[-1], Finished)
    summary = events[-1].summary
    assert (summary.ok, summary.failed, summary.total) == (26, 4, 30)
    assert summary.workers == 2 and summary.processing_type == "thread"
    assert [e.item for e in events if isinstance(e, ItemFailed)] == ["3", "10", "17", "24"]
    last = [e for e in events if isinstance(e, Advanced)][-1]
    assert (last.done, last.failed) == (30, 4)
    assert len(outcomes) == 30


def test_pool_is_reused_across_maps():
    with ParallelProcessor(config("process")) as proc:
        pids1 = {o.value for o in proc.map(lambda _: os.getpid(), range(50))}
        pids2 = {o.value for o in proc.map(lambda _: os.getpid(), range(50))}
    assert pids1 & pids2 and os.getpid() not in pids1


def sum_batch(batch: list[int]) -> list[int]:
    if 13 in batch:
        raise ValueError("thirteen")
    return [x * 2 for x in batch]


@pytest.mark.parametrize("kind", TYPES)
def test_batch_map_isolates_the_failing_item(kind):
    outcomes = batch_map(sum_batch, range(40), batch_size=8, config=config(kind))
    assert [o.index for o in outcomes] == list(range(40))
    assert [o.item for o in outcomes if not o.ok] == [13]
    assert all(o.value == o.item * 2 for o in outcomes if o.ok)


def test_batch_processor_reports_items_not_batches():
    events = []
    with BatchProcessor(config("thread"), batch_size=5, sink=events.append) as bp:
        list(bp.map(sum_batch, range(20)))
    assert bp.summary.ok == 19 and bp.summary.failed == 1
    assert events[-1].summary.total == 20


class FakeOOM(RuntimeError):
    """Stands in for torch.cuda.OutOfMemoryError (same message shape)."""


def test_image_processor_halves_batch_on_out_of_memory():
    seen_sizes = []

    def model(batch):
        seen_sizes.append(len(batch))
        if len(batch) > 4:
            raise FakeOOM("CUDA out of memory. Tried to allocate 2.00 GiB")
        if 99 in batch:
            raise FakeOOM("CUDA out of memory even for one item")
        return [x + 0.5 for x in batch]

    with ImageProcessor(ParallelConfig(device="cpu"), batch_size=32) as ip:
        outcomes = list(ip.map(model, list(range(20)) + [99]))
    assert seen_sizes[:5] == [21, 10, 5, 2, 2]
    assert ip.batch_size == 2  # stays at the size that fitted
    assert [o.value for o in outcomes if o.ok] == [x + 0.5 for x in range(20)]
    [failed] = [o for o in outcomes if not o.ok]
    assert failed.item == 99 and "out of memory" in failed.error.message


def test_image_map_with_loader_and_non_memory_errors():
    def load(x):
        if x == 2:
            raise OSError("unreadable")
        return x * 10

    def model(batch):
        if 40 in batch:
            raise ValueError("bad tensor")
        return [v + 1 for v in batch]

    outcomes = image_map(model, range(6), load=load, batch_size=4, config=ParallelConfig(device="cpu"))
    assert [(o.item, o.value) for o in outcomes if o.ok] == [(0, 1), (1, 11), (3, 31), (5, 51)]
    assert {o.item: o.error.error_type for o in outcomes if not o.ok} == {2: "OSError", 4: "ValueError"}


def test_config_validation():
    with pytest.raises(ValueError):
        ParallelConfig(gpu_memory_fraction=0.05)
    with pytest.raises(ValueError):
        ParallelConfig(max_workers=-1)
    with pytest.raises(ValueError):
        ParallelConfig(processing_type="fast")


def head_blocks(x: int) -> int:
    time.sleep(3.0 if x == 0 else 0.01)
    return x


def test_cancel_still_delivers_work_that_finished_behind_a_slow_head():
    """Finished items are reported (and so journaled by actions), never silently redone."""
    cancel = CancelToken()
    threading.Timer(0.6, cancel.cancel).start()
    with ParallelProcessor(config("thread", chunk_size=1), cancel=cancel) as proc:
        delivered = [o.index for o in proc.map(head_blocks, range(40))]
    assert 0 not in delivered  # the head never finished
    assert delivered[:5] == [1, 2, 3, 4, 5] and delivered == sorted(delivered)
    assert proc.summary.cancelled and proc.summary.ok == len(delivered)


def test_image_processor_keeps_input_order_with_load_failures():
    def load(x):
        if x % 3 == 0:
            raise OSError("unreadable")
        return x

    outcomes = image_map(lambda batch: batch, range(10), load=load, batch_size=4,
                         config=ParallelConfig(device="cpu"))
    assert [o.index for o in outcomes] == list(range(10))
    assert [o.ok for o in outcomes] == [x % 3 != 0 for x in range(10)]


def test_reorder_buffer_releases_in_input_order_and_drains_past_gaps():
    from dataset_forge.parallel.reorder import ReorderBuffer
    order = ReorderBuffer()
    order.put(2, "c")
    order.put(1, "b")
    assert list(order.ready()) == []       # 0 has not arrived
    order.put(0, "a")
    assert list(order.ready()) == ["a", "b", "c"]
    order.put(5, "f")
    order.put(4, "e")
    assert list(order.ready()) == [] and len(order) == 2
    assert list(order.drain()) == ["e", "f"]  # on cancel: 3 never came
    with pytest.raises(ValueError):
        order.put(4, "again")


def test_max_items_in_flight_bounds_items_not_chunks():
    consumed = []

    def source():
        for i in range(2000):
            consumed.append(i)
            yield i

    cfg = config("thread", chunk_size=5, max_items_in_flight=12)
    with ParallelProcessor(cfg) as proc:
        stream = proc.map(slow_identity, source())
        next(stream)
        assert len(consumed) <= 12 + 5  # at most 12 items out, plus the chunk being taken
        stream.close()


def test_summary_stores_busy_seconds_and_derives_utilisation():
    with ParallelProcessor(config("thread", chunk_size=1)) as proc:
        list(proc.map(sleepy, [0.1] * 6))
    summary = proc.summary
    assert 0.55 < summary.busy_seconds < 3.0  # six items of 0.1 s, whatever the machine
    assert summary.utilisation == pytest.approx(
        min(1.0, summary.busy_seconds / (summary.elapsed * summary.workers)))
    assert summary.to_dict()["busy_seconds"] == summary.busy_seconds


@pytest.mark.parametrize("verb", ["map", "batch_map", "image_map"])
def test_ctx_map_keeps_the_summary_when_the_caller_breaks_early(tmp_path, verb):
    from dataset_forge.context import RunContext
    ctx = RunContext(config=config("thread"), report_dir=tmp_path)
    fn = abs if verb == "map" else (lambda batch: batch)
    kwargs = {"kind": WorkKind.IO} if verb != "image_map" else {}
    for outcome in getattr(ctx, verb)(fn, range(500), **kwargs):
        if outcome.index == 3:
            break
    [summary] = ctx.summaries
    assert summary.ok >= 4 and summary.cancelled  # stopped early, and says so


def test_explicit_worker_counts_are_clamped_to_the_machine():
    threads = ParallelConfig(processing_type="thread", max_workers=10_000)
    used, note = threads.worker_plan(WorkKind.IO)
    assert 32 <= used < 10_000 and note.startswith(f"10000 thread workers asked, {used} used")
    processes = ParallelConfig(processing_type="process", max_workers=10_000)
    used, note = processes.worker_plan(WorkKind.CPU)
    assert 1 <= used <= 4 * os.cpu_count() and "process workers asked" in note
    local_dask = ParallelConfig(processing_type="dask", max_workers=10_000)
    assert local_dask.workers(WorkKind.CPU) == used  # a local cluster is process workers
    assert ParallelConfig(max_workers=2).worker_plan(WorkKind.CPU) == (2, "")  # no note
