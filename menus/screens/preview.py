"""Before and after, side by side: the action form's options run on one sample image
(`menus.sample_preview`, in a thread worker, into a temporary folder removed on close)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dataset_forge.actions.registry import Action
from dataset_forge.errors import UsageError
from dataset_forge.parallel import CancelToken
from dataset_forge.settings import load_settings

from ..sample_preview import Shot, run_sample
from ..widgets.image_preview import best_picture


class PreviewScreen(ModalScreen):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, action: Action, values: dict[str, Any]) -> None:
        super().__init__()
        self.action_def, self.values = action, values
        self.work_dir = Path(tempfile.mkdtemp(prefix="forge-preview-"))
        self.cancel_token = CancelToken()
        self.shot: Shot | None = None
        self.error: str | None = None
        self._busy = self._closed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="preview-box"):
            yield Label(f"[b]Preview: {escape(self.action_def.name)}[/b]  one sample, into a "
                        "temporary folder  Esc closes",
                        id="preview-title", markup=True)
            yield Static("running on one image of the input...", id="preview-status")
            yield Horizontal(id="preview-panes")

    def on_mount(self) -> None:
        self._busy = True
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False, name="sample-preview")
    def _run(self) -> None:
        settings = load_settings(self.app.settings_path).settings
        try:
            shot = run_sample(self.action_def, self.values, self.work_dir, settings,
                              cancel=self.cancel_token)
        except UsageError as exc:
            self.app.call_from_thread(self._show_error, str(exc).splitlines()[0])
        except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
            self.app.call_from_thread(self._show_error, f"unexpected {type(exc).__name__}: {exc}")
        else:
            self.app.call_from_thread(self._show, shot)
        finally:
            self._busy = False
            if self._closed:
                shutil.rmtree(self.work_dir, ignore_errors=True)

    def _show_error(self, error: str) -> None:
        self.error = error
        self.query_one("#preview-status", Static).update(f"[red]{escape(error)}[/red]")

    def _show(self, shot: Shot) -> None:
        self.shot = shot
        self.query_one("#preview-status", Static).update(f"Sample: {escape(str(shot.source))}")
        panes = self.query_one("#preview-panes", Horizontal)
        for title, path in (("Before", shot.before), ("After", shot.after)):
            pane = Vertical(Label(f"[b]{title}[/b]  {escape(shot.caption(path))}", markup=True,
                                  classes="preview-caption"),
                            best_picture(path, pictures=self.app.pictures), classes="preview-pane")
            panes.mount(pane)

    def on_unmount(self) -> None:
        self._closed = True
        self.cancel_token.cancel()
        if not self._busy:
            shutil.rmtree(self.work_dir, ignore_errors=True)
