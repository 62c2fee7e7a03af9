"""A small question with one button per answer; dismissed with the chosen answer's key, or
None on Escape. Left/Right (and Tab) move between the buttons; y and n choose the answers named
`yes` and `no` (by default the first and the last).

    app.push_screen(Choice("Quit while a job runs?", [("stay", "Keep running"), ("quit", "Quit")],
                           yes="quit", no="stay"), callback)
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
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
        Binding("y", "answer('yes')", "Yes", show=False),
        Binding("n", "answer('no')", "No", show=False),
    ]

    def __init__(self, question: str, answers: list[tuple[str, str]], *,
                 yes: str | None = None, no: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.answers = answers
        self.keys = {"yes": yes or answers[0][0], "no": no or answers[-1][0]}

    def compose(self) -> ComposeResult:
        with Vertical(id="choice"):
            yield Label(escape(self.question), id="choice-question")
            with Horizontal(id="choice-buttons"):
                for n, (key, label) in enumerate(self.answers):
                    mark = " (y)" if key == self.keys["yes"] else \
                        " (n)" if key == self.keys["no"] else ""
                    yield Button(label + mark, id=f"choice-{key}", compact=True,
                                 variant="primary" if n == 0 else "default")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def action_answer(self, which: str) -> None:
        self.dismiss(self.keys[which])

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "").removeprefix("choice-"))
