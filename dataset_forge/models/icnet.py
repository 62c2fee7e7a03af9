"""ICNet, the image complexity network of IC9600 (Feng et al., TPAMI 2022), written from the
paper's description, with the parameter names of the authors' released checkpoint so that file
loads as it is.

    net = load_icnet("ck.pth", device="cuda")      # the IC9600 checkpoint, from a local file
    scores = complexity_scores(net, batch)         # (N, 3, 512, 512) 0..1 -> N scores in 0..1

Two ResNet-18 branches see the image: a detail branch at 512 px (stem, layers 1-2) and a
context branch at 256 px (stem, layers 1-4). After each stage a spatial layout attention module
(SLAM) squeezes each channel's map to a fixed grid, predicts one weight per channel from it and
scales the channel. Both branches are upsampled to 64x64 and concatenated; one head predicts the
complexity map (kept here for completeness) and one, after average pooling, the score. Inputs
are resized to 512x512 and ImageNet-normalised, as in training.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

SIZE, CONTEXT_SIZE = 512, 256
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
WEIGHTS = "the IC9600 checkpoint (ck.pth, ICNet) as a local file"


def require_torch():
    try:
        import torch
    except ImportError:
        raise UsageError("learned scores need PyTorch: pip install 'dataset-forge[models]'"
                         ) from None
    return torch


def build_icnet():
    """An ICNet with random weights (the caller loads a checkpoint)."""
    torch = require_torch()
    nn, F = torch.nn, torch.nn.functional

    class Basic(nn.Module):
        """ResNet basic block (two 3x3 convolutions and a shortcut)."""

        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(y + (x if self.downsample is None else self.downsample(x)))

    def stage(cin: int, cout: int, stride: int):
        return nn.Sequential(Basic(cin, cout, stride), Basic(cout, cout, 1))

    def stem_and_layer1():
        # conv1, bn1, relu, maxpool, layer1: the checkpoint's indices 0..4
        return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                             nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1), stage(64, 64, 1))

    class Slam(nn.Module):
        """Spatial layout attention: a weight per channel from its map on a fixed grid."""

        def __init__(self, grid: int) -> None:
            super().__init__()
            self.grid = grid
            self.linear = nn.Sequential(nn.Linear(grid * grid, 512), nn.ReLU(),
                                        nn.Linear(512, 1), nn.Sigmoid())

        def forward(self, x):
            n, c, h, w = x.shape
            g = x if h == self.grid and w == self.grid else F.interpolate(
                x, size=(self.grid, self.grid), mode="bilinear", align_corners=True)
            return self.linear(g.reshape(n, c, -1)).unsqueeze(3) * x

    class ConvBnRelu(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
            self.bn = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.bn(self.conv(x)))

    class Up(nn.Module):
        def __init__(self, size: int, cin: int, cout: int) -> None:
            super().__init__()
            self.upSample = nn.Upsample(size=(size, size), mode="bilinear", align_corners=True)
            self.conv = nn.Conv2d(cin, cout, 1)
            self.bn = nn.BatchNorm2d(cout)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(self.upSample(x))))

    class ToMap(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.to_map = nn.Sequential(nn.Conv2d(cin, 1, 1), nn.Sigmoid())

        def forward(self, x):
            return self.to_map(x)

    class ICNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b1_1, self.b1_1_slam = stem_and_layer1(), Slam(32)        # detail branch
            self.b1_2, self.b1_2_slam = stage(64, 128, 2), Slam(32)
            self.b2_1, self.b2_1_slam = stem_and_layer1(), Slam(32)        # context branch
            self.b2_2, self.b2_2_slam = stage(64, 128, 2), Slam(32)
            self.b2_3, self.b2_3_slam = stage(128, 256, 2), Slam(16)
            self.b2_4, self.b2_4_slam = stage(256, 512, 2), Slam(8)
            self.up1, self.up2 = Up(SIZE // 8, 128, 256), Up(SIZE // 8, 512, 256)
            self.to_map_f, self.to_map_f_slam = ConvBnRelu(512, 512), Slam(32)
            self.to_map = ToMap(512)
            self.to_score_f, self.to_score_f_slam = ConvBnRelu(512, 512), Slam(32)
            self.head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 1),
                                      nn.Sigmoid())
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

        def forward(self, x):
            """(N, 3, 512, 512) normalised -> (scores (N,), complexity maps (N, 1, 64, 64))."""
            ctx = F.interpolate(x, size=(CONTEXT_SIZE, CONTEXT_SIZE), mode="bilinear",
                                align_corners=True)
            d = self.b1_2_slam(self.b1_2(self.b1_1_slam(self.b1_1(x))))
            c = self.b2_2_slam(self.b2_2(self.b2_1_slam(self.b2_1(ctx))))
            c = self.b2_4_slam(self.b2_4(self.b2_3_slam(self.b2_3(c))))
            both = torch.cat((self.up1(d), self.up2(c)), dim=1)
            cmap = self.to_map(self.to_map_f_slam(self.to_map_f(both)))
            feat = self.avgpool(self.to_score_f_slam(self.to_score_f(both))).flatten(1)
            return self.head(feat).flatten(), cmap

    return ICNet()


def load_icnet(path: str | Path | None, device: str = "cpu", flag: str = "--ic9600-weights "):
    """ICNet in eval mode on `device` with the weights of a local checkpoint file; `flag` is
    how the messages name the option that gives it."""
    torch = require_torch()
    if not path:
        raise UsageError(f"IC9600 complexity needs {WEIGHTS}: {flag}FILE (no download at run "
                         "time)")
    path = Path(path).expanduser()
    if not path.is_file():
        raise UsageError(f"{flag}{path}: no such file; expected {WEIGHTS}")
    net = build_icnet()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        state = {k.removeprefix("module."): v for k, v in state.items()}
        net.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - foreign or corrupt files: one line
        raise UsageError(f"{flag}{path}: not an IC9600 ICNet checkpoint "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
    return net.to(device).eval()


def prepare(rgb, torch=None):
    """HxWx3 uint8 -> (3, 512, 512) float tensor, resized and ImageNet-normalised."""
    from PIL import Image
    import numpy as np
    torch = torch or require_torch()
    img = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    arr = np.asarray(img.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR),
                     np.float32) / 255.0
    arr = (arr - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def complexity_scores(net, tensors: list, device: str) -> list[float]:
    """Scores in 0..1 for a batch of prepared tensors."""
    torch = require_torch()
    with torch.inference_mode():
        scores, _ = net(torch.stack(tensors).to(device))
    return [float(s) for s in scores.float().cpu()]


def tile_complexity(pieces: list, weights: str | Path, device: str = "cpu",
                    batch: int = 8) -> list[float]:
    """IC9600 complexity of image pieces (PIL images), in worker processes: the network is
    loaded once per worker; batches halve on out-of-memory."""
    from ..parallel import is_out_of_memory, resolve_device, worker_state
    device = resolve_device(device)
    net = worker_state(f"dataset_forge.icnet:{Path(weights).resolve()}:{device}",
                       lambda: load_icnet(weights, device))
    tensors = [prepare(p) for p in pieces]
    out: list[float] = []
    while len(out) < len(tensors):
        part = tensors[len(out):len(out) + batch]
        try:
            out += complexity_scores(net, part, device)
        except Exception as exc:  # noqa: BLE001
            if not is_out_of_memory(exc) or batch == 1:
                raise
            batch //= 2
    return out
