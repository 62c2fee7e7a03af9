"""The confirmation a run asks for before it changes files on disk (--apply, --in-place).

    confirmation(action, {"input": "photos", "mode": "move", "dest": "dupes", "apply": True})
    # -> "dedup will change files on disk (--apply):\n  --input photos\n  --mode move ..."
"""
from __future__ import annotations

import shlex
from typing import Any

from dataset_forge.actions.registry import Action

from .commandline import given_flags

CHANGING = ("apply", "in_place")   # parameters that make a run change files in place


def confirmation(action: Action, values: dict[str, Any]) -> str | None:
    """The question to ask before running `action` with `values`; None when it changes
    nothing in place."""
    on = [p for p in action.params if p.name in CHANGING and values.get(p.name) is True]
    if not on:
        return None
    switches = {p.flag for p in on}
    lines = [f"{action.name} will change files on disk ({', '.join(sorted(switches))}):"]
    lines += ["  " + shlex.join(flag) for flag in given_flags(action, values)
              if flag[0] not in switches]
    lines.append("An undo manifest is written beside the report (dataset-forge undo reverses "
                 "it). Run it?")
    return "\n".join(lines)
