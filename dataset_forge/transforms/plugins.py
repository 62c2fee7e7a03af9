"""User plugins: a Python file that registers custom operations by name.

    # my_ops.py
    from dataset_forge.transforms.plugins import transform

    @transform("posterize", kind="degrade", bits=4)
    def posterize(img, rng, bits):
        from PIL import ImageOps
        return ImageOps.posterize(img, bits)

    dataset-forge --action augment --plugin my_ops.py --pipeline lq.toml ...

Keyword defaults declare the fields (their Python type is the field type: int, float, bool,
str); pass `dataset_forge.transforms.ops.Field` objects for bounds or choices. `kind` is "photometric"
(applied alike to HQ and LQ) or "degrade" (LQ only). The function gets the PIL image, a seeded
numpy Generator and the drawn values, and returns a PIL image or a uint8 array.

Worker processes re-load the same files (`ensure_plugins`, memoised per worker), so plugin
ops work the same in serial, thread and process modes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ..errors import UsageError
from .ops.fields import Field
from .ops.registry import DEGRADE, PHOTOMETRIC, Op, OpKind, all_ops, register
from ..parallel import worker_state

PLUGIN_KINDS = (PHOTOMETRIC, DEGRADE)
_loading: list[str] = []   # the plugin file being executed, so `transform` knows its source


def _field(name: str, default: Any) -> Field:
    if isinstance(default, Field):
        return default
    for py, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if isinstance(default, py):
            return Field(name, kind, default)
    raise TypeError(f"plugin field {name!r}: default {default!r} must be int, float, bool, str "
                    "or a dataset_forge.transforms.ops.Field")


def _as_image(value: Any, like: Image.Image) -> Image.Image:
    if isinstance(value, Image.Image):
        return value
    arr = np.asarray(value)
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def transform(name: str, *, kind: str = "photometric", help: str = "", **fields: Any) -> Callable:
    """Decorator: register `fn(img, rng, **values)` as the pipeline operation `name`."""
    op_kind = OpKind(kind)
    if op_kind not in PLUGIN_KINDS:
        raise ValueError(f"plugin op {name!r}: kind must be photometric or degrade")
    declared = tuple(_field(key, value) for key, value in fields.items())

    def wrap(fn: Callable) -> Callable:
        def apply(img: Image.Image, params: dict, rng, factor: int) -> Image.Image:
            return _as_image(fn(img, rng, **params), img)
        source = _loading[-1] if _loading else getattr(fn, "__module__", "plugin")
        all_ops()  # built-ins first, so a clashing plugin name is the plugin's error
        register(Op(name, op_kind, help or (fn.__doc__ or "").strip().split("\n")[0],
                    apply, declared, source=source))
        return fn
    return wrap


def load_plugin(path: str | Path) -> str:
    """Execute a plugin file (its `@transform`s register ops); return its module name."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"--plugin {path}: no such file")
    module_name = "dataset_forge_plugin_" + hashlib.blake2b(str(path).encode(),
                                                             digest_size=6).hexdigest()
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    _loading.append(str(path))
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's usage error
        sys.modules.pop(module_name, None)
        where = next((f"line {f.lineno}" for f in reversed(traceback.extract_tb(exc.__traceback__))
                      if Path(f.filename) == path), "")
        raise UsageError(f"--plugin {path}: {where + ': ' if where else ''}"
                         f"{type(exc).__name__}: {exc}") from None
    finally:
        _loading.pop()
    return module_name


def ensure_plugins(paths: tuple[str, ...] | list[str]) -> None:
    """Load each plugin once per process and version (main process and every worker alike): an
    edited file (new modification time or size) is executed again, replacing its ops."""
    for path in paths:
        resolved = Path(path).expanduser().resolve()
        try:
            stat = resolved.stat()
            version = f"{stat.st_mtime_ns}:{stat.st_size}"
        except OSError:
            version = "missing"  # load_plugin reports it
        worker_state(f"dataset_forge.plugin:{resolved}:{version}",
                     lambda p=str(resolved): load_plugin(p))
