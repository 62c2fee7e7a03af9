"""Super-resolution models from files, through spandrel (architecture detected from weights).

    model = load_sr_model("4x-UltraSharp.pth", device="cuda", precision="auto")
    model.facts      # {"architecture": "ESRGAN", "scale": 4, "input_channels": 3, ...}
    out = model.upscale([rgb_float_hwc], tile=0, overlap=32)[0]

torch and spandrel are the optional `models` extra; without them a one-line UsageError says what
to install. `tile=0` picks the tile side from free GPU memory (a fixed side on the CPU), and
tiled inference halves it on out-of-memory (see `tiling.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import UsageError
from ..parallel.image import resolve_device
from .tiling import upscale_tiled

MODEL_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors", ".bin")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
CPU_TILE = 512
#: activation memory per input pixel assumed when sizing tiles from free GPU memory (bytes);
#: out-of-memory halving corrects an optimistic guess
BYTES_PER_PIXEL = 24 * 1024


def require_torch_and_spandrel():
    """Import torch and spandrel (torchvision made importable on a CPU-only torch)."""
    try:
        import torch
    except ImportError:
        raise UsageError("models need PyTorch: pip install 'dataset-forge[models]'") from None
    from ..dedup.torch_compat import import_torchvision
    try:
        import_torchvision()
        import spandrel
    except ImportError:
        raise UsageError("upscaling needs spandrel: pip install 'dataset-forge[models]'") from None
    return torch, spandrel


@dataclass
class SRModel:
    path: Path
    descriptor: Any
    device: str
    dtype: Any
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> int:
        return int(self.descriptor.scale)

    @property
    def channels(self) -> int:
        return int(self.descriptor.input_channels)

    def auto_tile(self, fraction: float = 1.0) -> int:
        """A tile side that fits the free memory of the device (a fixed side on the CPU)."""
        if not self.device.startswith("cuda"):
            return CPU_TILE
        import torch
        free, _ = torch.cuda.mem_get_info(torch.device(self.device))
        side = int((free * fraction / BYTES_PER_PIXEL) ** 0.5)
        return max(64, min(2048, side // 32 * 32))

    def run_tiles(self, tiles: np.ndarray) -> np.ndarray:
        """(N, C, h, w) float32 0..1 -> (N, C', h*s, w*s) float32 0..1 on the model's device."""
        import torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(tiles)).to(self.device, self.dtype)
            y = self.descriptor(x)
            return y.float().clamp_(0, 1).cpu().numpy()

    def upscale(self, images: Sequence[np.ndarray], *, tile: int = 0, overlap: int = 32,
                batch: int = 4) -> list[np.ndarray]:
        """Upscale HxWxC float32 images in 0..1 (C = the model's input channels)."""
        req = self.descriptor.size_requirements
        return upscale_tiled(self.run_tiles, list(images), scale=self.scale,
                             tile=tile or self.auto_tile(), overlap=overlap, batch=batch,
                             multiple_of=max(1, int(req.multiple_of)))


def load_sr_model(path: str | Path, *, device: str = "auto", precision: str = "auto") -> SRModel:
    """Load any single-image model spandrel understands; one-line errors for the rest."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"--model {path}: no such file")
    torch, spandrel = require_torch_and_spandrel()
    try:
        descriptor = spandrel.ModelLoader().load_from_file(str(path))
    except spandrel.UnsupportedModelError:
        raise UsageError(f"--model {path}: not a model architecture spandrel knows") from None
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign files: one line
        raise UsageError(f"--model {path}: cannot load ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise UsageError(f"--model {path}: a {descriptor.architecture.name} model, not a "
                         "single-image model")
    device = resolve_device(device)
    dtype = _dtype(torch, descriptor, device, precision)
    descriptor.to(device)
    if dtype != torch.float32:
        descriptor.model.to(dtype)
    descriptor.eval()
    facts = {"architecture": descriptor.architecture.name, "scale": descriptor.scale,
             "input_channels": descriptor.input_channels,
             "output_channels": descriptor.output_channels, "purpose": descriptor.purpose,
             "device": device, "precision": str(dtype).replace("torch.", ""),
             "tiling": descriptor.tiling.name.lower(),
             "multiple_of": descriptor.size_requirements.multiple_of}
    return SRModel(path, descriptor, device, dtype, facts)


def _dtype(torch, descriptor, device: str, precision: str):
    """fp16/bf16 where asked (or, for auto, on CUDA when the model supports it)."""
    if precision not in PRECISIONS:
        raise UsageError(f"--precision {precision}: one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        precision = "fp16" if device.startswith("cuda") and descriptor.supports_half else "fp32"
    if precision == "fp16":
        if not descriptor.supports_half:
            raise UsageError(f"--precision fp16: {descriptor.architecture.name} does not "
                             "support half precision")
        return torch.float16
    if precision == "bf16":
        if not descriptor.supports_bfloat16:
            raise UsageError(f"--precision bf16: {descriptor.architecture.name} does not "
                             "support bfloat16")
        return torch.bfloat16
    return torch.float32
