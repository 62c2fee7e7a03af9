"""One typed, documented, validated value: the field every declaration in Dataset Forge uses.

Action parameters (`actions.registry.Param`), operation fields (`ops.Field`), settings keys
(`settings.KeySpec`), the app's form fields and the transform actions' op parameters are all a
`Field`: a name, a type, a default, bounds or choices, and help. One parser, one validator, one
list of boolean words, one wording of what is allowed, and one way to render the value for the
command line, a TOML file and a form.

    quality = Field("quality", "int", 95, "output quality", min=1, max=100)
    quality.parse("90")        # -> 90      (text: the command line, a form)
    quality.validate(90.0)     # -> 90      (typed values: TOML, JSON, Python)
    quality.parse("900")       # FieldError: must be an integer from 1 to 100
    quality.allowed            # 'an integer from 1 to 100'

Two ways in: `parse` reads text by the type's grammar (bool words, "a,b" lists, numbers) and
passes typed values on; `validate` takes typed values only (a TOML `"yes"` is not a bool). Both
end in the same checks. Each face words the location of an error (`--quality '900'`,
`parallel.max_workers = -3`, `field 'sigma'`) around `FieldError.problem`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: value types; `choice` takes its values' type from `choices`, `dir`/`file` must exist
TYPES = ("str", "int", "float", "bool", "choice", "path", "dir", "file", "list", "colour")

#: the words a text value may use for a bool, everywhere
BOOL_WORDS = {**dict.fromkeys(("true", "yes", "1", "on"), True),
              **dict.fromkeys(("false", "no", "0", "off"), False)}

#: form controls: bool -> switch, choice -> select, folder/file/path -> text with a picker
WIDGETS = {"bool": "bool", "dir": "folder", "file": "file", "path": "path"}


class FieldError(ValueError):
    """A value a field refuses. `problem` says what is allowed ("must be ..."); str() is
    "<value>: <problem>" so a face only prefixes where the value came from."""

    def __init__(self, field: "Field", value: Any, problem: str, *, quoted: bool = True) -> None:
        self.field, self.value, self.problem, self.quoted = field, value, problem, quoted
        super().__init__(f"{self.shown(value)}: {problem}")

    def shown(self, value: Any) -> str:
        """`value` as the message shows it: quoted (repr) unless it names a path."""
        return repr(value) if self.quoted else str(value)


def is_colour(text: str) -> bool:
    """Whether Pillow reads `text` as a colour (#rgb, #rrggbb, rgb(...), a name such as red)."""
    from PIL import ImageColor
    try:
        ImageColor.getrgb(text)
    except (ValueError, AttributeError):
        return False
    return True


@dataclass(frozen=True)
class Field:
    """One typed value. `min`/`max` bound numbers, `choices` lists allowed values, `pattern`
    (a regular expression, described by `pattern_help`) constrains text; `required` fields
    have no default and must be given."""

    name: str
    type: str
    default: Any = None
    help: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    required: bool = False
    pattern: str | None = None
    pattern_help: str = ""

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        object.__setattr__(self, "choices", tuple(self.choices))

    # ------------------------------------------------------------------ describing

    @property
    def allowed(self) -> str:
        """What the field accepts, to follow "must be": 'an integer from 1 to 100'."""
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.type in ("int", "float"):
            noun = "an integer" if self.type == "int" else "a number"
            low, high = (None if v is None else f"{v:g}" for v in (self.min, self.max))
            if low is not None and high is not None:
                return f"{noun} from {low} to {high}"
            if low is not None:
                return f"{noun} >= {low}"
            return noun + (f" <= {high}" if high is not None else "")
        if self.pattern:
            return self.pattern_help or f"text matching {self.pattern}"
        return {"bool": "true or false", "dir": "an existing folder", "file": "an existing file",
                "path": "a path", "list": "a comma-separated list", "str": "text",
                "colour": "a colour such as #ff8800 or red"}.get(self.type, self.type)

    @property
    def flag(self) -> str:
        """The command-line flag: --name-with-dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def widget(self) -> str:
        """The form control: bool, choice, folder, file, path or text."""
        if self.type == "bool":
            return "bool"
        if self.choices:
            return "choice"
        return WIDGETS.get(self.type, "text")

    @property
    def metavar(self) -> str:
        """How --help names the value: {a,b} for choices, else the type in capitals."""
        if self.choices:
            return "{" + ",".join(map(str, self.choices)) + "}"
        return self.type.upper()

    # ------------------------------------------------------------------ reading values

    def parse(self, raw: Any) -> Any:
        """Text (command line, form) by the type's grammar, typed values as they are; then
        `validate`. None gives the default (FieldError for a required field)."""
        if raw is None:
            if self.required:
                raise FieldError(self, raw, "is required")
            return self.default
        return self.validate(self.from_text(raw) if isinstance(raw, str) else raw)

    def from_text(self, text: str) -> Any:
        """The typed value a text spells; text that spells none is returned unchanged, so the
        error echoes what the user typed."""
        stripped = text.strip()
        try:
            if self.type == "bool":
                return BOOL_WORDS.get(stripped.lower(), text)
            if self.type == "int":
                return int(stripped)
            if self.type == "float":
                return int(stripped) if stripped.lstrip("+-").isdigit() else float(stripped)
            if self.type in ("path", "dir", "file"):
                return Path(text).expanduser()
            if self.type == "list":
                return [part.strip() for part in text.split(",") if part.strip()]
        except ValueError:
            return text
        if self.choices:
            return next((c for c in self.choices if str(c) == stripped), text)
        return text

    def validate(self, value: Any) -> Any:
        """`value` converted to the field's type (ints widened for floats, integral floats
        narrowed for ints), or FieldError if it has another type or breaks a bound."""
        given, value = value, self._typed(value)
        fail = FieldError(self, given, "must be " + self.allowed)
        if self.choices and value not in self.choices:
            raise fail
        if self.min is not None and value < self.min or self.max is not None and value > self.max:
            raise fail
        if self.pattern and re.fullmatch(self.pattern, value) is None:
            raise fail
        if self.type == "colour" and not is_colour(value):
            raise fail
        if self.type == "dir" and not value.is_dir():
            raise FieldError(self, given, "is a file, expected a folder" if value.exists()
                             else "no such folder", quoted=False)
        if self.type == "file" and not value.is_file():
            raise FieldError(self, given, "no such file", quoted=False)
        return value

    def _typed(self, value: Any) -> Any:
        t, is_bool = self.type, isinstance(value, bool)
        fail = FieldError(self, value, "must be " + self.allowed)
        if t == "bool":
            if not is_bool:
                raise fail
        elif t == "int":
            if is_bool or not (isinstance(value, int) or isinstance(value, float)
                               and value.is_integer()):
                raise fail
            value = int(value)
        elif t == "float":
            if is_bool or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise fail
            value = float(value)
        elif t in ("path", "dir", "file"):
            if not isinstance(value, (str, Path)):
                raise fail
            value = Path(value).expanduser()
        elif t == "list":
            if not isinstance(value, (list, tuple)):
                raise fail
            value = list(value)
        elif t == "choice":
            if is_bool or not isinstance(value, (str, int, float)):
                raise fail
        elif isinstance(value, Path):  # a path given for a text field (a cache file name)
            value = str(value)
        elif not isinstance(value, str):
            raise fail
        return value

    # ------------------------------------------------------------------ writing values

    def to_text(self, value: Any) -> str:
        """A value as the command line and a form spell it (`parse` reads it back): true/false,
        lists comma-separated, None as empty text."""
        return as_text(value)

    def flag_args(self, value: Any) -> list[str]:
        """The command-line words that give `value` (what `parse` reads back): [--flag] or
        [--no-flag] for switches, [--flag, text] otherwise (text as `to_text` writes it; a
        list typed as "a, b" becomes "a,b"); [] when there is no value."""
        if value is None:
            return []
        if self.type == "bool":
            return [self.flag if value else "--no-" + self.flag[2:]]
        text = as_text(value).strip()
        if self.type == "list" and isinstance(value, str):
            text = ",".join(item.strip() for item in value.split(",") if item.strip())
        return [self.flag, text] if text else []

    def to_toml(self, value: Any) -> str:
        """A value as a TOML file writes it: true/false, "quoted text", numbers."""
        return toml_text(str(value) if isinstance(value, Path) else value)

    def cli_default(self) -> str:
        """The default as --help shows it: on/off for switches, lists comma-separated."""
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return as_text(self.default)

    def add_argument(self, group: Any) -> None:
        """Add this field's flag to an argparse parser or group (bools get --no-NAME too; the
        value stays None when the flag is not given, so defaults are applied in one place)."""
        import argparse
        shown = self.default not in (None, "", [], ()) and not self.required
        text = self.help + (f" (default: {self.cli_default()})" if shown else "")
        text = text.replace("%", "%%")  # argparse %-formats help: "81% of" must stay text
        if self.type == "bool":
            group.add_argument(self.flag, dest=self.name, default=None, help=text,
                               action=argparse.BooleanOptionalAction)
        else:
            group.add_argument(self.flag, dest=self.name, default=None, help=text,
                               metavar=self.metavar)


def as_text(value: Any) -> str:
    """A value as text that `Field.parse` reads back: true/false, lists comma-separated,
    None as empty text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def toml_text(value: Any) -> str:
    """A value as written in TOML: true/false, "quoted strings", numbers (repr for values TOML
    cannot hold, such as None)."""
    import tomlkit
    try:
        return tomlkit.item(value).as_string()
    except Exception:  # noqa: BLE001 - tomlkit raises several types for values it cannot write
        return repr(value)
