"""Command palette entries (Ctrl+P): one per action, opening its form."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ActionCommands(Provider):
    """Searches action names, families and help lines."""

    def _entries(self):
        for action in self.app.actions.values():
            text = f"{action.name}  ({action.family.title})"
            yield text, action.help, partial(self.app.open_action, action.name)

    async def discover(self) -> Hits:
        for text, help_text, command in self._entries():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._entries():
            score = max(matcher.match(text), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
