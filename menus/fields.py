"""One description of a form field for both action parameters and settings keys.

`FieldSpec` adapts a registry `Param` or a settings `KeySpec` to what a form needs: the kind of
control, the allowed values, and `check(raw)` that returns the one-line problem or None.

    spec = from_param(action.param("input"))
    spec.check("no/such/folder")   # -> "--input no/such/folder: no such folder"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from dataset_forge.actions.registry import Param
from dataset_forge.errors import UsageError
from dataset_forge.settings import KeySpec, SettingsError

# control kinds: bool -> Switch, choice -> Select, folder/file/path -> Input with a picker
PICKER_KINDS = ("folder", "file", "path")


@dataclass(frozen=True)
class FieldSpec:
    key: str            # parameter name, or dotted settings key
    label: str
    kind: str           # bool | choice | folder | file | path | text
    help: str
    allowed: str
    default: Any
    parse: Callable[[Any], Any]
    choices: tuple = ()
    required: bool = False

    def check(self, raw: Any) -> str | None:
        """The problem with `raw` as one line, or None when it is valid."""
        try:
            self.parse(raw)
        except (UsageError, SettingsError, ValueError) as exc:
            return str(exc).splitlines()[0] if str(exc) else "invalid value"
        return None


def _param_kind(param: Param) -> str:
    if param.type == "bool":
        return "bool"
    if param.choices:
        return "choice"
    return {"dir": "folder", "file": "file", "path": "path"}.get(param.type, "text")


def from_param(param: Param) -> FieldSpec:
    """A field for an action parameter; empty text means "use the default"."""
    def parse(raw: Any) -> Any:
        return param.parse(None if isinstance(raw, str) and not raw.strip() else raw)
    allowed = param.describe_allowed()
    if not param.required and param.default not in (None, "", []):
        allowed += f"; default {as_text(param.default)}"
    return FieldSpec(param.name, param.name, _param_kind(param), param.help,
                     "required: " + allowed if param.required else allowed, param.default,
                     parse, tuple(param.choices), param.required)


def from_setting(spec: KeySpec) -> FieldSpec:
    """A field for a settings key; values are checked exactly as `settings set` checks them."""
    kind = "bool" if spec.type is bool else "choice" if spec.choices else "text"

    def parse(raw: Any) -> Any:
        return spec.validate(raw) if isinstance(raw, bool) else spec.parse(str(raw))
    return FieldSpec(spec.key, spec.name, kind, spec.help,
                     spec.allowed.removeprefix("must be ") + f"; default {spec.default!r}",
                     spec.default, parse, tuple(spec.choices))


def as_text(raw: Any) -> str:
    """A raw value as the settings file and the command line spell it (lists comma-separated,
    which is how `Param.parse` reads text back)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (list, tuple)):
        return ",".join(str(item) for item in raw)
    return "" if raw is None else str(raw)
