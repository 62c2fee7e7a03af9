"""Model work on the GPU core, side by side: upscale (fp32, fp16; two tile sizes), CLIP
embedding and the `score` metrics (NIQE, IC9600's ICNet, pyiqa's TOPIQ), in images/s, peak
device memory and CPU seconds of this process per image, on the GPU when there is one and on
the CPU.

    python benchmarks/bench_models.py [--images 16] [--size 256] [--cpu-only] [--skip-upscale]

Models are real architectures with random weights (no download): a RealESRGAN Compact x4
(num_feat 64, num_conv 32, the size of realesr-general-x4v3), open_clip ViT-B-32, ICNet and
pyiqa's topiq_nr (ResNet-50; only with the iqa extra). Speed does not depend on the weights'
values. NIQE is numpy on the CPU (in `score` it runs in the loader threads). One command, a few
minutes on a GPU (the CPU rows use fewer images).
"""
from __future__ import annotations

import argparse
import resource
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


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def in_batches(model, x, batch: int = 16):
    """A function that runs `model` over `x` in batches, without autograd."""
    def run():
        with torch.inference_mode():
            for i in range(0, len(x), batch):
                model(x[i:i + batch])
    return run


def timed(fn, n: int, device: str, rounds: int = 3):
    """(images/s median over rounds, peak MB, CPU seconds per image) of fn() scoring n images."""
    fn()                                                       # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, c0 = [], cpu_s()
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times), peak_mb(device), (cpu_s() - c0) / (rounds * n)


def bench_niqe(n: int, size: int):
    from dataset_forge.models.niqe import load_pristine, niqe
    model = load_pristine()
    greys = [np.random.default_rng(i).random((size, size)) * 255 for i in range(n)]
    return timed(lambda: [niqe(g, model) for g in greys], n, "cpu")


def bench_icnet(device: str, n: int):
    from dataset_forge.models.icnet import build_icnet
    net = build_icnet().to(device).eval()
    x = torch.rand(n, 3, 512, 512, device=device)
    return timed(in_batches(net, x), n, device)


def bench_topiq(device: str, n: int):
    from dataset_forge.models.pyiqa_metrics import offline, require_pyiqa
    pyiqa = require_pyiqa()
    with offline(checkpoint_holds_backbone=True):
        metric = pyiqa.create_metric("topiq_nr", device=device, pretrained=False,
                                     backbone_pretrain=False)
    x = torch.rand(n, 3, 384, 384, device=device)
    return timed(in_batches(metric, x), n, device)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--size", type=int, default=256, help="LQ image side")
    ap.add_argument("--cpu-only", action="store_true")
    ap.add_argument("--skip-upscale", action="store_true", help="score metrics and CLIP only")
    args = ap.parse_args()
    devices = ["cpu"] if args.cpu_only or not torch.cuda.is_available() else ["cuda", "cpu"]
    if devices == ["cpu"]:
        print("no GPU available: CPU rows only")
    with tempfile.TemporaryDirectory() as tmp:
        path = sr_model_file(Path(tmp))
        print(f"{'work':<34} {'device':<6} {'images/s':>9} {'peak MB':>9} {'CPU s/img':>9}")

        def row(label, device, result):
            ips, mb, cpu = result
            print(f"{label:<34} {device:<6} {ips:>9.2f} {mb:>9.0f} {cpu:>9.3f}", flush=True)

        for device in devices:
            n = args.images if device == "cuda" else max(2, args.images // 8)
            imgs = images(n, args.size)
            precisions = ["fp32", "fp16"] if device == "cuda" else ["fp32"]
            for precision in precisions:
                for tile in () if args.skip_upscale else (128, 256):
                    ips, mb = bench_upscale(path, device, precision, tile, imgs)
                    print(f"{f'upscale x4 {args.size}px {precision} tile {tile}':<34} "
                          f"{device:<6} {ips:>9.2f} {mb:>9.0f}")
            ips, mb = bench_clip(device, 256 if device == "cuda" else 32)
            print(f"{'CLIP ViT-B-32 embed 224px':<34} {device:<6} {ips:>9.1f} {mb:>9.0f}")
            row("score ic9600 (ICNet) 512px", device, bench_icnet(device, 64 if device == "cuda" else 2))
            try:
                row("score pyiqa:topiq_nr 384px", device,
                    bench_topiq(device, 64 if device == "cuda" else 2))
            except Exception as exc:  # noqa: BLE001 - the iqa extra is optional
                print(f"{'score pyiqa:topiq_nr 384px':<34} {device:<6} skipped: {exc}")
        row("score niqe 512px (numpy)", "cpu", bench_niqe(8, 512))


if __name__ == "__main__":
    main()
