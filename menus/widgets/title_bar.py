"""A one-line title bar: app name, the screen's title and the dataset folder.

Plain and static (no clock), so screenshots are stable and screens can come and go quickly.
"""
from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class TitleBar(Static):
    def __init__(self, title: str = "") -> None:
        super().__init__(id="title-bar", markup=True)
        self.screen_title = title

    def on_mount(self) -> None:
        parts = [f"[b]{escape(self.app.title)}[/b]"] + \
            ([escape(self.screen_title)] if self.screen_title else [])
        self.update(" · ".join(parts) + f"   [dim]{escape(self.app.sub_title)}[/dim]")
