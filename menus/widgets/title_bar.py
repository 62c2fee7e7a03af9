"""A one-line title bar: app name, a breadcrumb of the screens open (main menu › form › run)
and the dataset folder.

Plain and static (no clock), so screenshots are stable and screens can come and go quickly.
"""
from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static


class TitleBar(Static):
    def __init__(self, title: str = "") -> None:
        super().__init__(id="title-bar", markup=True)
        self.screen_title = title

    def breadcrumb(self) -> list[str]:
        """The titles of the screens under this one (those with a title bar), then its own."""
        crumbs = []
        for screen in self.app.screen_stack:
            if screen is self.screen:
                break
            bars = screen.query(TitleBar)
            if bars and bars.first().screen_title:
                crumbs.append(bars.first().screen_title)
        return crumbs + ([self.screen_title] if self.screen_title else [])

    def on_mount(self) -> None:
        parts = [f"[b]{escape(self.app.title)}[/b]"] + [escape(c) for c in self.breadcrumb()]
        self.update(" › ".join(parts) + f"   [dim]{escape(self.app.sub_title)}[/dim]")
