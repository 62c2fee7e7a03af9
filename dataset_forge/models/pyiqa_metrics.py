"""pyiqa's no-reference metrics (TOPIQ, HyperIQA, MUSIQ, MANIQA, NIQE, BRISQUE, ...), offline.

    metric = load_pyiqa("topiq_nr", weights=None, device="cuda")    # from the user's caches
    metric = load_pyiqa("topiq_nr", weights="cfanet_nr_koniq_res50.pth", device="cpu")
    scores = metric(batch)          # (N, 3, H, W) RGB 0..1 -> (N,) or (N, 1)

The `iqa` extra: pyiqa's declared dependencies (transformers, bitsandbytes, datasets,
accelerate, ...) are far heavier than its metric architectures need, so it installs without
them: `pip install 'dataset-forge[iqa]' && pip install --no-deps pyiqa facexlib`.

Nothing is downloaded at run time. Without a weights file every file pyiqa wants must already be
in its cache (torch hub's `pyiqa` folder, and the Hugging Face cache for timm backbones); a
missing one is a one-line error naming the file and the folder. With `weights` (a local
checkpoint of the whole network, as pyiqa publishes them) backbones are built without their
ImageNet weights, which the checkpoint replaces.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ..errors import UsageError

INSTALL = "pip install 'dataset-forge[iqa]' && pip install --no-deps pyiqa facexlib"


class NotCached(Exception):
    """A download was asked for; `path` is where the file was expected."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def require_pyiqa():
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError(f"pyiqa metrics need PyTorch and the iqa extra: {INSTALL}") from None
    from ..dedup.torch_compat import import_torchvision
    try:
        import_torchvision()
        import pyiqa
    except ImportError as exc:
        raise UsageError(f"pyiqa metrics need the iqa extra ({exc.name} is missing): "
                         f"{INSTALL}") from None
    return pyiqa


def _refuse(url: str, dst: str, *args: Any, **kwargs: Any) -> None:
    raise NotCached(str(dst) if dst else url)


@contextlib.contextmanager
def offline(checkpoint_holds_backbone: bool, cache_dir: str | None = None) -> Iterator[None]:
    """Refuse every download for the duration (pyiqa prints kept off the terminal); take
    pyiqa's files from `cache_dir` when given; optionally build timm backbones unweighted."""
    import torch.hub
    import pyiqa.utils.download_util as du
    saved = [(du, "download_url_to_file", du.download_url_to_file),
             (torch.hub, "download_url_to_file", torch.hub.download_url_to_file),
             (du, "DEFAULT_CACHE_DIR", du.DEFAULT_CACHE_DIR)]
    du.download_url_to_file = torch.hub.download_url_to_file = _refuse
    if cache_dir:
        du.DEFAULT_CACHE_DIR = cache_dir
    old_env = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import huggingface_hub.constants as hfc
        saved.append((hfc, "HF_HUB_OFFLINE", hfc.HF_HUB_OFFLINE))
        hfc.HF_HUB_OFFLINE = True
    except ImportError:
        pass
    if checkpoint_holds_backbone:
        import timm
        create = timm.create_model
        saved.append((timm, "create_model", create))
        timm.create_model = lambda *a, **k: create(*a, **{**k, "pretrained": False})
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env


def load_pyiqa(name: str, weights: str | Path | None, device: str):
    """A pyiqa metric in eval mode on `device`; one-line UsageErrors for everything missing.
    `weights` stands in for the checkpoint pyiqa would download for this metric, read the way
    pyiqa reads its own."""
    pyiqa = require_pyiqa()
    if name not in pyiqa.list_models(metric_mode="NR"):
        raise UsageError(f"--metrics pyiqa:{name}: not a no-reference pyiqa metric; e.g. "
                         "topiq_nr, hyperiqa, musiq, maniqa, niqe, brisque")
    path = None
    if weights is not None:
        path = Path(weights).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"--weights {name}={path}: no such file")
    with tempfile.TemporaryDirectory(prefix="forge-iqa-") as links:
        linked = False
        while True:
            try:
                with offline(path is not None, links if path else None):
                    metric = pyiqa.create_metric(name, device=device)
                break
            except NotCached as exc:
                folder, file = os.path.split(exc.path)
                if path is not None and not linked and folder == links:
                    os.symlink(path, os.path.join(links, file))   # read as pyiqa's own file
                    linked = True
                    continue
                where = "beside --weights" if folder == links else f"in {folder}"
                hint = f", or pass --weights {name}=FILE" if path is None and folder.endswith(
                    "pyiqa") else ""
                raise UsageError(f"pyiqa:{name} needs {file} {where} (no download at run "
                                 f"time): copy it there{hint}") from None
            except Exception as exc:  # noqa: BLE001 - cache misses, foreign checkpoints
                raise UsageError(_describe(name, exc)) from None
    metric.eval()
    return metric


def _describe(name: str, exc: Exception) -> str:
    if "LocalEntryNotFound" in type(exc).__name__ or "OfflineMode" in type(exc).__name__:
        return (f"pyiqa:{name}: its pretrained backbone is not in the Hugging Face cache (no "
                f"download at run time); pass the metric's whole checkpoint: --weights {name}=FILE")
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"pyiqa:{name} could not be loaded ({type(exc).__name__}: {first})"
