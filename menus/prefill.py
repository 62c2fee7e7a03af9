"""First values of an action's form: the dataset folder the app was opened on, or its HQ/LQ
sub-folders when the dataset has them and the action takes pairs, otherwise the declared
defaults (lists as comma-separated text, the way the command line and `Param.parse` read them).

    initial_values(all_actions()["dedup"], "assets/demo")
    # -> {"input": None, "hq": "assets/demo/hq", "lq": "assets/demo/lq_x2", ...}
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from dataset_forge.actions.registry import Action

from .fields import as_text

INPUT_NAMES = ("input", "folder", "root", "source")


def _first_lq(folder: Path) -> Path | None:
    candidates = sorted(p for p in folder.glob("lq*") if p.is_dir()) if folder.is_dir() else []
    return candidates[0] if candidates else None


def dataset_pair_prefill(action: Action, folder: str) -> tuple[str, str] | None:
    """(hq, lq) when the action declares both, takes them instead of a required input, and the
    dataset has `hq/` and an `lq*/` folder."""
    root = Path(folder)
    names = {p.name for p in action.params}
    required = {p.name for p in action.params if p.required}
    if required & set(INPUT_NAMES) and "hq" not in required:
        return None  # HQ/LQ are extras beside a required input, not the way in
    lq = _first_lq(root)
    if {"hq", "lq"} <= names and (root / "hq").is_dir() and lq is not None:
        return str(root / "hq"), str(lq)
    return None


def initial_values(action: Action, folder: str) -> dict[str, Any]:
    """{param name: raw value} for a fresh form.

    With HQ/LQ pre-filled, an optional input is left empty: the pair is the way in (a dedup of
    the whole root would report every LQ image as a duplicate of its HQ)."""
    pairs = dataset_pair_prefill(action, folder)
    values: dict[str, Any] = {}
    for param in action.params:
        value: Any = as_text(param.default) if param.type == "list" else param.default
        if pairs and param.name == "hq":
            value = pairs[0]
        elif pairs and param.name == "lq":
            value = pairs[1]
        elif param.name in INPUT_NAMES and param.type in ("dir", "path"):
            value = None if pairs and not param.required else folder
        values[param.name] = value
    return values
