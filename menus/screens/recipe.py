"""Recipes in the app: a recipe's steps and variables as a form, then a run with a per-step list.

`RecipeForm` shows the steps, one input per variable and the equivalent `dataset-forge run`
command line; Run validates the recipe (errors name the step and field) and opens
`RecipeRunScreen`, which runs it in a thread worker: a step list (pending, running, done,
failed, skipped) above the current step's live progress. Enter on a finished step opens its
results; Escape cancels the run, then goes back.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, Label, Static

from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.recipes import (Recipe, StepResult, load_recipe, read_recipe_header,
                                   run_recipe)
from dataset_forge.settings import load_settings

from ..messages import EventBridge
from ..widgets.run_progress import RunProgress
from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from .job import JobScreen

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "recipes"


def find_recipes(folder: Path) -> list[Path]:
    """The shipped recipes, then recipe files (TOML with [[steps]]) in the dataset folder."""
    shipped = sorted(SHIPPED.glob("*.toml"))
    own = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            read_recipe_header(path)
        except UsageError:
            continue
        own.append(path)
    return shipped + own


def command_line(path: Path, overrides: dict[str, str]) -> str:
    parts = ["dataset-forge", "run", str(path)]
    for key, value in overrides.items():
        parts += ["--set", f"{key}={value}"]
    return " ".join(shlex.quote(p) for p in parts)


class RecipeForm(Screen):
    BINDINGS = [Binding("escape", "back", "Back"), Binding("ctrl+r", "run", "Run")]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.header, self.variables, self.steps = read_recipe_header(self.path)

    def compose(self) -> ComposeResult:
        name = self.header.get("name", self.path.stem)
        yield TitleBar(f"Recipe: {name}")
        with VerticalScroll(id="recipe-form"):
            yield Static(f"[b]{escape(str(self.header.get('description', '')))}[/b]\n"
                         f"[dim]{escape(str(self.path))}[/dim]", markup=True, id="recipe-about")
            yield Label("[b]Steps[/b]", markup=True)
            yield Static("\n".join(f"{i}. {escape(str(s.get('name', s.get('action'))))}  "
                                   f"[dim]{escape(str(s.get('action')))}[/dim]"
                                   for i, s in enumerate(self.steps, 1)),
                         markup=True, id="recipe-steps")
            yield Label("[b]Variables[/b]", markup=True)
            for key, value in self.variables.items():
                with Horizontal(classes="recipe-var"):
                    yield Label(key, classes="recipe-var-name")
                    yield Input(str(value).lower() if isinstance(value, bool) else str(value),
                                id=f"var-{key}", classes="recipe-var-input", compact=True)
            yield Static("", id="recipe-error")
            yield Static("", id="command-line")
            yield Button("Run recipe  Ctrl+R", id="run", variant="primary", compact=True)
        yield ForgeFooter()

    def on_mount(self) -> None:
        self._update_command()

    def overrides(self) -> dict[str, str]:
        """Variables whose text differs from the file's value."""
        changed = {}
        for key, value in self.variables.items():
            text = self.query_one(f"#var-{key}", Input).value
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            if text != shown:
                changed[key] = text
        return changed

    @on(Input.Changed)
    def _update_command(self) -> None:
        self.query_one("#command-line", Static).update(
            "[dim]Command line:[/dim] " + escape(command_line(self.path, self.overrides())))

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        try:
            recipe = load_recipe(self.path, self.overrides())
        except UsageError as exc:
            self.query_one("#recipe-error", Static).update(f"[red]{escape(str(exc))}[/red]")
            return
        self.query_one("#recipe-error", Static).update("")
        self.app.push_screen(RecipeRunScreen(recipe))

    def action_back(self) -> None:
        self.app.pop_screen()


class StepChanged(Message):
    def __init__(self, index: int, record: StepResult) -> None:
        super().__init__()
        self.index, self.record = index, record


class RecipeEnded(Message):
    def __init__(self, error: str | None, exit_code: int, index_html: str | None) -> None:
        super().__init__()
        self.error, self.exit_code, self.index_html = error, exit_code, index_html


class RecipeRunScreen(JobScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel / back")]

    def __init__(self, recipe: Recipe) -> None:
        super().__init__()
        self.recipe = recipe
        self.records: dict[int, StepResult] = {}

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Run recipe: {self.recipe.name}")
        with Vertical(id="recipe-run"):
            yield Label(f"[b]Running {escape(self.recipe.name)}[/b]  Esc cancels", markup=True,
                        id="run-title")
            yield DataTable(id="recipe-steps-table", cursor_type="row", zebra_stripes=True)
            yield RunProgress(id="progress")
            yield Static("", id="run-status")
        yield ForgeFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="index")
        table.add_column("step", key="step")
        table.add_column("action", key="action")
        table.add_column("status", key="status")
        table.add_column("time", key="time")
        table.add_column("result", key="result")
        for step in self.recipe.steps:
            table.add_row(str(step.index), step.name, step.action.name, "pending", "", "",
                          key=str(step.index))
        self.running = True
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False, name="recipe-run")
    def _run(self) -> None:
        settings = load_settings(self.app.settings_path).settings
        try:
            result = run_recipe(self.recipe, config=ParallelConfig.from_settings(settings),
                                settings=settings, sink=EventBridge(self),
                                cancel=self.cancel_token, log_dir=settings.log_dir(),
                                on_step=lambda step, record: self.post_message(
                                    StepChanged(step.index, _copy(record))))
        except UsageError as exc:
            self.post_message(RecipeEnded(str(exc), 2, None))
        except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
            self.post_message(RecipeEnded(f"unexpected {type(exc).__name__}: {exc}", 3, None))
        else:
            self.post_message(RecipeEnded(None, result.exit_code, result.files.get("html")))

    @on(StepChanged)
    def _step_changed(self, message: StepChanged) -> None:
        record = message.record
        self.records[message.index] = record
        table, row = self.query_one(DataTable), str(message.index)
        table.update_cell(row, "status", record.status, update_width=True)
        table.update_cell(row, "time", f"{record.elapsed:.1f} s" if record.elapsed else "",
                          update_width=True)
        result = record.error or ", ".join(f"{k}: {v}" for k, v in record.summary.items()
                                           if isinstance(v, int) and not isinstance(v, bool))
        table.update_cell(row, "result", result[:80], update_width=True)
        if record.status == "running":
            table.move_cursor(row=message.index - 1)

    @on(RecipeEnded)
    def _ended(self, message: RecipeEnded) -> None:
        self.running = False
        table = self.query_one(DataTable)
        for index, record in self.records.items():   # a step refused as it started
            if record.status == "running":
                table.update_cell(str(index), "status", "failed" if message.error else "stopped",
                                  update_width=True)
        done = sum(r.status.startswith(("done", "skipped")) for r in self.records.values())
        if message.error:
            text = f"[b red]The recipe did not run:[/b red] {escape(message.error)}"
        else:
            style = {0: "green", 1: "red"}.get(message.exit_code, "yellow")
            text = (f"[b {style}]{done} of {len(self.recipe.steps)} steps done[/]  "
                    f"Report: {escape(message.index_html or '')}\n"
                    "Enter on a step opens its report; Esc goes back")
        self.query_one("#run-status", Static).update(text)
        self.query_one("#run-title", Label).update(f"[b]{escape(self.recipe.name)}[/b] ended")
        self.app.announce(f"recipe {self.recipe.name}: {done} of {len(self.recipe.steps)} "
                          "steps done", error=message.exit_code not in (0, 130))

    @on(DataTable.RowSelected)
    def _open_step(self, event: DataTable.RowSelected) -> None:
        record = self.records.get(int(event.row_key.value))
        if self.running or record is None or not record.report:
            return
        from dataset_forge.reports.report import Report
        try:
            report = Report.read_json(record.report)
        except (OSError, ValueError) as exc:
            self.notify(f"cannot read {record.report}: {exc}", severity="error")
            return
        from .results import ResultsScreen
        self.app.push_screen(ResultsScreen(report))

    def action_cancel(self) -> None:
        if self.running and not self.cancel_token.cancelled:
            self.cancel_token.cancel()
            self.query_one("#run-title", Label).update(
                "[b]Stopping...[/b]  the current step keeps what it finished")
        elif not self.running:
            self.app.pop_screen()


def _copy(record: StepResult) -> StepResult:
    """A snapshot for the UI thread (the runner keeps changing its own record)."""
    return StepResult(**{k: v for k, v in vars(record).items()})
