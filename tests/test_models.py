"""Super-resolution models: real spandrel architectures with random or chosen weights, saved to
files by the test; tiled inference against whole-image inference; out-of-memory back-off; the
`upscale` action through the real CLI."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from dataset_forge.dedup.torch_compat import import_torchvision  # noqa: E402

import_torchvision()
spandrel = pytest.importorskip("spandrel")

from dataset_forge.models.sr import load_sr_model  # noqa: E402
from dataset_forge.models.tiling import plan_tiles, upscale_tiled  # noqa: E402


def compact_file(path: Path, scale: int = 2, zero: bool = False, seed: int = 0) -> Path:
    """A RealESRGAN Compact network (SRVGGNetCompact); with zero weights it is exactly a
    nearest-neighbour upscale (its output adds the nearest-upscaled input)."""
    from spandrel.architectures.Compact import Compact
    torch.manual_seed(seed)
    net = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=scale)
    state = net.state_dict()
    if zero:
        state = {k: torch.zeros_like(v) for k, v in state.items()}
    torch.save(state, path)
    return path


def span_file(path: Path) -> Path:
    from safetensors.torch import save_file
    from spandrel.architectures.SPAN import SPAN
    torch.manual_seed(1)
    net = SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=3)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def test_architecture_scale_and_channels_are_detected(tmp_path):
    compact = load_sr_model(compact_file(tmp_path / "c.pth", scale=4))
    assert compact.facts["architecture"] == "RealESRGAN Compact"
    assert (compact.scale, compact.channels, compact.device) == (4, 3, "cpu")
    assert compact.facts["precision"] == "float32"          # CPU fallback: full precision
    span = load_sr_model(span_file(tmp_path / "s.safetensors"))
    assert (span.facts["architecture"], span.scale) == ("SPAN", 3)


def test_tiled_equals_whole_image(tmp_path, make_image):
    model = load_sr_model(compact_file(tmp_path / "c.pth"))
    image = np.asarray(Image.open(make_image(tmp_path / "a.png", size=(100, 76))),
                       np.float32) / 255
    assert len(plan_tiles(76, 100, 40, 16).xs) > 2          # several tiles, a shifted last one
    whole = model.run_tiles(image.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    tiled = model.upscale([image], tile=40, overlap=16)[0]
    assert tiled.shape == (152, 200, 3)
    assert np.abs(tiled - whole).max() < 1e-4


def test_out_of_memory_halves_the_tile(tmp_path, make_image):
    model = load_sr_model(compact_file(tmp_path / "c.pth"))
    image = np.asarray(Image.open(make_image(tmp_path / "a.png", size=(96, 80))),
                       np.float32) / 255
    seen = []

    def small_device(tiles):          # a device that holds at most 40x40 input pixels
        seen.append(tiles.shape[2:])
        if tiles.shape[2] * tiles.shape[3] > 40 * 40:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return model.run_tiles(tiles)

    out = upscale_tiled(small_device, image, scale=2, tile=128, overlap=16)
    assert seen[0] == (80, 96) and max(h * w for h, w in seen[-3:]) <= 40 * 40
    whole = model.run_tiles(image.transpose(2, 0, 1)[None])[0].transpose(1, 2, 0)
    assert np.abs(out - whole).max() < 1e-4
    with pytest.raises(RuntimeError, match="out of memory"):
        upscale_tiled(small_device, image, scale=2, tile=128, overlap=16, min_tile=64)


def test_upscale_pairs_scores_psnr_against_hq(tmp_path, make_image, run_cli):
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    for i in range(3):
        big = Image.open(make_image(hq / f"p{i}.png", size=(64, 48), seed=i))
        lq.mkdir(exist_ok=True)
        big.resize((32, 24), Image.Resampling.BICUBIC).save(lq / f"p{i}.png")
    model = compact_file(tmp_path / "nearest.pth", zero=True)
    out = tmp_path / "out"
    r = run_cli("--action", "upscale", "--hq", hq, "--lq", lq, "--output", out, "--model", model,
                "--json")
    assert r.returncode == 0, r
    summary = r.json()["summary"]
    assert summary["architecture"] == "RealESRGAN Compact" and summary["scale"] == 2
    rows = {row["input"]: row for row in csv.DictReader(open(out / "upscale.csv"))}
    for i in range(3):
        up = np.asarray(Image.open(out / f"p{i}.png"))
        near = np.asarray(Image.open(lq / f"p{i}.png").resize((64, 48), Image.Resampling.NEAREST))
        assert np.array_equal(up, near), "zero weights = nearest upscale, written as it is"
        ref = np.asarray(Image.open(hq / f"p{i}.png")).astype(float)
        expected = 10 * np.log10(255 ** 2 / np.mean((near.astype(float) - ref) ** 2))
        assert float(rows[f"p{i}"]["psnr"]) == pytest.approx(expected, abs=1e-2)
    again = run_cli("--action", "upscale", "--hq", hq, "--lq", lq, "--output", out,
                    "--model", model, "--json")
    assert again.json()["summary"]["skipped_already_done"] == 3


def test_alpha_is_carried_and_grey_stays_grey(tmp_path, make_image, run_cli):
    src = tmp_path / "in"
    make_image(src / "rgba.png", size=(40, 30), mode="RGBA")
    make_image(src / "grey.png", size=(40, 30), mode="L")
    out = tmp_path / "out"
    r = run_cli("--action", "upscale", "--input", src, "--output", out, "--model",
                compact_file(tmp_path / "c.pth"), "--tile", "16", "--overlap", "4")
    assert r.returncode == 0, r
    report = json.loads((out / "upscale_report.json").read_text())
    assert report["summary"]["tile"] == 16 and report["summary"]["done_now"] == 2
    rgba, grey = Image.open(out / "rgba.png"), Image.open(out / "grey.png")
    assert (rgba.mode, rgba.size) == ("RGBA", (80, 60))
    assert (grey.mode, grey.size) == ("L", (80, 60))


def test_unloadable_model_is_one_line(tmp_path, make_image, run_cli):
    make_image(tmp_path / "in" / "a.png")
    bad = tmp_path / "bad.pth"
    torch.save({"not": torch.zeros(3)}, bad)
    r = run_cli("--action", "upscale", "--input", tmp_path / "in", "--output", tmp_path / "o",
                "--model", bad)
    assert r.returncode == 2 and "--model" in r.stderr and "Traceback" not in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_extra_names_what_to_install(tmp_path, make_image, run_cli):
    make_image(tmp_path / "in" / "a.png")
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "spandrel.py").write_text("raise ImportError('No module named spandrel')\n")
    import os
    r = run_cli("--action", "upscale", "--input", tmp_path / "in", "--output", tmp_path / "o",
                "--model", compact_file(tmp_path / "c.pth"),
                env={"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])})
    assert r.returncode == 2 and "pip install 'dataset-forge[models]'" in r.stderr, r
