"""Per-image scores from no-reference models, batched on the GPU core (`ctx.image_map`).

    scorers = [load_scorer(spec, weights, device) for spec in ("niqe", "ic9600", "pyiqa:topiq_nr")]
    for path, value in score_paths(ctx, paths, scorers):   # value: {column: score} or a Failure
        ...

Metrics:
- `niqe`: natural-scene statistics against a pristine model (`niqe.py`); numpy, no extra, no
  weights; lower is better; images under 96 px on a side get an empty cell. `--weights niqe=FILE` takes a pristine model you fitted.
- `ic9600`: image complexity in 0..1 from ICNet (`icnet.py`); torch (`models` extra) and the
  IC9600 checkpoint from a local file (`--weights ic9600=FILE`); higher is more complex.
- `pyiqa:NAME`: any no-reference pyiqa metric (`pyiqa_metrics.py`; the `iqa` extra), weights from
  pyiqa's cache or `--weights NAME=FILE`.

Each image is decoded once in the loader threads (reduced to `max_side` when given); every
scorer prepares its own input there (NIQE computes its features there too, in parallel), and
the model work runs in batches on the device, halved on out-of-memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from ..errors import UsageError
from ..io import load_rgb
from ..parallel import Failure, resolve_device

BUILTIN = ("niqe", "ic9600")
PYIQA = "pyiqa:"


@dataclass
class Scorer:
    spec: str                                   # as given: niqe, ic9600, pyiqa:topiq_nr
    column: str                                 # the CSV column and the rules' field name
    higher_is_better: bool
    prepare: Callable[[Any], Any]               # PIL RGB image -> model input (loader thread)
    run: Callable[[list], list[float]]          # model inputs -> scores (on the device)
    facts: dict[str, Any] = field(default_factory=dict)


def column_for(spec: str) -> str:
    """niqe -> niqe; pyiqa:topiq_nr -> topiq_nr (pyiqa_niqe where a built-in has the name)."""
    if not spec.startswith(PYIQA):
        return spec
    name = spec[len(PYIQA):].lower().replace("-", "_").replace("+", "_plus")
    return f"pyiqa_{name}" if name in BUILTIN else name


def parse_weights(items: Iterable[str]) -> dict[str, str]:
    """['ic9600=ck.pth', 'topiq_nr=/m/x.pth'] -> {'ic9600': 'ck.pth', 'topiq_nr': ...}."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageError(f"--weights {item!r}: give METRIC=FILE, e.g. ic9600=ck.pth")
        out[name.strip().removeprefix(PYIQA)] = path.strip()
    return out


def load_scorer(spec: str, weights: dict[str, str], device: str) -> Scorer:
    """The scorer for one metric spec; one-line UsageErrors for unknown names, missing extras
    and missing weights."""
    if spec == "niqe":
        return _niqe(weights.get("niqe"))
    if spec == "ic9600":
        return _ic9600(weights.get("ic9600"), device)
    if spec.startswith(PYIQA) and len(spec) > len(PYIQA):
        return _pyiqa(spec, weights.get(spec[len(PYIQA):]), device)
    raise UsageError(f"--metrics {spec}: unknown metric; one of niqe, ic9600, or pyiqa:NAME "
                     "(e.g. pyiqa:topiq_nr)")


def _niqe(path: str | None) -> Scorer:
    from . import niqe
    if path and not Path(path).expanduser().is_file():
        raise UsageError(f"--weights niqe={path}: no such file (a pristine model .npz)")
    try:
        model = niqe.load_pristine(Path(path).expanduser() if path else None)
    except Exception as exc:  # noqa: BLE001
        raise UsageError(f"--weights niqe={path}: not a NIQE pristine model ({exc})") from None

    def prepare(img) -> np.ndarray | None:
        if min(img.size) < model.patch:      # too small to measure: an empty cell
            return None
        grey = np.asarray(img.convert("L"), dtype=np.float64)
        return niqe.features(grey, model.patch)[0]

    return Scorer("niqe", "niqe", False, prepare,
                  lambda feats: [math.nan if f is None else niqe.distance(f, model)
                                 for f in feats],
                  {"model": path or "built-in pristine model"})


def _ic9600(path: str | None, device: str) -> Scorer:
    from . import icnet
    net = icnet.load_icnet(path, device, flag="--weights ic9600=")
    return Scorer("ic9600", "ic9600", True, icnet.prepare,
                  lambda tensors: icnet.complexity_scores(net, tensors, device),
                  {"weights": str(path)})


def _pyiqa(spec: str, path: str | None, device: str) -> Scorer:
    from .pyiqa_metrics import load_pyiqa
    name = spec[len(PYIQA):]
    metric = load_pyiqa(name, path, device)
    import torch

    def prepare(img):
        arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())

    def run(tensors: list) -> list[float]:
        out: list[float] = [math.nan] * len(tensors)
        by_shape: dict[tuple, list[int]] = {}
        for i, t in enumerate(tensors):
            by_shape.setdefault(tuple(t.shape), []).append(i)
        with torch.inference_mode():
            for idx in by_shape.values():
                values = metric(torch.stack([tensors[i] for i in idx]).to(device))
                for i, v in zip(idx, values.reshape(len(idx), -1)[:, 0].float().cpu()):
                    out[i] = float(v)
        return out

    return Scorer(spec, column_for(spec), not metric.lower_better, prepare, run,
                  {"weights": str(path) if path else "pyiqa cache"})


def load_scorers(specs: Iterable[str], weights: dict[str, str], device: str) -> list[Scorer]:
    specs = list(dict.fromkeys(specs))
    if not specs:
        raise UsageError("--metrics: give at least one metric, e.g. niqe")
    unused = set(weights) - {s.removeprefix(PYIQA) for s in specs}
    if unused:
        raise UsageError(f"--weights {', '.join(sorted(unused))}: no such metric in --metrics")
    device = resolve_device(device)
    return [load_scorer(s, weights, device) for s in specs]


def parse_rules(texts: Iterable[str], columns: list[str], flag: str = "--flag") -> list:
    """Rules on score columns ('niqe>8', 'topiq_nr<0.4') as curation criteria."""
    from ..curation.rules import parse_criterion
    rules = []
    for text in texts:
        try:
            rule = parse_criterion(text, score_fields=columns)
        except ValueError as exc:
            raise UsageError(f"{flag} {exc}") from None
        if rule.field not in columns:
            raise UsageError(f"{flag} {text!r}: {rule.field} is not a score column "
                             f"({', '.join(columns)})")
        rules.append(rule)
    return rules


@dataclass
class Prepared:
    size: tuple[int, int]
    inputs: list[Any]


def score_paths(ctx: Any, paths: list[Path], scorers: list[Scorer], *, max_side: int = 0,
                batch_size: int = 0, label: str = "scores"
                ) -> Iterator[tuple[Path, dict[str, Any] | Failure]]:
    """(path, {"width", "height", column: score, ...}) per image in input order, or (path,
    Failure) for an image that could not be read or scored."""

    def load(path: Path) -> Prepared:
        img = load_rgb(path, max_side=max_side or None)
        return Prepared(img.size, [s.prepare(img) for s in scorers])

    def run(batch: list[Prepared]) -> list[dict[str, Any]]:
        rows = [{"width": p.size[0], "height": p.size[1]} for p in batch]
        for k, scorer in enumerate(scorers):
            for row, value in zip(rows, scorer.run([p.inputs[k] for p in batch]), strict=True):
                row[scorer.column] = round(float(value), 4) if math.isfinite(value) else None
        return rows

    for outcome in ctx.image_map(run, paths, load=load, batch_size=batch_size, label=label):
        yield outcome.item, (outcome.value if outcome.ok else outcome.error)
