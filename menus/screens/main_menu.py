"""The main menu: families on the left, their actions on the right, help for the one in focus."""
from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..catalog import MenuEntry, MenuGroup, menu_groups, paragraphs


class MainMenu(Screen):
    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("s", "app.settings", "Settings"),
        Binding("right", "focus_entries", "Actions", show=False),
        Binding("left", "focus_groups", "Families", show=False),
        *[Binding(str(n % 10), f"jump({n - 1})", f"Group {n}", show=False) for n in range(1, 11)],
    ]

    def __init__(self) -> None:
        super().__init__()
        from .recipe import find_recipes
        self.groups: list[MenuGroup] = menu_groups(self.app.actions, find_recipes(self.app.folder))

    def compose(self) -> ComposeResult:
        yield TitleBar("Main menu")
        with Horizontal(id="menu"):
            yield OptionList(*[Option(f"{i % 10}  {g.title}", id=g.key)
                               for i, g in enumerate(self.groups, 1)], id="groups")
            with Vertical(id="entries-pane"):
                yield Label("", id="group-title")
                yield OptionList(id="entries")
                yield Static("", id="entry-help")
        yield Static(f"Dataset: [b]{escape(str(self.app.folder))}[/b]  Enter opens, "
                     "Ctrl+P finds any action", id="menu-hint", markup=True)
        yield ForgeFooter()

    def on_mount(self) -> None:
        groups = self.query_one("#groups", OptionList)
        groups.highlighted = 0
        groups.focus()
        self._show_group(self.groups[0])

    @property
    def current_group(self) -> MenuGroup:
        index = self.query_one("#groups", OptionList).highlighted or 0
        return self.groups[index]

    def _show_group(self, group: MenuGroup) -> None:
        self.query_one("#group-title", Label).update(f"[b]{group.title}[/b]")
        entries = self.query_one("#entries", OptionList)
        entries.clear_options()
        if group.entries:
            entries.add_options([Option(e.title, id=e.key) for e in group.entries])
            entries.highlighted = 0
            self._show_entry(group.entries[0])
        else:
            entries.add_option(Option("[dim]no actions in this family yet[/dim]", disabled=True))
            self.query_one("#entry-help", Static).update("")

    def _show_entry(self, entry: MenuEntry) -> None:
        text = entry.help
        if entry.action is not None:
            a = entry.action
            tags = [a.kind.value] + (["writes files"] if a.writes else []) + \
                   (["dry run unless --apply"] if a.destructive else [])
            text = f"[b]{escape(a.help)}[/b]\n[dim]{' · '.join(tags)}[/dim]\n\n" \
                   f"{escape(paragraphs(a.description))}"
        else:
            text = escape(text)
        self.query_one("#entry-help", Static).update(text)

    @on(OptionList.OptionHighlighted, "#groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_group(self.groups[event.option_index])

    @on(OptionList.OptionSelected, "#groups")
    def _group_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_focus_entries()

    @on(OptionList.OptionHighlighted, "#entries")
    def _entry_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        entries = self.current_group.entries
        if 0 <= event.option_index < len(entries):
            self._show_entry(entries[event.option_index])

    @on(OptionList.OptionSelected, "#entries")
    def _entry_selected(self, event: OptionList.OptionSelected) -> None:
        entries = self.current_group.entries
        if 0 <= event.option_index < len(entries):
            self.app.open_entry(entries[event.option_index])

    def action_focus_entries(self) -> None:
        self.query_one("#entries", OptionList).focus()

    def action_focus_groups(self) -> None:
        self.query_one("#groups", OptionList).focus()

    def action_jump(self, index: int) -> None:
        groups = self.query_one("#groups", OptionList)
        if index < len(self.groups):
            groups.highlighted = index
            self.action_focus_entries()
