"""The headless face: rich renders progress events and reports; quiet when not on a terminal."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table as RichTable

from ..parallel import Advanced, Event, Finished, ItemFailed, Started
from ..parallel.events import counted
from .report import Report, Table

MAX_FAILURE_LINES = 20


class ProgressRenderer:
    """A progress sink: a live bar with counts, failures, throughput and ETA on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.enabled = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("[red]{task.fields[failed]} failed"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True)
        self._task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, Started):
            if not self.progress.live.is_started:
                self.progress.start()
            self._task = self.progress.add_task(event.label, total=event.total, failed=0, rate="",
                                                unit=event.unit)
        elif isinstance(event, Advanced) and self._task is not None:
            elapsed = self.progress.tasks[self._task].elapsed or 0
            rate = f"{event.done / elapsed:,.0f}/s" if elapsed > 0 else ""
            self.progress.update(self._task, completed=event.done, total=event.total,
                                 failed=event.failed, rate=rate)
        elif isinstance(event, Finished) and self._task is not None:
            self.progress.remove_task(self._task)
            self._task = None
            if not self.progress.tasks:
                self.progress.stop()
        elif isinstance(event, ItemFailed):
            pass  # failures are listed in the report; the bar shows their count

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


#: longest cell shown in a terminal table (a tile run's output list can run to pages)
MAX_CELL = 160


def rich_table(table: Table) -> RichTable:
    out = RichTable(title=table.title, title_justify="left", header_style="bold")
    for column in table.columns:
        out.add_column(column, overflow="fold")
    for row in table.rows:
        out.add_row(*(_cell(v) for v in row))
    return out


def _cell(value: Any) -> str:
    """A value as table text; long text is cut (the JSON report keeps it whole)."""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    if len(text) <= MAX_CELL:
        return text
    return f"{text[:MAX_CELL]}... (+{len(text) - MAX_CELL:,} characters in the JSON report)"


def render_report(report: Report, console: Console) -> None:
    """Summary, the action's tables, the first failures, and where the files are."""
    head = RichTable(title=f"{report.action}: summary", title_justify="left", show_header=False)
    head.add_column("key", style="bold")
    head.add_column("value")
    for key, value in report.summary.items():
        if not isinstance(value, (dict, list)):
            head.add_row(key, _cell(value))
    if report.run:
        run = report.run
        head.add_row("outcome", run.counts())
        head.add_row("time", f"{run.elapsed:.2f} s ({run.throughput:,.1f} {run.unit}/s, "
                              f"{counted(run.workers, run.processing_type + ' workers')})")
    if report.cancelled:
        head.add_row("status", "[yellow]cancelled: partial results")
    console.print(head)
    for table in report.tables:
        console.print(rich_table(table))
    if report.failures:
        console.print(f"[red]{len(report.failures)} item(s) failed:")
        for failure in report.failures[:MAX_FAILURE_LINES]:
            console.print(f"  {failure}", markup=False, highlight=False)
        if len(report.failures) > MAX_FAILURE_LINES:
            console.print(f"  ... and {len(report.failures) - MAX_FAILURE_LINES} more in the report")
    for name, path in report.files.items():
        console.print(f"{name}: {path}", markup=False, highlight=False)
