"""The run screen: the action runs in a thread worker; its events arrive as messages.

Escape sets the run's CancelToken; the core stops within about a second and the action
returns a report of what finished, which the results screen then shows.
"""
from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, Static

from dataset_forge.actions.registry import Action
from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.reports.report import Report
from dataset_forge.runner import run_action
from dataset_forge.settings import load_settings

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..messages import EventBridge, RunEnded, RunItemFailed, RunPassFinished
from ..widgets.run_progress import RunProgress
from .job import JobScreen
from .results import outcome_line
from ..widgets.sysinfo_panel import SysInfoPanel

MAX_FAILURE_ROWS = 1000


class RunScreen(JobScreen):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel run"),
        Binding("escape", "back", "Back to the form"),   # once the run could not start
    ]

    def __init__(self, action: Action, raw_params: dict[str, Any]) -> None:
        super().__init__()
        self.action_def = action
        self.raw_params = raw_params
        self.error: str | None = None        # why the run could not start
        self.failures = 0
        self.pending: Report | None = None   # a report that arrived while another screen was on top

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Run: {self.action_def.name}")
        with Horizontal(id="run-body"):
            with Vertical(id="run-main"):
                yield Label(f"[b]Running {self.action_def.name}[/b]  Esc cancels", id="run-title",
                            markup=True)
                yield RunProgress(id="progress")
                yield Label("Failures", id="failures-title")
                yield DataTable(id="failures", cursor_type="row", zebra_stripes=True)
                yield Static("", id="run-status")
            yield SysInfoPanel(self.app.sample_source, id="sysinfo")
        yield ForgeFooter()

    def on_mount(self) -> None:
        self.query_one("#failures", DataTable).add_columns("item", "error", "reason")
        self.running = True
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False, name="action-run")
    def _run(self) -> None:
        """Runs in a worker thread: the whole action, reporting through the EventBridge."""
        settings = load_settings(self.app.settings_path).settings
        try:
            report = run_action(self.action_def, self.raw_params,
                                config=ParallelConfig.from_settings(settings), settings=settings,
                                sink=EventBridge(self), cancel=self.cancel_token,
                                log_dir=settings.log_dir())
        except UsageError as exc:
            self.post_message(RunEnded(None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
            self.post_message(RunEnded(None, f"unexpected {type(exc).__name__}: {exc}"))
        else:
            self.post_message(RunEnded(report))

    @on(RunItemFailed)
    def _item_failed(self, message: RunItemFailed) -> None:
        self.failures += 1
        if self.failures <= MAX_FAILURE_ROWS:
            self.query_one("#failures", DataTable).add_row(message.item, message.error_type,
                                                           message.message)
        self.query_one("#failures-title", Label).update(f"Failures ({self.failures:,})")

    @on(RunPassFinished)
    def _pass_finished(self, message: RunPassFinished) -> None:
        s = message.summary
        self.query_one("#run-status", Static).update(
            f"{s.label or 'pass'}: {s.counts()} in {s.elapsed:.1f} s")

    @on(RunEnded)
    def _ended(self, message: RunEnded) -> None:
        self.running = False
        self.refresh_bindings()
        if self.app.quitting:    # the app exits now; no results screen
            return
        if message.report is None:
            self._failed(message.error or "unknown error")
            return
        report = message.report
        self.app.announce(outcome_line(report), error=bool(report.failed) and not report.cancelled)
        if self.app.screen is self:
            self.app.show_results(report)
        else:
            self.pending = report

    def _failed(self, error: str) -> None:
        """The run could not start: the error in place of the progress, a toast, Esc goes back."""
        self.error = error.splitlines()[0] if error else "unknown error"
        self.add_class("-failed")
        self.query_one("#run-title", Label).update(
            f"[b red]{escape(self.action_def.name)} did not run[/b red]  Esc goes back to the form")
        self.query_one(RunProgress).show_error(self.error)
        self.query_one("#run-status", Static).update(f"Failed: {escape(self.error)}")
        self.app.announce(f"{self.action_def.name}: {self.error}", error=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running or self.error is None
        if action == "back":
            return not self.running and self.error is not None
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_screen_resume(self) -> None:
        if self.pending is not None:
            report, self.pending = self.pending, None
            self.app.show_results(report)

    def stop_for_quit(self) -> None:
        """Cancel for a quit: the title says so and shows what has finished."""
        self.cancel_token.cancel()
        progress = self.query_one(RunProgress)
        self.query_one("#run-title", Label).update(
            f"[b]Stopping {escape(self.action_def.name)} and quitting...[/b]  "
            f"{progress.done:,} done, {progress.failed:,} failed; finishing the items in flight")
        self.app.notify("Stopping the run; the app closes when the items in flight end.",
                        title="Quitting")

    def action_cancel(self) -> None:
        if self.running and not self.cancel_token.cancelled:
            self.cancel_token.cancel()
            self.query_one("#run-title", Label).update(
                f"[b]Stopping {self.action_def.name}...[/b]  finished items are kept")
        elif not self.running:
            self.app.pop_screen()
