"""An action's form, generated from its declaration, with the equivalent headless command."""
from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from dataset_forge.actions.registry import Action

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..catalog import paragraphs
from ..changes import confirmation
from ..commandline import headless_command
from ..fields import from_param
from ..sample_preview import can_preview
from ..widgets.form_field import FormField
from .confirm import Choice


class ActionForm(Screen):
    BINDINGS = [
        Binding("ctrl+r", "run", "Run", priority=True),
        Binding("f2", "preview", "Preview"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, action: Action, values: dict[str, Any]) -> None:
        super().__init__()
        self.action_def = action
        self.values = values

    def compose(self) -> ComposeResult:
        a = self.action_def
        yield TitleBar(f"Action: {self.action_def.name}")
        yield Label(f"[b]{a.name}[/b]  {escape(a.help)}", id="form-title", markup=True)
        with VerticalScroll(id="form"):
            if a.description:
                yield Static(paragraphs(a.description), id="form-description", markup=False)
            for param in a.params:
                yield FormField(from_param(param), self.values.get(param.name),
                                id=f"field-{param.name}")
            if a.examples:
                yield Static("Examples (headless):\n" + "\n".join(f"  $ {e}" for e in a.examples),
                             id="form-examples", markup=False)
        yield Static("", id="command-line")
        with Horizontal(id="form-buttons"):
            yield Button("Run  Ctrl+R", variant="primary", id="run", compact=True)
            if can_preview(a):
                yield Button("Preview  F2", id="preview", compact=True)
            yield Button("Back  Esc", id="back", compact=True)
        yield ForgeFooter()

    def on_mount(self) -> None:
        self._refresh_command()
        fields = list(self.query(FormField))
        if fields:
            fields[0].query(".field-control").first().focus()

    @property
    def fields(self) -> list[FormField]:
        return list(self.query(FormField))

    def current_values(self) -> dict[str, Any]:
        return {f.spec.key: f.raw for f in self.fields}

    def run_values(self) -> dict[str, Any]:
        """What run_action receives: empty text left out so the declared default applies."""
        return {k: v for k, v in self.current_values().items()
                if v is not None and not (isinstance(v, str) and not v.strip())}

    def _refresh_command(self) -> None:
        command = headless_command(self.action_def, self.current_values(), self.app.settings_flag)
        self.query_one("#command-line", Static).update(f"[dim]$[/dim] {escape(command)}")

    @on(FormField.Changed)
    def _field_changed(self, event: FormField.Changed) -> None:
        self._refresh_command()
        self.app.form_memory[self.action_def.name] = self.current_values()

    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        invalid = [f for f in self.fields if f.validate() is not None]
        if invalid:
            self.notify(f"{invalid[0].spec.label}: {invalid[0].error}", title="Fix the form first",
                        severity="error")
            invalid[0].query(".field-control").first().focus()
            return
        self.app.form_memory[self.action_def.name] = self.current_values()
        values = self.run_values()
        question = confirmation(self.action_def, values)
        if question is None:
            self.app.start_run(self.action_def, values)
            return

        def answered(answer: str | None) -> None:
            if answer == "run":
                self.app.start_run(self.action_def, values)
        self.app.push_screen(Choice(question, [("back", "Back to the form"), ("run", "Run it")],
                                    yes="run", no="back"), answered)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "preview":
            return can_preview(self.action_def)
        return True

    @on(Button.Pressed, "#preview")
    def action_preview(self) -> None:
        """Before/after on one sample; the output field is not needed (nothing goes there)."""
        invalid = [f for f in self.fields if f.spec.key != "output" and f.validate() is not None]
        if invalid:
            self.notify(f"{invalid[0].spec.label}: {invalid[0].error}", title="Fix the form first",
                        severity="error")
            return
        from .preview import PreviewScreen
        self.app.push_screen(PreviewScreen(self.action_def, self.run_values()))

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        self.app.pop_screen()
