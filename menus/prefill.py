"""First values of an action's form, from what the action reads and how the dataset folder the
app was opened on is laid out; the declared defaults for everything else (lists as
comma-separated text, the way the command line and `Param.parse` read them).

The layout: an `hq/` folder, `lq*/` folders, and other folders with images (`mixed/`). What an
action reads is its `Action.reads` (`Reads`), or else follows from its parameters: HQ and LQ it
declares without a required input are its way in (pairs), otherwise the dataset folder is.

    initial_values(all_actions()["dedup"], "assets/demo")    # input: assets/demo/mixed
    initial_values(all_actions()["make-lq"], "assets/demo")  # input: assets/demo/hq
    initial_values(all_actions()["pairs"], "assets/demo")    # hq: .../hq, lq: .../lq_x2
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataset_forge.actions.registry import Action, Reads
from dataset_forge.io.discover import first_image

from .fields import as_text

INPUT_NAMES = ("input", "folder", "root", "source")


@dataclass(frozen=True)
class Layout:
    """The folders of a dataset: its root, `hq/`, `lq*/` (sorted) and the other image folders."""

    root: Path
    hq: Path | None
    lq: tuple[Path, ...]
    unpaired: tuple[Path, ...]

    @classmethod
    def of(cls, folder: str | Path) -> "Layout":
        root = Path(folder)
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []
        hq = next((p for p in children if p.name.lower() == "hq"), None)
        lq = tuple(p for p in children if p.name.lower().startswith("lq"))
        others = tuple(p for p in children if p != hq and p not in lq and first_image(p))
        return cls(root, hq, lq, others)

    @property
    def pairs(self) -> tuple[Path, Path] | None:
        return (self.hq, self.lq[0]) if self.hq is not None and self.lq else None


def reads(action: Action) -> str:
    """What the action is meant to read: declared, or HQ/LQ pairs when it takes them without a
    required input, else the whole dataset."""
    if action.reads:
        return action.reads
    names = {p.name for p in action.params}
    required = {p.name for p in action.params if p.required}
    if {"hq", "lq"} <= names and not required & set(INPUT_NAMES):
        return Reads.PAIRS
    return Reads.DATASET


def folders_for(action: Action, layout: Layout) -> dict[str, Path]:
    """{param name: folder} for the action's image folders on this layout."""
    names = {p.name for p in action.params}
    single = next((n for n in INPUT_NAMES if n in names), None)
    role = reads(action)
    pairs = {"hq": layout.pairs[0], "lq": layout.pairs[1]} \
        if layout.pairs and {"hq", "lq"} <= names else {}
    if role == Reads.UNPAIRED and layout.unpaired and single:
        return {single: layout.unpaired[0]}
    if role in (Reads.PAIRS, Reads.UNPAIRED) and pairs:
        return pairs
    chosen = {Reads.HQ: layout.hq, Reads.LQ: layout.lq[0] if layout.lq else None}.get(role)
    found = {single: chosen or layout.root} if single else {}
    if action.param("hq").required if "hq" in names else False:
        found.update(pairs)   # pairs needed beside the input
    return found


def initial_values(action: Action, folder: str) -> dict[str, Any]:
    """{param name: raw value} for a fresh form: the action's folders on the dataset, the
    declared defaults for the rest (an input the folders do not use is left empty)."""
    folders = folders_for(action, Layout.of(folder))
    values: dict[str, Any] = {}
    for param in action.params:
        if param.name in folders:
            values[param.name] = str(folders[param.name])
        elif param.name in INPUT_NAMES and param.type in ("dir", "path"):
            values[param.name] = None
        else:
            values[param.name] = as_text(param.default) if param.type == "list" else param.default
    return values
