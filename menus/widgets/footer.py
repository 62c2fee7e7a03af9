"""The footer of every screen: compact (no padding around the keys) under 100 columns, so an
80-column terminal holds every key a screen shows."""
from __future__ import annotations

from textual import events
from textual.widgets import Footer

NARROW = 100


class ForgeFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < NARROW
