"""Model work on the GPU core, side by side: upscale (fp32, fp16; two tile sizes) and CLIP
embedding, in images/s and peak device memory, on the GPU when there is one and on the CPU.

    python benchmarks/bench_models.py [--images 16] [--size 256] [--cpu-only]

Models are real architectures with random weights (no download): a RealESRGAN Compact x4
(num_feat 64, num_conv 32, the size of realesr-general-x4v3) and open_clip ViT-B-32. Speed does
not depend on the weights' values. One command, a few minutes on a GPU (the CPU rows use fewer
images).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset_forge.dedup.torch_compat import import_torchvision  # noqa: E402

import_torchvision()
import torch  # noqa: E402

from dataset_forge.models.sr import load_sr_model  # noqa: E402


def sr_model_file(folder: Path) -> Path:
    from spandrel.architectures.Compact import Compact
    torch.manual_seed(0)
    net = Compact(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=32, upscale=4)
    path = folder / "compact_x4.pth"
    torch.save(net.state_dict(), path)
    return path


def images(n: int, size: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((size, size, 3), dtype=np.float32) for _ in range(n)]


def peak_mb(device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")


def bench_upscale(path: Path, device: str, precision: str, tile: int, imgs, rounds: int = 3):
    model = load_sr_model(path, device=device, precision=precision)
    model.upscale(imgs[:1], tile=tile)                      # warm-up (kernels, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        model.upscale(imgs, tile=tile)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return len(imgs) / statistics.median(times), peak_mb(device)


def bench_clip(device: str, n: int, rounds: int = 3):
    import open_clip
    model, _, _ = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model = model.to(device).eval()
    x = torch.rand(n, 3, 224, 224, device=device)
    with torch.inference_mode():
        model.encode_image(x[:2])
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for i in range(0, n, 64):
                model.encode_image(x[i:i + 64])
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return n / statistics.median(times), peak_mb(device)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--size", type=int, default=256, help="LQ image side")
    ap.add_argument("--cpu-only", action="store_true")
    args = ap.parse_args()
    devices = ["cpu"] if args.cpu_only or not torch.cuda.is_available() else ["cuda", "cpu"]
    if devices == ["cpu"]:
        print("no GPU available: CPU rows only")
    with tempfile.TemporaryDirectory() as tmp:
        path = sr_model_file(Path(tmp))
        print(f"{'work':<34} {'device':<6} {'images/s':>9} {'peak MB':>9}")
        for device in devices:
            n = args.images if device == "cuda" else max(2, args.images // 8)
            imgs = images(n, args.size)
            precisions = ["fp32", "fp16"] if device == "cuda" else ["fp32"]
            for precision in precisions:
                for tile in (128, 256):
                    ips, mb = bench_upscale(path, device, precision, tile, imgs)
                    print(f"{f'upscale x4 {args.size}px {precision} tile {tile}':<34} "
                          f"{device:<6} {ips:>9.2f} {mb:>9.0f}")
            ips, mb = bench_clip(device, 256 if device == "cuda" else 32)
            print(f"{'CLIP ViT-B-32 embed 224px':<34} {device:<6} {ips:>9.1f} {mb:>9.0f}")


if __name__ == "__main__":
    main()
