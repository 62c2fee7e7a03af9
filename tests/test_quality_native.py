"""Native-resolution quality signals (issue 15): sharpness, upscaled sources, JPEG damage, and
no NaN on odd images; engine calls and the real CLI on small generated textured pictures."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from dataset_forge.analysis import loading, native, quality

FAST = ("--processing-type", "thread", "--workers", "2")


def textured(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like RGB picture: 1/f noise (detail at every scale) under a few hard-edged
    shapes, so it has both texture and edges down to the pixel."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    channels = []
    for _ in range(3):
        spectrum = (rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width)))
        field = np.fft.ifft2(spectrum / radius).real
        channels.append(field / field.std())
    mix = rng.uniform(0.5, 1.0, (3, 3))
    arr = 128 + 38 * np.tensordot(np.stack(channels, -1), mix, axes=([2], [1])) / 1.6
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(6):
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.08, 0.2) * min(width, height)
        inside = (np.abs(xx - x0) < r) & (np.abs(yy - y0) < r * 0.7) if rng.random() < 0.5 \
            else (xx - x0) ** 2 + (yy - y0) ** 2 < r * r
        arr[inside] = arr[inside] * 0.35 + rng.uniform(20, 235, 3) * 0.65
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def flat_art(width: int, height: int, seed: int = 0) -> Image.Image:
    """A flat-area graphic: smooth colour ramps under flat boxes, dark lines and text."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    ramps = np.stack([60 + 120 * xx / width, 90 + 100 * yy / height, 200 - 80 * xx / width], -1)
    im = Image.fromarray(ramps.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(5):
        x0, y0 = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        draw.rectangle([x0, y0, x0 + int(rng.integers(20, 80)), y0 + int(rng.integers(20, 60))],
                       fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    for _ in range(6):
        draw.line([tuple(int(v) for v in rng.integers(0, width, 2)),
                   tuple(int(v) for v in rng.integers(0, height, 2))], fill=(20, 20, 20), width=2)
    draw.text((10, 10), "Dataset Forge quality", fill=(0, 0, 0))
    return im


def screenshot(width: int, height: int, seed: int = 0) -> Image.Image:
    """A flat application window: toolbar, sidebar, buttons and lines of text, no gradients
    (where a quality-10 JPEG shows no block grid, only ringing around the text)."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), (242, 242, 240))
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, width, 27], fill=(214, 220, 228))
    draw.rectangle([0, 28, 71, height], fill=(228, 231, 235))
    draw.line([72, 28, 72, height], fill=(170, 174, 180))
    for i, x in enumerate(range(6, width - 60, 70)):
        draw.rectangle([x, 5, x + 58, 22], fill=(70, 110, 170) if i == 0 else (200, 204, 210),
                       outline=(120, 126, 134))
        draw.text((x + 6, 8), "Save" if i == 0 else f"Item {i}",
                  fill=(248, 248, 248) if i == 0 else (30, 34, 40))
    for y in range(36, height - 10, 14):
        words = "".join(chr(c) for c in rng.integers(97, 123, int(rng.integers(20, 40))))
        draw.text((6, y), f"node {y}", fill=(50, 54, 60))
        draw.text((82, y), f"{words} = {int(rng.integers(0, 9999))};", fill=(40, 44, 52))
    return im


def document(width: int, height: int, seed: int = 0) -> Image.Image:
    """Black text on white: a quality-10 JPEG's ringing is clipped at 0 and 255 in every
    block with text."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for y in range(8, height - 12, 13):
        words = (("".join(chr(c) for c in rng.integers(97, 123, int(rng.integers(2, 9)))))
                 for _ in range(8))
        draw.text((8, y), " ".join(words), fill=(0, 0, 0))
    return im


def layout_diagram(width: int, height: int) -> Image.Image:
    """Clean line art on an 8-pixel layout: black-outlined boxes on white, black text, and a
    title bar whose gradient repeats one 8 x 8 block along its width (a block that happens
    to sit on the quality-30 lattice, as one in ten such ramps do: it must count once)."""
    im = Image.new("RGB", (width, height), (255, 255, 255))
    ramp = np.array([180, 181, 181, 182, 183, 185, 187, 187], np.uint8)[:, None, None]
    im.paste(Image.fromarray(np.repeat(np.repeat(ramp, width, 1), 3, 2), "RGB"), (0, 8))
    draw = ImageDraw.Draw(im)
    for row, y in enumerate(range(32, height - 40, 48)):
        for x in range(16, width - 80, 96):
            draw.rectangle([x, y, x + 79, y + 31], outline=(0, 0, 0), fill=(255, 255, 204))
            draw.text((x + 6, y + 10), f"class{row}{x}", fill=(0, 0, 0))
            draw.line([x + 80, y + 16, x + 95, y + 16], fill=(0, 0, 0))
    return im


def scores(path: Path) -> dict:
    return quality.measure(path)


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    return {r["path"]: r for r in csv.DictReader(open(path))}


def test_sharpness_falls_strictly_with_blur_for_images_and_tiles(tmp_path):
    base = textured(512, 384, seed=1)  # larger than 8 tiles: measured on content-chosen tiles
    sigmas = (0, 0.5, 1, 1.5, 2, 3, 5, 8)
    whole, tiles = [], {(0, 0): [], (192, 96): [], (400, 288): []}
    for sigma in sigmas:
        pic = base.filter(ImageFilter.GaussianBlur(sigma)) if sigma else base
        pic.save(tmp_path / f"blur_{sigma}.png")
        whole.append(scores(tmp_path / f"blur_{sigma}.png")["sharpness"])
        for x, y in tiles:
            name = tmp_path / f"tile_{x}_{y}_{sigma}.png"
            pic.crop((x, y, x + 96, y + 96)).save(name)
            tiles[(x, y)].append(scores(name)["sharpness"])
    for series in [whole, *tiles.values()]:
        assert all(a > b for a, b in zip(series, series[1:])), series
    limit = quality.CHECKS_BY_NAME["blurry"].threshold
    assert whole[1] > 0.8 > limit > whole[5]  # sigma 0.5 sharp, sigma 3 blurry
    blur_px = [scores(tmp_path / f"blur_{s}.png")["blur_px"] for s in (2, 5)]
    assert 1.0 < blur_px[0] < 3.0 and 3.5 < blur_px[1] < 7.0  # close to the sigma applied


def test_upscaled_copies_get_their_factor_and_originals_none(run_cli, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    expected = {}
    for seed in range(2):
        original = textured(360, 288, seed=10 + seed)
        original.save(folder / f"orig_{seed}.png")
        expected[f"orig_{seed}.png"] = 1
        for factor in (2, 3):
            small = original.resize((360 // factor, 288 // factor), Image.Resampling.LANCZOS)
            for kernel in (Image.Resampling.BICUBIC, Image.Resampling.LANCZOS):
                name = f"up{factor}_{kernel.name.lower()}_{seed}.png"
                small.resize((360, 288), kernel).save(folder / name)
                expected[name] = factor
    result = run_cli("--action", "quality", "--input", folder, "--report-dir", tmp_path / "r",
                     *FAST, "--json")
    assert result.returncode == 0, result
    rows = read_csv(tmp_path / "r" / "quality.csv")
    assert {n: int(r["upscale_factor"]) for n, r in rows.items()} == expected
    assert {n for n, r in rows.items() if "upscaled" in r["flags"].split()} == \
        {n for n, f in expected.items() if f > 1}
    findings = {(f["kind"], f["path"], f["score"]) for f in result.json()["findings"]}
    assert ("upscaled", "up3_lanczos_0.png", 3) in findings


def _jpeg_as_png(im: Image.Image, quality_: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality_)
    return Image.open(buf).convert("RGB")


def test_jpeg_damage_is_caught_from_pixels_even_stored_as_png(tmp_path):
    base = textured(320, 256, seed=3)
    base.save(tmp_path / "clean.png")
    damaged = _jpeg_as_png(base, 10)
    damaged.save(tmp_path / "damaged.png")
    damaged.crop((3, 5, 320, 256)).save(tmp_path / "damaged_cropped.png")  # grid off phase
    base.save(tmp_path / "fine.jpg", quality=95)
    art = flat_art(320, 256, seed=1)  # flat areas and lines: the blocks show in the ramps
    art.save(tmp_path / "art.png")
    _jpeg_as_png(art, 90).save(tmp_path / "art_q90.png")
    _jpeg_as_png(art, 10).save(tmp_path / "art_q10.png")
    limits = {"blocky": quality.CHECKS_BY_NAME["blocky"].threshold}
    flags = {p.name: quality.assess(p, limits).flags for p in sorted(tmp_path.iterdir())}
    assert flags == {"clean.png": [], "damaged.png": ["blocky"],
                     "damaged_cropped.png": ["blocky"], "fine.jpg": [], "art.png": [],
                     "art_q90.png": [], "art_q10.png": ["blocky"]}
    assert quality.measure(tmp_path / "damaged.png")["jpeg_quality"] is None  # tables gone


def test_jpeg_damage_on_a_flat_screenshot_is_caught_and_clean_graphics_are_not(run_cli,
                                                                               tmp_path):
    # a quality-10 JPEG of a flat window shows no block grid (flat blocks stay flat); its
    # text blocks' DCT coefficients sit on the quantisation lattice, the original's do not
    folder = tmp_path / "set"
    folder.mkdir()
    for seed in range(2):
        shot = screenshot(320, 240, seed=seed)
        shot.save(folder / f"shot_{seed}.png")
        _jpeg_as_png(shot, 90).save(folder / f"shot_{seed}_q90.png")
        _jpeg_as_png(shot, 10).save(folder / f"shot_{seed}_q10.png")
    _jpeg_as_png(screenshot(320, 240, seed=2), 10).crop((5, 3, 320, 240)).save(
        folder / "shot_q10_cropped.png")                                # grid off phase
    doc = document(320, 240, seed=3)           # clipped blocks: filled in by projections
    doc.save(folder / "doc.png")
    _jpeg_as_png(doc, 90).save(folder / "doc_q90.png")
    _jpeg_as_png(doc, 10).save(folder / "doc_q10.png")
    layout_diagram(400, 240).save(folder / "diagram.png")
    _jpeg_as_png(layout_diagram(400, 240), 90).save(folder / "diagram_q90.png")
    result = run_cli("--action", "quality", "--input", folder, "--report-dir", tmp_path / "r",
                     "--checks", "blocky", *FAST, "--json")
    assert result.returncode == 0, result
    rows = read_csv(tmp_path / "r" / "quality.csv")
    assert {n for n, r in rows.items() if r["flags"] == "blocky"} == \
        {"shot_0_q10.png", "shot_1_q10.png", "shot_q10_cropped.png", "doc_q10.png"}
    limit = quality.CHECKS_BY_NAME["blocky"].threshold
    assert all(float(r["blockiness"]) < limit - 0.25 for n, r in rows.items()
               if "q10" not in n)                                      # clearly clean
    assert all(float(r["blockiness"]) > limit + 0.25 for n, r in rows.items() if "q10" in n)


def _odd_images(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pic = textured(96, 80, seed=4)
    grey16 = (np.asarray(pic.convert("L"), dtype=np.uint16) * 257)
    made = {
        "one_pixel.png": Image.new("RGB", (1, 1), (200, 10, 10)),
        "tiny.png": pic.resize((5, 3)),
        "strip.jpg": pic.resize((256, 6)),
        "flat.png": Image.new("RGB", (120, 90), (90, 120, 200)),
        "flat_grey16.png": Image.fromarray(np.full((64, 64), 30000, np.uint16)),
        "grey16.png": Image.fromarray(grey16),
        "palette.png": pic.convert("P", palette=Image.Palette.ADAPTIVE, colors=16),
        "grey_alpha.png": pic.convert("LA"),
        "rgba.webp": pic.convert("RGBA"),
    }
    for name, im in made.items():
        im.save(folder / name)
    return {n: folder / n for n in made}


def test_no_nan_and_not_measurable_on_tiny_flat_and_odd_modes(run_cli, tmp_path):
    paths = _odd_images(tmp_path / "odd")
    for name, path in paths.items():
        row = quality.measure(path)
        for key, value in row.items():
            assert not (isinstance(value, float) and (math.isnan(value) or math.isinf(value))), \
                (name, key, value)
        assert 0.0 <= row["entropy"] <= 1.0 and str(row["entropy"]) != "-0.0"
    for name in ("one_pixel.png", "tiny.png", "flat.png", "flat_grey16.png"):
        row = quality.measure(paths[name])
        assert row["sharpness"] is None and "sharpness" in row["unmeasured"].split(), name
        assert "blurry" not in quality.assess(paths[name]).flags
    assert quality.measure(paths["grey16.png"])["sharpness"] > 0.5  # 16-bit read, not clipped
    result = run_cli("--action", "quality", "--input", tmp_path / "odd",
                     "--report-dir", tmp_path / "r", *FAST, "--json")
    assert result.returncode == 0, result
    rows = read_csv(tmp_path / "r" / "quality.csv")
    cells = {c.lower() for r in rows.values() for c in r.values()}
    assert not cells & {"nan", "inf", "-inf", "-0.0"}
    assert rows["flat.png"]["unmeasured"] == "sharpness upscale_factor blockiness"
    assert result.json()["summary"]["not_measurable"] >= 4


@pytest.mark.parametrize("mode, ext", [("RGB", "jpg"), ("RGB", "png"), ("RGBA", "png"),
                                       ("L", "png"), ("LA", "png"), ("RGB", "webp")])
def test_one_full_decode_matches_pillow_for_every_decoder(tmp_path, mode, ext):
    pic = textured(90, 70, seed=5).convert(mode)
    if mode in ("RGBA", "LA"):
        alpha = Image.linear_gradient("L").resize(pic.size)
        pic.putalpha(alpha)
    path = tmp_path / f"pic.{ext}"
    pic.save(path, **({"quality": 95} if ext in ("jpg", "webp") else {}))
    full = loading.load_native(path, max_side=32)
    reference = np.asarray(loading.load_small(path, max_side=None).rgb, dtype=np.int16)
    assert full.pixels.shape == reference.shape == (70, 90, 3)
    assert np.abs(full.pixels.astype(np.int16) - reference).mean() < 1.0
    assert max(full.rgb.size) == 32 and full.mode == mode
    expected = "vips" if loading.pyvips is not None else "pillow"
    assert full.decoder == expected


def test_exif_rotated_jpeg_is_decoded_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees clockwise
    textured(80, 48, seed=6).save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    full = loading.load_native(tmp_path / "rot.jpg")
    assert full.pixels.shape == (80, 48, 3) and (full.width, full.height) == (80, 48)


def test_near_flat_regions_are_not_measurable_rather_than_sharp(tmp_path):
    # a faint ramp: 8-bit rounding leaves one-level steps that read as sharp edges
    ramp = np.tile(np.linspace(100, 130, 192, dtype=np.float32), (192, 1))
    Image.fromarray(np.round(ramp).astype(np.uint8)).save(tmp_path / "faint.png")
    row = scores(tmp_path / "faint.png")
    assert row["sharpness"] is None and row["upscale_factor"] is None
    assert "blurry" not in quality.assess(tmp_path / "faint.png").flags
    # a picture whose corner is near-flat: measured on its busy tiles, falls strictly with blur
    pic = np.asarray(textured(512, 384, seed=12)).copy()
    pic[:, :256] = np.round(np.linspace(90, 96, 256))[None, :, None]
    series = []
    for sigma in (0, 1, 2, 4, 8):
        im = Image.fromarray(pic)
        (im.filter(ImageFilter.GaussianBlur(sigma)) if sigma else im).save(tmp_path / "half.png")
        series.append(scores(tmp_path / "half.png")["sharpness"])
    assert all(a > b for a, b in zip(series, series[1:])), series


def test_tiles_are_chosen_by_content_not_flat_sky():
    sky = np.full((1024, 1024, 3), 180, np.uint8)
    sky[768:, 512:] = np.asarray(textured(512, 256, seed=7))
    small = loading.reduce_to(sky, 256)
    tiles = native.choose_tiles(sky, native.luma_of(np.asarray(small)), count=4)
    assert all(t.y >= 768 - native.ALIGN and t.x >= 512 - native.ALIGN for t in tiles)
    assert all(t.x % native.ALIGN == 0 and t.y % native.ALIGN == 0 for t in tiles)


def test_report_marks_thresholds_and_shows_full_res_crops(run_cli, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    base = textured(320, 256, seed=8)
    base.save(folder / "sharp.png")
    base.filter(ImageFilter.GaussianBlur(4)).save(folder / "soft.png")
    result = run_cli("--action", "quality", "--input", folder, "--report-dir", tmp_path / "r",
                     *FAST, "--json")
    assert result.returncode == 0, result
    html = Path(result.json()["files"]["html"]).read_text()
    assert html.count('class="mark"') == len(quality.CHECKS)  # one dashed line per threshold
    assert "blurry: 1 image(s)" in html
    assert html.count('class="crop"') >= 1 and "data:image/png" in html


def test_validate_and_quality_flag_with_the_same_signals(run_cli, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for seed in range(3):
        textured(256, 192, seed=20 + seed).save(folder / f"ok_{seed}.png")
    pic = textured(256, 192, seed=30)
    pic.resize((128, 96), Image.Resampling.LANCZOS).resize((256, 192), Image.Resampling.BICUBIC
                                                           ).save(folder / "fake_hd.png")
    pic.filter(ImageFilter.GaussianBlur(5)).save(folder / "blurred.png")
    validate = run_cli("--action", "validate", "--input", folder,
                       "--report-dir", tmp_path / "v", *FAST, "--json")
    assert validate.returncode == 0, validate
    step = next(f for f in validate.json()["findings"] if f["step"] == "quality")
    assert step["status"] == "warn"
    assert step["counts"] == {"blurry": 1, "upscaled": 1}
    page = Path(validate.json()["files"]["html"]).read_text()
    assert page.count('class="crop"') == 2  # the same full-resolution crops as `quality`
    quality_run = run_cli("--action", "quality", "--input", folder,
                          "--report-dir", tmp_path / "q", *FAST, "--json")
    found = {(f["kind"], f["path"]) for f in quality_run.json()["findings"]}
    # a heavy Gaussian blur leaves no fine detail either: called blurry, not also upscaled
    assert found == {("blurry", "blurred.png"), ("upscaled", "fake_hd.png")}
