"""Actions are data plus a function, declared once.

    @action("inventory", Family.ANALYSIS, "List every image ...", kind=WorkKind.IO,
            params=[INPUT, Param("recursive", "bool", True, "descend into sub-folders")])
    def inventory(ctx: RunContext, params: dict) -> Report: ...

The CLI flags, `--help`, `--list-actions`, the app's forms and the settings defaults are all
generated from this one declaration. Adding an action means adding one module under
`dataset_forge/actions/`; `all_actions()` imports every module there.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..parallel import WorkKind

PARAM_TYPES = ("str", "int", "float", "bool", "choice", "path", "dir", "file", "list")


class Family(str, Enum):
    ANALYSIS = "analysis"
    DEDUP = "dedup"
    COMPRESS = "compress"
    TRANSFORM = "transform"
    AUGMENT = "augment"

    @property
    def title(self) -> str:
        return {"analysis": "Analysis and validation", "dedup": "Deduplication",
                "compress": "Compression and conversion", "transform": "Transforms",
                "augment": "Augmentation"}[self.value]


@dataclass(frozen=True)
class Param:
    """One typed parameter. `dir`/`file` must exist when given; `path` need not."""

    name: str
    type: str
    default: Any = None
    help: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"param {self.name}: unknown type {self.type!r}")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe_allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        noun = {"int": "an integer", "float": "a number"}.get(self.type, f"a {self.type}")
        if self.min is not None and self.max is not None:
            return f"{noun} from {self.min:g} to {self.max:g}"
        if self.min is not None:
            return f"{noun} >= {self.min:g}"
        return {"bool": "true or false", "dir": "an existing folder",
                "file": "an existing file"}.get(self.type, f"a {self.type}")

    def parse(self, raw: Any) -> Any:
        """Convert a raw value (CLI string, form text, TOML value) and validate it."""
        if raw is None:
            if self.required:
                raise UsageError(f"{self.flag} is required: {self.help}")
            return self.default
        try:
            value = self._convert(raw)
        except (TypeError, ValueError):
            raise UsageError(f"{self.flag} {raw!r}: must be {self.describe_allowed()}") from None
        self._check(value, raw)
        return value

    def _convert(self, raw: Any) -> Any:
        if self.type == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw)
        if self.type == "float":
            return float(raw)
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text not in {"true", "false", "yes", "no", "1", "0", "on", "off"}:
                raise ValueError
            return text in {"true", "yes", "1", "on"}
        if self.type in ("path", "dir", "file"):
            return Path(raw).expanduser()
        if self.type == "list":
            return [s.strip() for s in raw.split(",") if s.strip()] if isinstance(raw, str) else list(raw)
        return str(raw)

    def _check(self, value: Any, raw: Any) -> None:
        if self.choices and value not in self.choices:
            raise UsageError(f"{self.flag} {raw!r}: must be {self.describe_allowed()}")
        if self.min is not None and value < self.min or self.max is not None and value > self.max:
            raise UsageError(f"{self.flag} {raw!r}: must be {self.describe_allowed()}")
        if self.type == "dir":
            if not value.exists():
                raise UsageError(f"{self.flag} {raw}: no such folder")
            if not value.is_dir():
                raise UsageError(f"{self.flag} {raw}: is a file, expected a folder")
        if self.type == "file" and not value.is_file():
            raise UsageError(f"{self.flag} {raw}: no such file")


@dataclass(frozen=True)
class Action:
    name: str
    family: Family
    help: str
    run: Callable[..., Any]
    params: tuple[Param, ...] = ()
    kind: WorkKind = WorkKind.CPU
    destructive: bool = False   # needs --apply to change anything
    writes: bool = False        # writes outputs (resumable, atomic)
    description: str = ""       # longer text for --help and the app
    examples: tuple[str, ...] = field(default_factory=tuple)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def parse_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate raw values (missing keys take defaults); unknown names are a usage error."""
        unknown = set(raw) - {p.name for p in self.params}
        if unknown:
            raise UsageError(f"action {self.name} has no parameter {sorted(unknown)[0]!r}")
        return {p.name: p.parse(raw.get(p.name)) for p in self.params}


_REGISTRY: dict[str, Action] = {}


def action(name: str, family: Family, help: str, *, params=(), kind=WorkKind.CPU, **extra):
    """Decorator: declare the function as an action and register it."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].run is not fn:
            raise ValueError(f"action {name!r} declared twice")
        _REGISTRY[name] = Action(name, Family(family), help, fn, tuple(params), WorkKind(kind),
                                 description=(fn.__doc__ or "").strip(), **extra)
        return fn
    return register


def all_actions() -> dict[str, Action]:
    """Every registered action, importing each module of this package once."""
    package = Path(__file__).parent
    for info in pkgutil.iter_modules([str(package)]):
        if not info.name.startswith("_") and info.name not in ("registry", "common"):
            importlib.import_module(f"{__package__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


def get_action(name: str) -> Action:
    actions = all_actions()
    if name not in actions:
        import difflib
        close = difflib.get_close_matches(name, actions, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see --list-actions"
        raise UsageError(f"unknown action {name!r}{hint}")
    return actions[name]
