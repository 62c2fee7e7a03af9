"""Typed progress events: the engine reports, the faces (rich, Textual) render.

A sink is any callable taking one event. Events are plain frozen dataclasses so they pickle,
serialise and compare easily.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional


def counted(n: int, unit: str) -> str:
    """A count with what it counts (`unit` in the plural): `64 images`, `1 step`."""
    word = unit[:-1] if n == 1 and unit.endswith("s") else unit
    return f"{n:,} {word}"


@dataclass(frozen=True)
class Started:
    label: str
    total: Optional[int]  # None when the input is a stream of unknown length
    unit: str = "items"   # what the pass counts, plural: images, pairs, shards...


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
    unit: str = "items"        # what ok and failed count, plural: images, pairs, steps...
    earlier: int = 0           # items an earlier run finished (a resume): named, never timed

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

    def counts(self) -> str:
        """`4 of 5 steps ok, 1 failed`: the counts, naming their unit (and what a resumed run
        found done: `0 of 0 pairs ok, 0 failed, 156 done earlier`)."""
        done = f"{self.ok:,} of {counted(self.total, self.unit)} ok, {self.failed:,} failed"
        return done + (f", {self.earlier:,} done earlier" if self.earlier else "")

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

