"""Before/after of an action's form on one sample image: the action runs, through the same
`runner.run_action` as a real run, on a copy of one image of its input, into a temporary
folder. Nothing is written into the user's output (the run's output is the temporary folder).

    shot = run_sample(action, form_values, Path(tmp), settings)
    shot.before, shot.after      # the sample, and what the action made of it
"""
from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from dataset_forge.actions.registry import Action, Family
from dataset_forge.errors import UsageError
from dataset_forge.io.discover import iter_images
from dataset_forge.parallel import CancelToken, ParallelConfig, ProcessingType
from dataset_forge.runner import run_action

FAMILIES = (Family.TRANSFORM, Family.AUGMENT, Family.COMPRESS)
NEEDS_SEVERAL = ("mixup",)
SAMPLE_CANDIDATES = 16       # draws partners among the inputs: one sample is not enough
# what a sample run must not do whatever the form says: one output, into the temporary folder
SAMPLE_VALUES = {"in_place": False, "apply": False, "variations": 1, "hq": None, "lq": None}


@dataclass(frozen=True)
class Shot:
    source: Path    # the user's image
    before: Path    # its copy the sample run read
    after: Path

    def caption(self, path: Path) -> str:
        """`256x192 PNG, 48 KB`."""
        with Image.open(path) as im:
            size, fmt = f"{im.width}x{im.height}", im.format or path.suffix[1:].upper()
        return f"{size} {fmt}, {path.stat().st_size / 1024:,.1f} KB"


def can_preview(action: Action) -> bool:
    """Image-writing actions of the transform, augment and compress families that read a
    folder (make-lq, resize, crop, tile, augment, compress, convert)."""
    names = {p.name for p in action.params}
    return action.family in FAMILIES and action.writes and "output" in names \
        and "input" in names and action.name not in NEEDS_SEVERAL


def sample_of(values: dict[str, Any]) -> Path:
    """The largest file among the first SAMPLE_CANDIDATES images (by the discovery rule) of
    the form's input, or its HQ folder: the most detail, so the options show (a blank image
    that sorts first would show nothing)."""
    folder = values.get("input") or values.get("hq")
    if not folder or not Path(str(folder)).is_dir():
        raise UsageError("no sample to preview: give an input folder first")
    candidates = list(itertools.islice(iter_images(folder), SAMPLE_CANDIDATES))
    if not candidates:
        raise UsageError(f"no sample to preview: {folder} holds no images")
    return max(candidates, key=lambda p: p.stat().st_size)


def sample_values(action: Action, values: dict[str, Any], inputs: Path, out: Path) -> dict:
    """The form's values, reading `inputs` and writing `out`, with SAMPLE_VALUES applied."""
    names = {p.name for p in action.params}
    changed = {**values, "input": str(inputs), "output": str(out)}
    changed.update({k: v for k, v in SAMPLE_VALUES.items() if k in names})
    return {k: v for k, v in changed.items() if v is not None}


def produced(out: Path) -> Path | None:
    """The image the sample run made: under an `lq` folder first (make-lq writes HQ and LQ),
    else the first image in `out`."""
    images = sorted(iter_images(out))
    lq = [p for p in images if "lq" in p.relative_to(out).parts[:-1]]
    return (lq or images or [None])[0]


def run_sample(action: Action, values: dict[str, Any], work: Path, settings: Any,
               cancel: CancelToken | None = None) -> Shot:
    """Run `action` with the form's `values` on one sample inside `work`; its before/after."""
    sample = sample_of(values)
    inputs, out = work / "in", work / "out"
    inputs.mkdir(parents=True, exist_ok=True)
    before = Path(shutil.copy2(sample, inputs / sample.name))
    report = run_action(action, sample_values(action, values, inputs, out),
                        config=ParallelConfig(processing_type=ProcessingType.SERIAL),
                        settings=settings, cancel=cancel)
    if report.failures:
        failure = report.failures[0]
        raise UsageError(f"{sample.name}: {failure.error_type}: {failure.message}")
    after = produced(out)
    if after is None:
        raise UsageError(f"{action.name} made nothing of {sample.name} with these options")
    return Shot(sample, before, after)
