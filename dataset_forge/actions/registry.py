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
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..parallel import WorkKind
from ..schema import TYPES, Field, FieldError

PARAM_TYPES = TYPES


class Family(str, Enum):
    ANALYSIS = "analysis"
    DEDUP = "dedup"
    COMPRESS = "compress"
    TRANSFORM = "transform"
    AUGMENT = "augment"
    CURATION = "curation"
    EXPORT = "export"
    MODELS = "models"

    @property
    def title(self) -> str:
        return {"analysis": "Analysis and validation", "dedup": "Deduplication",
                "compress": "Compression and conversion", "transform": "Transforms",
                "augment": "Augmentation", "curation": "Curation",
                "export": "Export", "models": "Models"}[self.value]


class Reads:
    """Which images of an HQ/LQ dataset an action is meant for, where its parameters alone do
    not say (the app pre-fills forms from it): `Action(..., reads=Reads.HQ)`."""

    DATASET = "dataset"     # the whole dataset folder (inventory, quality)
    HQ = "hq"               # high-quality images, to derive from (make-lq, resize)
    LQ = "lq"               # low-quality images, to restore (upscale)
    PAIRS = "pairs"         # HQ and LQ side by side (pairs, fix-pairs)
    UNPAIRED = "unpaired"   # a collection that is not one side of a pair set (dedup: HQ and
                            # its LQ look alike by design)


class Param(Field):
    """One typed action parameter: a `schema.Field` whose errors name the flag and end as one
    line with exit 2. `dir`/`file` must exist when given; `path` need not.

        Param("quality", "int", 95, "output quality", min=1, max=100)
    """

    @classmethod
    def of(cls, field: Field, **changes: Any) -> "Param":
        """The same declaration as a parameter (an op's field offered as a flag)."""
        values = {f.name: getattr(field, f.name) for f in fields(Field)}
        return cls(**{**values, **changes})

    def describe_allowed(self) -> str:
        return self.allowed

    def parse(self, raw: Any) -> Any:
        """Convert a raw value (CLI string, form text, TOML value) and validate it."""
        try:
            return super().parse(raw)
        except FieldError as exc:
            if raw is None:
                raise UsageError(f"{self.flag} is required: {self.help}") from None
            raise UsageError(f"{self.flag} {exc.shown(raw)}: {exc.problem}") from None


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
    unit: str = "images"        # what the run's outcome counts: images, pairs, steps, shards...
    reads: str = ""             # which images it is meant for (Reads); "" = from its params

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def command_args(self, values: dict[str, Any]) -> list[str]:
        """`--action NAME` and the flags that give `values`, in their order (each by
        `Field.flag_args`): the one way every face writes a command line (the app's headless
        command, a recipe's plan)."""
        args = ["--action", self.name]
        for name, value in values.items():
            args += self.param(name).flag_args(value)
        return args

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
    """The action called `name`. Its own module (`dedup` -> actions/dedup.py) is tried first,
    so running one action does not import every other (process start); then all of them."""
    if name not in _REGISTRY and (Path(__file__).parent / f"{name.replace('-', '_')}.py").exists():
        importlib.import_module(f"{__package__}.{name.replace('-', '_')}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    actions = all_actions()
    if name not in actions:
        import difflib
        close = difflib.get_close_matches(name, actions, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; see --list-actions"
        raise UsageError(f"unknown action {name!r}{hint}")
    return actions[name]
