"""Progress of the current pass: a bar, done and failed counts, throughput and ETA."""
from __future__ import annotations

import time
from typing import Callable, Optional

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar, Static


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_line(done: int, failed: int, total: Optional[int], elapsed: float,
                  unit: str = "items") -> str:
    """`12/100 images done, 2 failed, 35.2/s, ETA 0:03` (pure, so it is easy to test)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = (total - done) / rate if total is not None and rate > 0 else None
    counted = f"{done:,}/{total:,}" if total is not None else f"{done:,}"
    return f"{counted} {unit} done, {failed:,} failed, {rate:,.1f}/s, ETA {format_eta(remaining)}"


class RunProgress(Vertical):
    """Fed by the run screen from RunStarted/RunAdvanced messages."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, id: str | None = None) -> None:
        super().__init__(id=id, classes="run-progress")
        self.clock = clock
        self._t0 = clock()
        self.done = self.failed = 0
        self.total: Optional[int] = None
        self.unit = "items"

    def compose(self) -> ComposeResult:
        yield Label("starting...", id="pass-label")
        yield ProgressBar(show_eta=False, id="bar")
        yield Static(progress_line(0, 0, None, 0.0), id="counts")

    def start_pass(self, label: str, total: Optional[int], unit: str = "items") -> None:
        self._t0 = self.clock()
        self.done, self.failed, self.total, self.unit = 0, 0, total, unit
        self.query_one("#pass-label", Label).update(label or "working")
        self.query_one(ProgressBar).update(total=total, progress=0)
        self._show()

    def advance(self, done: int, failed: int, total: Optional[int]) -> None:
        self.done, self.failed, self.total = done, failed, total
        self.query_one(ProgressBar).update(total=total, progress=done)
        self._show()

    def show_error(self, error: str) -> None:
        """The run ended before its first pass: say why where the progress would be."""
        self.query_one("#pass-label", Label).update(f"Failed: {escape(error)}")
        self.query_one("#pass-label", Label).add_class("-error")
        self.query_one("#counts", Static).update("nothing ran")

    def _show(self) -> None:
        line = progress_line(self.done, self.failed, self.total, self.clock() - self._t0,
                             self.unit)
        self.query_one("#counts", Static).update(line)
