"""Pipelines: an ordered list of operations in a TOML or JSON file, drawn reproducibly.

    # lq.toml
    [[ops]]
    op = "gaussian_blur"
    p = 0.5                 # probability that the op runs (default 1)
    sigma = [0.2, 2.0]      # a range: drawn uniformly for each image

    [[ops]]
    op = "one_of"           # pick one of the listed ops (optionally weighted)
    ops = [{op = "jpeg", quality = [40, 90]}, {op = "webp", quality = [40, 90]}]

    pipeline = load_pipeline("lq.toml")
    log = pipeline.run(frame, image_entropy(seed, "sub/name", variation))

Randomness is never global: each image's draws come from numpy's SeedSequence built from
(seed, relative path, variation index), with one child stream per step, so the same seed and
input give the same output on any machine, with any worker count and backend.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import UsageError
from .ops import FieldError, get_op
from .ops.channels import resample
from .ops.fields import Fixed, Spec, value_spec
from .ops.geometric import FILTERS
from .ops.registry import DEGRADE, RESAMPLE, Op
from .pairfit import mismatch

STEP_KEYS = ("op", "p")


class PipelineError(UsageError):
    """A pipeline file that does not validate; the message names the op and the field."""


# ---------------------------------------------------------------------------------- seeding

def image_entropy(seed: int, key: str, variation: int = 0) -> tuple[int, ...]:
    """Entropy words for one output: the run seed, the item's relative path, the variation."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
    words = np.frombuffer(digest, dtype="<u4").tolist()
    return (int(seed), *words, int(variation))


def step_rng(entropy: tuple[int, ...], *path: int) -> np.random.Generator:
    """An independent generator for one step (and sub-step) of one image."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=path)))


# ---------------------------------------------------------------------------------- frames

@dataclass
class Frame:
    """The images a pipeline works on: one image, or an HQ/LQ pair kept aligned.

    `snap`: HQ coordinates drawn by geometric ops are multiples of it (the pair's scale).
    `scale`: the factor `downscale` uses when its own `scale` field is 0 (make-lq's --scale).
    """

    hq: Image.Image
    lq: Image.Image | None = None
    snap: int = 1
    scale: int = 0

    @property
    def factor(self) -> int:
        """How many HQ pixels one LQ pixel spans (1 while LQ is still a full-size copy)."""
        assert self.lq is not None
        f = self.hq.width // max(1, self.lq.width)
        if (self.lq.width * f, self.lq.height * f) != self.hq.size:
            raise ValueError(mismatch(self.hq.size, self.lq.size))
        return f


# ---------------------------------------------------------------------------------- steps

@dataclass(frozen=True)
class Step:
    op: str
    p: float = 1.0
    specs: tuple[tuple[str, Spec], ...] = ()
    choices: tuple["Step", ...] = ()      # for one_of
    weights: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "p": self.p}
        out.update({name: spec.to_json() for name, spec in self.specs})
        if self.choices:
            out["ops"] = [c.to_json() for c in self.choices]
            out["weights"] = list(self.weights)
        return out

    def run(self, frame: Frame, entropy: tuple[int, ...], path: tuple[int, ...]) -> dict:
        rng = step_rng(entropy, *path)
        if rng.random() >= self.p:
            return {"op": self.op, "applied": False}
        if self.choices:
            k = int(rng.choice(len(self.choices), p=np.array(self.weights) / sum(self.weights)))
            return {"op": self.op, "applied": True, "chose": k,
                    "step": self.choices[k].run(frame, entropy, (*path, k + 1))}
        op = get_op(self.op)
        params = {name: spec.sample(rng) for name, spec in self.specs}
        if op.plan is not None:
            params = op.plan(params, frame.hq.size, frame.snap, rng)
        apply_op(op, params, frame, entropy, path)
        return {"op": self.op, "applied": True, "params": params}


def apply_op(op: Op, params: dict, frame: Frame, entropy: tuple, path: tuple) -> None:
    """Apply one op with drawn `params` to the frame by its kind (see ops.registry)."""
    def fresh() -> np.random.Generator:   # same stream for HQ and LQ: lockstep for random ops
        return step_rng(entropy, *path, 0)

    if op.kind is RESAMPLE:
        downscale(frame, params)
        params["size"] = list(frame.lq.size if frame.lq is not None else frame.hq.size)
    elif frame.lq is None:
        frame.hq = op.apply(frame.hq, params, fresh(), 1)
    elif op.kind is DEGRADE:
        frame.lq = op.apply(frame.lq, params, fresh(), frame.factor)
    else:
        factor = frame.factor
        frame.hq = op.apply(frame.hq, params, fresh(), 1)
        frame.lq = op.apply(frame.lq, params, fresh(), factor)


def downscale(frame: Frame, params: dict) -> None:
    scale = params["scale"] or frame.scale
    if not scale:
        raise ValueError("downscale needs a scale (its own field, or make-lq's --scale)")
    source = frame.hq if frame.lq is None else frame.lq
    if frame.lq is not None and frame.lq.size != frame.hq.size:
        raise ValueError("downscale on an LQ image that is already smaller than HQ")
    if frame.lq is not None and (frame.hq.width % scale or frame.hq.height % scale):
        raise ValueError(f"HQ {frame.hq.width}x{frame.hq.height} is not a multiple of {scale}")
    params["scale"] = scale
    size = (max(1, source.width // scale), max(1, source.height // scale))
    out = resample(source, size, FILTERS[params["filter"]])
    if frame.lq is None:
        frame.hq = out
    else:
        frame.lq = out


# ---------------------------------------------------------------------------------- pipeline

@dataclass(frozen=True)
class Pipeline:
    steps: tuple[Step, ...]
    source: str = "<pipeline>"

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def ops(self) -> list[Op]:
        """Every op the pipeline may run (one_of choices included)."""
        def walk(steps):
            for s in steps:
                yield from walk(s.choices) if s.choices else [get_op(s.op)]
        return list(walk(self.steps))

    def kinds(self) -> set[str]:
        return {op.kind.value for op in self.ops()}

    def builtin_only(self) -> bool:
        """No plugin ops: every op returns a new image and never edits its input, so HQ and LQ
        may start as one shared image (make-lq)."""
        return all(op.source == "builtin" for op in self.ops())

    def run(self, frame: Frame, entropy: tuple[int, ...]) -> list[dict]:
        """Apply every step in order to `frame` (changed in place); return the drawn log."""
        return [step.run(frame, entropy, (i + 1,)) for i, step in enumerate(self.steps)]


def parse_pipeline(data: Any, source: str = "<pipeline>") -> Pipeline:
    """Validate a decoded TOML/JSON document: `{"ops": [...]}` or a bare list of ops."""
    if isinstance(data, dict):
        unknown = set(data) - {"ops", "description", "name"}
        if unknown:
            raise PipelineError(f"{source}: unknown top-level key {sorted(unknown)[0]!r} "
                                "(expected 'ops')")
        data = data.get("ops")
    if not isinstance(data, list) or not data:
        raise PipelineError(f"{source}: needs a non-empty list of operations under 'ops'")
    return Pipeline(tuple(_parse_step(raw, f"{source}: op {i}") for i, raw in
                          enumerate(data, 1)), source)


def _parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
        raise PipelineError(f"{where}: each operation is a table with an 'op' name")
    name = raw["op"]
    where = f"{where} ({name})"
    p = raw.get("p", 1.0)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise PipelineError(f"{where}: field 'p': {p!r} is not a probability from 0 to 1")
    if name == "one_of":
        return _parse_one_of(raw, where, float(p))
    try:
        op = get_op(name)
    except KeyError as exc:
        raise PipelineError(f"{where}: {exc.args[0]}") from None
    given = {k: v for k, v in raw.items() if k not in STEP_KEYS}
    for key in given:
        if op.field(key) is None:
            names = ", ".join(f.name for f in op.fields) or "none"
            raise PipelineError(f"{where}: unknown field {key!r} (fields: {names}, p)")
    try:
        specs = tuple((f.name, value_spec(f, given[f.name]) if f.name in given else Fixed(f.default))
                      for f in op.fields)
    except FieldError as exc:
        raise PipelineError(f"{where}: {exc}") from None
    return Step(name, float(p), specs)


def _parse_one_of(raw: dict, where: str, p: float) -> Step:
    extra = set(raw) - {"op", "p", "ops", "weights"}
    if extra:
        raise PipelineError(f"{where}: unknown field {sorted(extra)[0]!r} (fields: ops, weights, p)")
    ops = raw.get("ops")
    if not isinstance(ops, list) or not ops:
        raise PipelineError(f"{where}: field 'ops': needs a non-empty list of operations")
    choices = tuple(_parse_step(c, f"{where} choice {k}") for k, c in enumerate(ops, 1))
    weights = raw.get("weights", [1.0] * len(choices))
    if (not isinstance(weights, list) or len(weights) != len(choices)
            or any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights)
            or not sum(weights)):
        raise PipelineError(f"{where}: field 'weights': needs {len(choices)} non-negative numbers")
    return Step("one_of", p, (), choices, tuple(float(w) for w in weights))


def load_pipeline(spec: str | Path) -> Pipeline:
    """A pipeline from a .toml/.json file, or inline JSON text (starting with '[' or '{')."""
    text = str(spec).strip()
    if text[:1] in "[{":
        return parse_pipeline(_decode(text, "json", "inline pipeline"), "inline pipeline")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise PipelineError(f"pipeline file {path}: no such file")
    fmt = "json" if path.suffix.lower() == ".json" else "toml"
    return parse_pipeline(_decode(path.read_text(encoding="utf-8"), fmt, str(path)), path.name)


def _decode(text: str, fmt: str, source: str) -> Any:
    try:
        return json.loads(text) if fmt == "json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PipelineError(f"{source}: not valid {fmt.upper()} ({exc})") from None


def single_step(op_name: str, **values: Any) -> Pipeline:
    """A one-op pipeline from already-validated values (what the transform actions run)."""
    return parse_pipeline([{"op": op_name, **values}], op_name)
