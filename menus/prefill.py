"""First values of an action's form: the dataset folder the app was opened on, HQ/LQ
sub-folders when the dataset has them, otherwise the declared defaults."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dataset_forge.actions.registry import Action

INPUT_NAMES = ("input", "folder", "root", "source")


def _first_lq(folder: Path) -> Path | None:
    candidates = sorted(p for p in folder.glob("lq*") if p.is_dir()) if folder.is_dir() else []
    return candidates[0] if candidates else None


def initial_values(action: Action, folder: str) -> dict[str, Any]:
    """{param name: raw value} for a fresh form."""
    root = Path(folder)
    names = {p.name for p in action.params}
    # HQ/LQ are pre-filled where pairs are the action's only way in, never beside --input
    pairs = any(p.name == "hq" and p.required for p in action.params) or not names & set(INPUT_NAMES)
    values: dict[str, Any] = {}
    for param in action.params:
        value: Any = param.default
        if param.name in INPUT_NAMES and param.type in ("dir", "path"):
            value = folder
        elif param.name == "hq" and pairs and (root / "hq").is_dir():
            value = str(root / "hq")
        elif param.name == "lq" and pairs and _first_lq(root) is not None:
            value = str(_first_lq(root))
        values[param.name] = value
    return values
