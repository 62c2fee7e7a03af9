"""Typed fields of an operation, and the value specs a pipeline file gives them.

A field declares its type, default and bounds once. In a pipeline a field is given as

    sigma = 1.5            # fixed value
    sigma = [0.5, 3.0]     # uniform range [low, high] (ints inclusive) for int/float fields
    filter = ["bicubic", "bilinear"]   # one of these, drawn uniformly (choice/bool/int fields)

`Field.parse` turns the raw value into a `Spec`; `Spec.sample(rng)` draws one value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FIELD_TYPES = ("int", "float", "bool", "choice", "str")


class FieldError(ValueError):
    """A field's value is invalid; the message names the field."""


@dataclass(frozen=True)
class Fixed:
    value: Any

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def to_json(self) -> Any:
        return self.value


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    integer: bool

    def sample(self, rng: np.random.Generator) -> Any:
        if self.integer:
            return int(rng.integers(int(self.low), int(self.high) + 1))
        return float(rng.uniform(self.low, self.high))

    def to_json(self) -> Any:
        return [self.low, self.high]


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def to_json(self) -> Any:
        return {"one_of": list(self.values)}


Spec = Fixed | Range | OneOf


@dataclass(frozen=True)
class Field:
    """One typed field. `min`/`max` bound numbers; `choices` lists allowed values."""

    name: str
    type: str
    default: Any = None
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.min is not None and self.max is not None:
            return f"{self.type} {self.min:g}..{self.max:g}"
        if self.min is not None:
            return f"{self.type} >= {self.min:g}"
        return self.type

    def parse(self, raw: Any) -> Spec:
        """A fixed value, a [low, high] range or a list of choices, validated."""
        if isinstance(raw, dict) and set(raw) == {"one_of"}:
            raw = raw["one_of"]
            if not isinstance(raw, list):
                raise FieldError(f"field {self.name!r}: one_of needs a list")
            return self._one_of(raw)
        if isinstance(raw, (list, tuple)):
            if self.type in ("int", "float"):
                if len(raw) != 2:
                    raise FieldError(f"field {self.name!r}: a range is [low, high], got {list(raw)}")
                low, high = (self._value(v) for v in raw)
                if low > high:
                    raise FieldError(f"field {self.name!r}: range low {low} is above high {high}")
                return Range(low, high, self.type == "int") if low != high else Fixed(low)
            return self._one_of(raw)
        return Fixed(self._value(raw))

    def _one_of(self, raw: list) -> Spec:
        if not raw:
            raise FieldError(f"field {self.name!r}: the list of choices is empty")
        return OneOf(tuple(self._value(v) for v in raw))

    def _value(self, raw: Any) -> Any:
        value = self._convert(raw)
        if self.choices and value not in self.choices:
            raise FieldError(f"field {self.name!r}: {raw!r} is not {self.describe()}")
        if self.min is not None and value < self.min:
            raise FieldError(f"field {self.name!r}: {raw!r} is below the minimum {self.min:g}")
        if self.max is not None and value > self.max:
            raise FieldError(f"field {self.name!r}: {raw!r} is above the maximum {self.max:g}")
        return value

    def _convert(self, raw: Any) -> Any:
        ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool)
              or isinstance(v, float) and v.is_integer(),
              "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool),
              "choice": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
              "str": lambda v: isinstance(v, str)}[self.type]
        if not ok(raw):
            raise FieldError(f"field {self.name!r}: {raw!r} is not {self.describe()}")
        return {"int": int, "float": float}.get(self.type, lambda v: v)(raw)


# Shorthands used by op declarations.
def Int(name: str, default: int, help: str = "", min: float | None = None,
        max: float | None = None) -> Field:
    return Field(name, "int", default, help, min, max)


def Float(name: str, default: float, help: str = "", min: float | None = None,
          max: float | None = None) -> Field:
    return Field(name, "float", default, help, min, max)


def Bool(name: str, default: bool, help: str = "") -> Field:
    return Field(name, "bool", default, help)


def Choice(name: str, default: Any, choices: tuple, help: str = "") -> Field:
    return Field(name, "choice", default, help, choices=tuple(choices))


def Str(name: str, default: str, help: str = "") -> Field:
    return Field(name, "str", default, help)
