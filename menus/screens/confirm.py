"""A small question with one button per answer; dismissed with the chosen answer's key, or
None on Escape.

    app.push_screen(Choice("Quit while a job runs?", [("quit", "Quit"), ("stay", "Keep running")]),
                    callback)
"""
from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class Choice(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, answers: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question = question
        self.answers = answers

    def compose(self) -> ComposeResult:
        with Vertical(id="choice"):
            yield Label(escape(self.question), id="choice-question")
            with Horizontal(id="choice-buttons"):
                for n, (key, label) in enumerate(self.answers):
                    yield Button(label, id=f"choice-{key}", compact=True,
                                 variant="primary" if n == 0 else "default")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))
