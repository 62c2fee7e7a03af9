"""Every part of a `Report` as tables: summary, the action's own tables, failures, files."""
from __future__ import annotations

from typing import Any, Iterable

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Label, Static

from dataset_forge.reports.report import Report, Table

MAX_ROWS = 500      # tables in the report are already capped; this guards the widget
MAX_CELL = 80


def cell(value: Any) -> str:
    """A compact, readable cell: dicts as `k v, ...`, floats rounded, long text cut."""
    if isinstance(value, dict):
        text = ", ".join(f"{k} {v}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = ", ".join(map(str, value))
    elif isinstance(value, float):
        text = f"{value:,.4g}"
    elif isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def nested_table(title: str, values: dict) -> Table:
    """A dict as a table: {name: {a, b}} rows get a column per inner key, others key | value."""
    inner = [v for v in values.values() if isinstance(v, dict)]
    if inner and len(inner) == len(values):
        columns = list(dict.fromkeys(k for v in inner for k in v))
        return Table(title, ["key", *columns],
                     [[k, *(v.get(c, "") for c in columns)] for k, v in values.items()])
    return Table(title, ["key", "value"], [[k, v] for k, v in values.items()])


def summary_tables(summary: dict, shown: set[str] = frozenset()) -> list[Table]:
    """The summary's plain values as one table, then each nested dict as its own table, but
    for those the report already has as a table of the same name (`shown`, lower case)."""
    nested = {k: v for k, v in summary.items() if isinstance(v, dict) and v}
    plain = {k: v for k, v in summary.items() if k not in nested}
    tables = [Table("Summary", ["key", "value"], [[k, v] for k, v in plain.items()])]
    tables += [nested_table(f"Summary: {k}", v) for k, v in nested.items()
               if str(k).lower() not in shown]
    return tables


def report_tables(report: Report) -> list[Table]:
    """The report as a list of tables, in the order the screen shows them."""
    tables = summary_tables(report.summary, {t.title.lower() for t in report.tables})
    tables += list(report.tables)
    if report.failures:
        tables.append(Table(f"Failures ({len(report.failures):,})", ["item", "error", "reason"],
                            [[f.item, f.error_type, f.message] for f in report.failures]))
    if report.files:
        tables.append(Table("Files written", ["name", "path"], [[k, v] for k, v in report.files.items()]))
    return tables


def html_report(report: Report) -> str | None:
    """The first HTML page among the files the report lists, if any."""
    return next((str(p) for p in report.files.values() if str(p).lower().endswith(".html")), None)


class ReportTable(DataTable):
    """A read-only DataTable for one report table."""

    def __init__(self, table: Table) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", classes="report-table")
        self.table = table

    def on_mount(self) -> None:
        self.add_columns(*self.table.columns)
        self.add_rows(self._rows(self.table.rows))

    @staticmethod
    def _rows(rows: Iterable[list[Any]]) -> list[list[str]]:
        return [[cell(v) for v in row] for _, row in zip(range(MAX_ROWS), rows)]


class ReportView(VerticalScroll):
    def __init__(self, report: Report, id: str | None = None) -> None:
        super().__init__(id=id, classes="report-view")
        self.report = report

    def compose(self) -> ComposeResult:
        html = html_report(self.report)
        if html:
            yield Static(f"HTML report: [b]{html}[/b]", classes="report-link", markup=True)
        for table in report_tables(self.report):
            yield Label(table.title, classes="table-title")
            if table.rows:
                yield ReportTable(table)
            else:
                yield Static("(empty)", classes="table-empty")
