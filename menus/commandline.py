"""The headless command that does what the form describes, for users to script.

    headless_command(action, {"input": "assets/demo", "include_hidden": True})
    # -> "dataset-forge --action inventory --input assets/demo --include-hidden"
    # lists are written comma-separated: --checks dark,blurry
"""
from __future__ import annotations

import shlex
from typing import Any

from dataset_forge.actions.registry import Action, Param
from dataset_forge.errors import UsageError

from .fields import as_text


def _is_default(param: Param, raw: Any) -> bool:
    """Whether `raw` means the declared default (compared as parsed values: "a, b" = [a, b])."""
    if param.default is None:
        return False
    try:
        return param.parse(raw) == param.default
    except UsageError:
        return as_text(raw).strip() == as_text(param.default)


def given_values(action: Action, values: dict[str, Any]) -> dict[str, Any]:
    """The form's values that differ from the declared defaults, in declaration order."""
    out: dict[str, Any] = {}
    for param in action.params:
        raw = values.get(param.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if param.type == "bool":
            if bool(raw) != bool(param.default):
                out[param.name] = bool(raw)
        elif param.flag_args(raw) and not _is_default(param, raw):
            out[param.name] = raw
    return out


def given_flags(action: Action, values: dict[str, Any]) -> list[list[str]]:
    """[flag] or [flag, value] for every value that differs from the declared default, in
    declaration order (`Field.flag_args`, as every command line is written)."""
    return [action.param(name).flag_args(raw)
            for name, raw in given_values(action, values).items()]


def headless_command(action: Action, values: dict[str, Any], settings_path: str | None = None) -> str:
    """Flags for every value that differs from the declared default, in declaration order."""
    parts = ["dataset-forge", *action.command_args(given_values(action, values))]
    if settings_path:
        parts += ["--settings", settings_path]
    return shlex.join(parts)
