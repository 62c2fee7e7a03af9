"""The results screen: what the run did, every report table, and where the reports are."""
from __future__ import annotations

import webbrowser
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from dataset_forge.parallel.events import counted
from dataset_forge.reports.report import Report

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..dedup_groups import has_groups
from ..widgets.report_view import ReportView, html_report


def has_browser() -> bool:
    """Whether Python's webbrowser module finds a browser to open a page with."""
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def outcome_line(report: Report) -> str:
    """`inventory finished in 0.4 s: 9 of 10 images ok, 1 failed (...)` or what a cancelled
    run finished. The unit is what the action declares it counts (images, pairs, steps,
    samples), else that of its largest pass; the Summary table counts the dataset itself."""
    run = report.run
    if run is None:
        return f"{report.action} finished"
    if report.cancelled:
        return f"{report.action} cancelled after {counted(run.total, run.unit)} " \
               f"({run.ok:,} ok, {run.failed:,} failed) in {run.elapsed:.1f} s"
    how = f" ({run.processing_type}, {counted(run.workers, 'workers')})" if run.workers else ""
    return f"{report.action} finished in {run.elapsed:.1f} s: {run.counts()}{how}"


WRITTEN_KEYS = ("files_written", "written")


def nothing_written(report: Report) -> str | None:
    """Why the results list no outputs, when the action says it wrote none of its files."""
    written = next((report.summary[k] for k in WRITTEN_KEYS if k in report.summary), None)
    if written != 0 or report.cancelled:
        return None
    inputs = report.summary.get("inputs", report.summary.get("jobs"))
    return (f"Nothing was written: {report.action} produced no output from "
            f"{inputs if inputs is not None else 'its'} inputs without failing. Usually the "
            "options do not fit these images (a tile or crop larger than the images, filters "
            "that keep nothing); the tables below show each input's outcome.")


class ResultsScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("d", "review", "Review"),
        Binding("c", "copy_path", "Copy path"),
        Binding("o", "open_html", "Open HTML"),
    ]

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        style = "yellow" if self.report.cancelled else "red" if self.report.failed else "green"
        yield TitleBar(f"Results: {self.report.action}")
        yield Static(f"[b {style}]{outcome_line(self.report)}[/]", id="outcome", markup=True)
        yield Static(f"Report: {self.report.files.get('report', '(not written)')}", id="report-path")
        why = nothing_written(self.report)
        if why:
            yield Static(why, id="nothing-written", markup=False)
        if has_groups(self.report):
            yield Static("[b]D[/b]: review the duplicate groups and choose what to keep",
                         id="review-hint", markup=True)
        yield ReportView(self.report, id="report")
        yield ForgeFooter()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "review":
            return has_groups(self.report)
        if action == "open_html":
            return html_report(self.report) is not None and has_browser()
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_review(self) -> None:
        from .dedup_review import DedupReviewScreen
        self.app.push_screen(DedupReviewScreen(self.report))

    def action_open_html(self) -> None:
        page = Path(html_report(self.report) or "")
        if not page.is_file():
            self.notify(f"{page} no longer exists", title="HTML report", severity="error")
            return
        webbrowser.open(page.resolve().as_uri())
        self.notify(str(page), title="Opened in the browser")

    def action_copy_path(self) -> None:
        path = self.report.files.get("report", "")
        self.app.copy_to_clipboard(path)
        self.notify(path, title="Copied report path")
