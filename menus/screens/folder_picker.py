"""A modal folder (or file) picker over Textual's DirectoryTree."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label


class FolderTree(DirectoryTree):
    """A directory tree that lists folders only (and files when `files`), hidden ones last."""

    def __init__(self, path: Path, files: bool) -> None:
        super().__init__(path, id="tree")
        self.files = files

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if (self.files or p.is_dir()) and not p.name.startswith(".")]


class FolderPicker(ModalScreen[Path | None]):
    """Dismisses with the chosen path, or None on Escape."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, start: Path, *, files: bool = False) -> None:
        super().__init__()
        self.start = start.resolve()
        self.files = files

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label("Choose a " + ("file" if self.files else "folder") +
                        ": Enter opens a folder, Use confirms", id="picker-title")
            yield FolderTree(self.start, self.files)
            with Horizontal(id="picker-row"):
                yield Input(str(self.start), id="picker-path")
                yield Button("Use", variant="primary", id="picker-use", compact=True)

    @on(DirectoryTree.DirectorySelected)
    def _directory(self, event: DirectoryTree.DirectorySelected) -> None:
        self.query_one("#picker-path", Input).value = str(event.path)

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    @on(Button.Pressed, "#picker-use")
    @on(Input.Submitted, "#picker-path")
    def _use(self) -> None:
        self.dismiss(Path(self.query_one("#picker-path", Input).value).expanduser())
