"""A labelled form control generated from a `FieldSpec`, validated as the user types.

bool -> Switch, choice -> Select, folder/file/path -> Input plus a Browse button that opens
the folder picker, anything else -> Input. The problem, if any, shows in one line under it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, Static, Switch

from ..fields import PICKER_KINDS, FieldSpec, as_text


class FormField(Vertical):
    """One field. `raw` is what the user entered; `error` is None when it is valid."""

    class Changed(Message):
        def __init__(self, field: "FormField") -> None:
            super().__init__()
            self.field = field

    def __init__(self, spec: FieldSpec, raw: Any, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="form-field")
        self.spec = spec
        self._initial = raw
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        spec = self.spec
        mark = " [b red](required)[/b red]" if spec.required else ""
        yield Label(f"[b]{escape(spec.label)}[/b]{mark}  [dim]{escape(spec.help)}[/dim]",
                    classes="field-label", markup=True)
        with Horizontal(classes="field-row"):
            if spec.kind == "bool":
                yield Switch(value=bool(self._initial), classes="field-control")
                yield Static(spec.allowed, classes="field-allowed")
            elif spec.kind == "choice":
                options = [(str(c), c) for c in spec.choices]
                value = self._initial if self._initial in spec.choices else Select.NULL
                yield Select(options, value=value, allow_blank=not spec.required and value is Select.NULL,
                             classes="field-control", compact=True)
            else:
                text = as_text(self._initial)
                yield Input(text, placeholder=spec.placeholder, classes="field-control", compact=True)
                if spec.kind in PICKER_KINDS:
                    yield Button("Browse", classes="field-browse", compact=True)
        yield Static("", classes="field-error")

    def on_mount(self) -> None:
        self.validate()

    @property
    def raw(self) -> Any:
        """The value as entered: bool for switches, the choice for selects, text otherwise."""
        if self.spec.kind == "bool":
            return self.query_one(Switch).value
        if self.spec.kind == "choice":
            value = self.query_one(Select).value
            return None if value is Select.NULL else value
        return self.query_one(Input).value

    def set_raw(self, value: Any) -> None:
        if self.spec.kind == "bool":
            self.query_one(Switch).value = bool(value)
        elif self.spec.kind == "choice":
            self.query_one(Select).value = value
        else:
            self.query_one(Input).value = as_text(value)

    def validate(self) -> str | None:
        self.error = self.spec.check(self.raw)
        self.set_class(self.error is not None, "-invalid")
        self.query_one(".field-error", Static).update(self.error or "")
        return self.error

    @on(Input.Changed)
    @on(Switch.Changed)
    @on(Select.Changed)
    def _changed(self, event: Message) -> None:
        event.stop()
        self.validate()
        self.post_message(self.Changed(self))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    @on(Button.Pressed, ".field-browse")
    def _browse(self, event: Button.Pressed) -> None:
        from ..screens.folder_picker import FolderPicker
        event.stop()
        text = self.raw or "."
        start = Path(text).expanduser()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        files = self.spec.kind == "file"
        self.app.push_screen(FolderPicker(start if start.is_dir() else Path("."), files=files),
                             self._picked)

    def _picked(self, path: Path | None) -> None:
        if path is not None:
            self.set_raw(str(path))
