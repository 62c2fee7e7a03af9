"""`ImageProcessor`: batched model work on one device (GPU when there is one), with back-off.

    with ImageProcessor(config, batch_size=0) as ip:          # 0 = choose from free memory
        for outcome in ip.map(embed_batch, paths, load=decode):
            ...

`load(item)` runs in a thread pool (decoding overlaps model work); `fn(list_of_loaded)` runs in
this process on `ip.device` and returns one result per input. On out-of-memory the cache is
emptied, the batch halved and retried, down to one item, before that item is recorded as failed.
Torch is imported only when a GPU device is asked for or found.
"""
from __future__ import annotations

import itertools
import sys
import time
from typing import Any, Callable, Iterable, Iterator

from .cancel import CancelToken
from .config import ParallelConfig, ProcessingType, WorkKind
from .events import Sink, null_sink
from .outcome import Outcome, failed
from .processor import ParallelProcessor
from .tracking import RunTracker


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's CUDA/MPS out-of-memory errors, without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def resolve_device(requested: str = "auto") -> str:
    """'auto' -> 'cuda' if usable, else 'mps', else 'cpu'. Explicit values pass through."""
    if requested and requested != "auto":
        return requested
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


class ImageProcessor:
    """Feeds decoded items to a batch function on one device, adapting the batch size."""

    def __init__(self, config: ParallelConfig | None = None, *, batch_size: int = 0,
                 sink: Sink | None = None, cancel: CancelToken | None = None) -> None:
        self.config = config or ParallelConfig()
        self.sink = sink or null_sink
        self.cancel_token = cancel or CancelToken()
        self.device = resolve_device(self.config.device)
        self._apply_memory_fraction()
        self.batch_size = batch_size or self._auto_batch_size()
        # decoded items wait for the model: never more than two batches of them in memory
        loader = self.config.with_(processing_type=ProcessingType.THREAD, chunk_size=0,
                                   max_items_in_flight=2 * self.batch_size)
        self._loader = ParallelProcessor(loader, WorkKind.IO, cancel=self.cancel_token)
        self.summary = None

    def __enter__(self) -> "ImageProcessor":
        return self

    def __exit__(self, *exc) -> None:
        self._loader.close(cancel=exc[0] is not None)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _apply_memory_fraction(self) -> None:
        if self.device.startswith("cuda"):
            import torch
            index = torch.device(self.device).index or 0
            torch.cuda.set_per_process_memory_fraction(self.config.gpu_memory_fraction, index)

    def _auto_batch_size(self) -> int:
        if self.device.startswith("cuda"):
            import torch
            free, _ = torch.cuda.mem_get_info(torch.device(self.device))
            # ~8 GiB of usable memory per 256 images at CLIP-like sizes; back-off corrects it
            usable = free * self.config.gpu_memory_fraction
            return int(max(8, min(1024, 256 * usable / 8 / 2**30)))
        return 32

    def _empty_cache(self) -> None:
        torch = sys.modules.get("torch")
        if torch is not None and self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def map(self, fn: Callable[[list], list], items: Iterable[Any], *,
            load: Callable[[Any], Any] | None = None, total: int | None = None,
            label: str = "", unit: str = "items") -> Iterator[Outcome]:
        """Yield per-item outcomes in input order."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        tracker = RunTracker(self.sink, label or getattr(fn, "__name__", "model"), total, unit)
        loaded = self._loader.map(load, items) if load else \
            (Outcome(i, item, item) for i, item in enumerate(items))
        stopped = False
        try:
            while batch := list(itertools.islice(loaded, self.batch_size)):
                if self.cancel_token.cancelled:
                    break
                t0 = time.perf_counter()
                outcomes = sorted(self._run_batch(fn, batch), key=lambda o: o.index)
                tracker.add_busy(time.perf_counter() - t0)
                for outcome in outcomes:
                    tracker.record(outcome)
                    yield outcome
        except BaseException:  # the caller stopped early (break) or an error
            stopped = True
            raise
        finally:
            loaded.close()
            self.summary = tracker.finish(1, ProcessingType.SERIAL.value,
                                          stopped or self.cancel_token.cancelled)

    def _run_batch(self, fn, batch: list[Outcome]) -> Iterator[Outcome]:
        """Run the loaded items of `batch`; halve on out-of-memory until it fits."""
        yield from (o for o in batch if not o.ok)  # load failures pass straight through
        pending = [o for o in batch if o.ok]
        while pending:
            size = min(self.batch_size, len(pending))
            part, rest = pending[:size], pending[size:]
            try:
                values = list(fn([o.value for o in part]))
            except Exception as exc:  # noqa: BLE001
                if is_out_of_memory(exc):
                    self._empty_cache()
                    if size > 1:
                        self.batch_size = max(1, size // 2)
                        continue
                if size > 1:  # not memory: find the bad item by running one at a time
                    yield from self._one_by_one(fn, part)
                else:
                    yield failed(part[0].index, part[0].item, type(exc).__name__,
                                 str(exc) or repr(exc))
                pending = rest
                continue
            for o, value in zip(part, values, strict=True):
                yield Outcome(o.index, o.item, value)
            pending = rest

    def _one_by_one(self, fn, part: list[Outcome]) -> Iterator[Outcome]:
        for o in part:
            try:
                yield Outcome(o.index, o.item, list(fn([o.value]))[0])
            except Exception as exc:  # noqa: BLE001
                yield failed(o.index, o.item, type(exc).__name__, str(exc) or repr(exc))
