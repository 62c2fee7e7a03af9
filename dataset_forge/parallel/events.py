"""Typed progress events: the engine reports, the faces (rich, Textual) render.

A sink is any callable taking one event. Events are plain frozen dataclasses so they pickle,
serialise and compare easily.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Started:
    label: str
    total: Optional[int]  # None when the input is a stream of unknown length


@dataclass(frozen=True)
class Advanced:
    done: int      # items finished so far (ok + failed)
    failed: int    # of which failed
    total: Optional[int]


@dataclass(frozen=True)
class ItemFailed:
    item: str
    error_type: str
    message: str


@dataclass(frozen=True)
class RunSummary:
    label: str
    ok: int
    failed: int
    elapsed: float
    workers: int
    processing_type: str
    cancelled: bool = False
    busy_seconds: float = 0.0  # worker-seconds spent on items, summed over workers
    peak_rss_mb: float = 0.0

    @property
    def total(self) -> int:
        return self.ok + self.failed

    @property
    def throughput(self) -> float:
        return self.total / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def utilisation(self) -> float:
        """Share of the workers' time spent on items: busy / (elapsed x workers), at most 1."""
        capacity = self.elapsed * self.workers
        return min(1.0, self.busy_seconds / capacity) if capacity > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total, "throughput": round(self.throughput, 3),
                "utilisation": round(self.utilisation, 3)}


@dataclass(frozen=True)
class Finished:
    summary: RunSummary


Event = Started | Advanced | ItemFailed | Finished
Sink = Callable[[Event], None]


def null_sink(event: Event) -> None:
    """A sink that ignores everything."""

