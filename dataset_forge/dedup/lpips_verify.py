"""LPIPS (the lpips package) as a verifier: it scores candidate pairs found by another tier,
never all pairs.

    verifier = LpipsVerifier("alex", max_distance=0.3)
    for outcome in verifier.score(ctx, [(path_a, path_b), ...]): ...   # value: LPIPS distance

LPIPS has two parts. Its calibrated linear layers ship inside the lpips package. Its backbone
(AlexNet or VGG16 features) comes from torchvision's pretrained weights, which torchvision
downloads on first use into the torch hub cache (~/.cache/torch/hub/checkpoints); a machine that
has them there works offline. Elsewhere pass `weights=FILE`: a torchvision AlexNet/VGG16 state
dict (whole model or `features` only). `weights="random"` gives a random backbone, for smoke
tests only: its scores mean nothing.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from ..errors import UsageError
from ..io import load_rgb
from ..parallel import Outcome, resolve_device

NETS = ("alex", "vgg")
RANDOM_WEIGHTS = "random"
DEFAULT_MAX_DISTANCE = 0.3
SIDE = 256   # both images of a pair are compared at SIDE x SIDE


def _lpips():
    from .torch_compat import import_torchvision
    import_torchvision()
    import lpips
    return lpips


def _load_backbone(model: Any, weights: Path) -> None:
    """Copy a torchvision state dict's `features.N.*` tensors into lpips's sliced backbone."""
    import torch
    state = torch.load(weights, map_location="cpu", weights_only=True)
    state = {k.removeprefix("features."): v for k, v in state.items()}
    missing = []
    for slice_name, part in model.net.named_children():
        for index, layer in part.named_children():
            for pname, param in layer.named_parameters(recurse=False):
                key = f"{index}.{pname}"
                if key not in state or state[key].shape != param.shape:
                    missing.append(key)
                    continue
                with torch.no_grad():
                    param.copy_(state[key])
    if missing:
        raise UsageError(f"--lpips-weights {weights}: not a matching backbone state dict "
                         f"(missing or mis-shaped: {', '.join(missing[:4])})")


def load_lpips(net: str, weights: str | None, device: str) -> Any:
    lpips = _lpips()
    local = Path(weights).expanduser() if weights and weights != RANDOM_WEIGHTS else None
    if local is not None and not local.is_file():
        raise UsageError(f"--lpips-weights {weights}: no such file")
    pretrained_backbone = weights is None or weights == ""
    try:
        model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=not pretrained_backbone,
                            verbose=False)
    except Exception as exc:  # noqa: BLE001 - a failed download, most often
        raise UsageError(
            f"LPIPS needs torchvision's pretrained {net} backbone, which could not be loaded "
            f"({type(exc).__name__}: {str(exc)[:160]}). Offline, put torchvision's weights file "
            "in ~/.cache/torch/hub/checkpoints/ or pass --lpips-weights FILE; or verify with "
            "--verify clip instead.") from None
    if local is not None:
        _load_backbone(model, local)
    return model.eval().to(device)


def load_pair(pair: tuple, side: int = SIDE) -> np.ndarray:
    """Both images as one float32 array (2, 3, side, side) in [-1, 1] (runs in loader threads)."""
    out = []
    for path in pair:
        im = load_rgb(path, max_side=2 * side).resize((side, side), Image.Resampling.BILINEAR)
        out.append(np.asarray(im, np.float32).transpose(2, 0, 1) / 127.5 - 1.0)
    return np.stack(out)


def lpips_batch(pairs: list[np.ndarray], model: Any, device: str) -> list[float]:
    import torch
    with torch.inference_mode():
        batch = torch.from_numpy(np.stack(pairs)).to(device)
        dist = model(batch[:, 0], batch[:, 1])
    return [float(d) for d in dist.reshape(-1).cpu()]


class LpipsVerifier:
    name = "lpips"
    metric = "lpips distance"
    higher_is_closer = False

    def __init__(self, net: str = "alex", max_distance: float | None = None,
                 weights: str | None = None, batch_size: int = 0) -> None:
        if net not in NETS:
            raise UsageError(f"--lpips-net {net}: must be one of {', '.join(NETS)}")
        self.net, self.weights, self.batch_size = net, weights, batch_size
        self.max_distance = DEFAULT_MAX_DISTANCE if max_distance is None else max_distance
        self._model = None

    def accepts(self, scores: np.ndarray) -> np.ndarray:
        return scores <= self.max_distance

    def score(self, ctx: Any, pairs: list[tuple]) -> Iterator[Outcome]:
        """One LPIPS distance per (path_a, path_b), batched on the configured device."""
        if not pairs:
            return iter(())
        device = resolve_device(ctx.config.device)
        if self._model is None:
            self._model = load_lpips(self.net, self.weights, device)
        return ctx.image_map(functools.partial(lpips_batch, model=self._model, device=device),
                             pairs, load=load_pair, batch_size=self.batch_size,
                             label="LPIPS verification", unit="candidate pairs")
