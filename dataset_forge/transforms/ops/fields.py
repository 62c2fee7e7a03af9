"""Typed fields of an operation, and the value specs a pipeline file gives them.

An op's fields are `dataset_forge.schema.Field`s (the type every declaration uses): type,
default, bounds or choices and help, declared once. In a pipeline a field is given as

    sigma = 1.5            # fixed value
    sigma = [0.5, 3.0]     # uniform range [low, high] (ints inclusive) for int/float fields
    filter = ["bicubic", "bilinear"]   # one of these, drawn uniformly (choice/bool/int fields)

`value_spec(field, raw)` turns the raw value into a `Spec`; `Spec.sample(rng)` draws one value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...schema import Field
from ...schema import FieldError as SchemaError

__all__ = ["Bool", "Choice", "Colour", "Field", "FieldError", "Fixed", "Float", "Int", "OneOf",
           "Range", "Spec", "Str", "value_spec"]


class FieldError(ValueError):
    """A field's value in a pipeline is invalid; the message names the field."""


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


def value_spec(field: Field, raw: Any) -> Spec:
    """A pipeline's value for `field`: a fixed value, a [low, high] range (int/float fields) or
    a list of choices, each value validated by the field (`schema.Field.validate`)."""
    if isinstance(raw, dict) and set(raw) == {"one_of"}:
        raw = raw["one_of"]
        if not isinstance(raw, list):
            raise FieldError(f"field {field.name!r}: one_of needs a list")
        return _one_of(field, raw)
    if isinstance(raw, (list, tuple)):
        if field.type in ("int", "float"):
            if len(raw) != 2:
                raise FieldError(f"field {field.name!r}: a range is [low, high], got {list(raw)}")
            low, high = (_value(field, v) for v in raw)
            if low > high:
                raise FieldError(f"field {field.name!r}: range low {low} is above high {high}")
            return Range(low, high, field.type == "int") if low != high else Fixed(low)
        return _one_of(field, raw)
    return Fixed(_value(field, raw))


def _one_of(field: Field, raw: list) -> Spec:
    if not raw:
        raise FieldError(f"field {field.name!r}: the list of choices is empty")
    return OneOf(tuple(_value(field, v) for v in raw))


def _value(field: Field, raw: Any) -> Any:
    try:
        return field.validate(raw)
    except SchemaError as exc:
        raise FieldError(f"field {field.name!r} = {exc}") from None


# Shorthands used by op declarations.
def Int(name: str, default: int, help: str = "", min: float | None = None,
        max: float | None = None) -> Field:
    return Field(name, "int", default, help, min=min, max=max)


def Float(name: str, default: float, help: str = "", min: float | None = None,
          max: float | None = None) -> Field:
    return Field(name, "float", default, help, min=min, max=max)


def Bool(name: str, default: bool, help: str = "") -> Field:
    return Field(name, "bool", default, help)


def Choice(name: str, default: Any, choices: tuple, help: str = "") -> Field:
    return Field(name, "choice", default, help, choices=tuple(choices))


def Str(name: str, default: str, help: str = "") -> Field:
    return Field(name, "str", default, help)


def Colour(name: str, default: str, help: str = "") -> Field:
    return Field(name, "colour", default, help)
