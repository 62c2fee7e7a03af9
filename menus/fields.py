"""One description of a form field for both action parameters and settings keys.

`FieldSpec` adapts a `schema.Field` (an action's `Param` or a settings `KeySpec`) to what a form
needs: the control (`Field.widget`), the allowed values with the default, and `check(raw)` that
returns the one-line problem or None.

    spec = from_param(action.param("input"))
    spec.check("no/such/folder")   # -> "--input no/such/folder: no such folder"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from dataset_forge.actions.registry import Param
from dataset_forge.errors import UsageError
from dataset_forge.schema import Field, as_text
from dataset_forge.settings import KeySpec, SettingsError

__all__ = ["FieldSpec", "PICKER_KINDS", "as_text", "from_param", "from_setting"]

# control kinds (`schema.Field.widget`): bool -> Switch, choice -> Select, folder/file/path ->
# Input with a picker, text -> Input
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
    placeholder: str = ""   # what to type, shown in an empty text box

    def check(self, raw: Any) -> str | None:
        """The problem with `raw` as one line, or None when it is valid."""
        try:
            self.parse(raw)
        except (UsageError, SettingsError, ValueError) as exc:
            return str(exc).splitlines()[0] if str(exc) else "invalid value"
        return None


def placeholder(field: Field) -> str:
    """What to type: a path (or Browse) for folders and files, the help for free text, paths
    and lists (\"text\" or \"a path\" would say nothing), else the allowed values."""
    if field.widget in ("folder", "file"):
        what = f"path of an existing {field.widget} (or Browse)"
    elif field.type in ("str", "path", "list") and not field.pattern:
        comma = field.type == "list" and "comma" not in field.help
        what = field.help + (", comma-separated" if comma else "")
    else:
        what = field.allowed
    return "required: " + what if field.required else what


def _spec(field: Field, key: str, label: str, parse: Callable[[Any], Any]) -> FieldSpec:
    allowed = field.allowed
    default = ""
    if not field.required and field.default not in (None, "", []):
        default = f"; default {as_text(field.default)}"
    return FieldSpec(key, label, field.widget, field.help,
                     ("required: " + allowed if field.required else allowed) + default,
                     field.default, parse, field.choices, field.required,
                     placeholder(field) + default)


def from_param(param: Param) -> FieldSpec:
    """A field for an action parameter; empty text means "use the default"."""
    def parse(raw: Any) -> Any:
        return param.parse(None if isinstance(raw, str) and not raw.strip() else raw)
    return _spec(param, param.name, param.name, parse)


def from_setting(spec: KeySpec) -> FieldSpec:
    """A field for a settings key; values are checked exactly as `settings set` checks them."""
    def parse(raw: Any) -> Any:
        return spec.parse(raw) if isinstance(raw, str) else spec.validate(raw)
    return _spec(spec, spec.key, spec.name, parse)
