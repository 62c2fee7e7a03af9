"""What the main menu lists: one group per action family plus "System and settings".

Pure data built from the registry, so the menu, the command palette and the tests agree.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

from dataset_forge.actions.registry import Action, Family

SYSTEM_GROUP = "system"
RECIPES_GROUP = "recipes"


@dataclass(frozen=True)
class MenuEntry:
    """One line in a group: an action, or one of the app's own screens (`screen` names it)."""

    key: str
    title: str
    help: str
    action: Action | None = None
    screen: str = ""
    path: str = ""          # a recipe file, for screen == "recipe"


@dataclass(frozen=True)
class MenuGroup:
    key: str
    title: str
    entries: list[MenuEntry] = field(default_factory=list)


SYSTEM_ENTRIES = [
    MenuEntry("settings", "Settings", "Workers, processing type, chunk size, timeout, GPU, "
              "reports and logs: the settings file, validated", screen="settings"),
    MenuEntry("system", "System information", "CPU, RAM, disk and GPU facts with live use",
              screen="system"),
    MenuEntry("help", "Help", "Keys, screens and how the app maps to the command line",
              screen="help"),
]


def paragraphs(text: str) -> str:
    """A docstring as display text: lines joined, blank lines kept as paragraph breaks."""
    blocks = re.split(r"\n\s*\n", inspect.cleandoc(text or ""))
    return "\n\n".join(" ".join(block.split()) for block in blocks if block.strip())


def recipe_entries(paths: list[Path]) -> list[MenuEntry]:
    """One entry per recipe file, titled by its [recipe] name and described by its steps."""
    from dataset_forge.errors import UsageError
    from dataset_forge.recipes import read_recipe_header
    entries = []
    for path in paths:
        try:
            header, _, steps = read_recipe_header(path)
        except UsageError:
            continue
        chain = " -> ".join(str(s.get("name", s.get("action"))) for s in steps)
        entries.append(MenuEntry(f"recipe:{path}", str(header.get("name", path.stem)),
                                 f"{header.get('description', '')}\n\nSteps: {chain}\n\n{path}",
                                 screen="recipe", path=str(path)))
    return entries


def menu_groups(actions: dict[str, Action], recipes: list[Path] = ()) -> list[MenuGroup]:
    """Every family in declaration order (empty ones too), the recipes, then the system group."""
    groups = []
    for family in Family:
        entries = [MenuEntry(a.name, a.name, a.help, action=a)
                   for a in sorted(actions.values(), key=lambda a: a.name) if a.family is family]
        groups.append(MenuGroup(family.value, family.title, entries))
    groups.append(MenuGroup(RECIPES_GROUP, "Recipes", recipe_entries(list(recipes))))
    groups.append(MenuGroup(SYSTEM_GROUP, "System and settings", list(SYSTEM_ENTRIES)))
    return groups
