"""The operation registry: every op is declared once with its kind, typed fields and function.

    @op("gaussian_blur", DEGRADE, "Gaussian blur", fields=[Float("sigma", 1.0, min=0.0, max=50)])
    def gaussian_blur(img, p, rng, factor): ...

Kinds decide what happens to an HQ/LQ pair:
- GEOMETRIC: drawn once (`plan` turns drawn values into concrete HQ coordinates), applied to both
  images, coordinates divided by the pair's scale (`factor`) for the LQ image;
- PHOTOMETRIC: the same drawn values applied to both images;
- DEGRADE: applied to the LQ image only (to the only image outside pair mode);
- RESAMPLE: `downscale`, which turns the working LQ copy into the real LQ size in `make-lq`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from .fields import Field


class OpKind(str, Enum):
    GEOMETRIC = "geometric"
    PHOTOMETRIC = "photometric"
    DEGRADE = "degrade"
    RESAMPLE = "resample"


GEOMETRIC, PHOTOMETRIC, DEGRADE, RESAMPLE = OpKind


@dataclass(frozen=True)
class Op:
    name: str
    kind: OpKind
    help: str
    apply: Callable[..., Any]            # apply(img, params, rng, factor) -> Image
    fields: tuple[Field, ...] = ()
    plan: Callable[..., dict] | None = None   # plan(params, size, snap, rng) -> params
    source: str = "builtin"              # or the plugin file that declared it

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


_OPS: dict[str, Op] = {}


def register(spec: Op, *, replace: bool = False) -> Op:
    existing = _OPS.get(spec.name)
    if existing is not None and not replace and existing.source != spec.source:
        raise ValueError(f"operation {spec.name!r} is already declared by {existing.source}")
    _OPS[spec.name] = spec
    return spec


def op(name: str, kind: OpKind, help: str, *, fields=(), plan=None):
    """Decorator for built-in operations."""
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        register(Op(name, OpKind(kind), help, fn, tuple(fields), plan))
        return fn
    return wrap


def all_ops() -> dict[str, Op]:
    from . import colour, degrade, geometric  # noqa: F401 - importing registers the built-ins
    return dict(sorted(_OPS.items()))


def get_op(name: str) -> Op:
    ops = all_ops()
    if name not in ops:
        close = difflib.get_close_matches(name, ops, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown operation {name!r}{hint}")
    return ops[name]
