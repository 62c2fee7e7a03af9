"""The headless command that does what the form describes, for users to script.

    headless_command(action, {"input": "assets/demo", "include_hidden": True})
    # -> "dataset-forge --action inventory --input assets/demo --include-hidden"
"""
from __future__ import annotations

import shlex
from typing import Any

from dataset_forge.actions.registry import Action


def headless_command(action: Action, values: dict[str, Any], settings_path: str | None = None) -> str:
    """Flags for every value that differs from the declared default, in declaration order."""
    parts = ["dataset-forge", "--action", action.name]
    for param in action.params:
        raw = values.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if param.type == "bool":
            if bool(raw) != bool(param.default):
                parts.append(param.flag if raw else "--no-" + param.flag[2:])
            continue
        if param.default is not None and str(raw).strip() == str(param.default):
            continue
        parts += [param.flag, str(raw).strip()]
    if settings_path:
        parts += ["--settings", settings_path]
    return shlex.join(parts)
