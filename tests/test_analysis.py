"""Analysis measuring code on generated images with known properties (no subprocess)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from conftest import DEMO, photo_like
from dataset_forge.analysis import header, integrity, pairs, quality
from dataset_forge.io.discover import discover
from dataset_forge.io.sniff import extension_mismatch, sniff_format

MODES = {  # mode -> a format that stores it
    "1": "png", "L": "png", "LA": "png", "P": "png", "PA": "tif", "RGB": "png", "RGBA": "png",
    "CMYK": "tif", "I;16": "png", "I": "tif", "F": "tif", "YCbCr": "tif", "LAB": "tif",
}
DEFAULTS = {c.name: c.threshold for c in quality.CHECKS}


def save_mode(folder: Path, mode: str, size=(300, 200)) -> Path:
    rgb = Image.fromarray(photo_like(*size, seed=len(mode)))
    if mode in ("I;16", "I", "F"):
        grey = np.asarray(rgb.convert("L"), dtype=np.int32) * 200
        im = Image.fromarray(grey.astype(np.float32) if mode == "F" else grey.astype(np.int32)
                             ).convert(mode if mode != "F" else "F")
    else:
        im = rgb.convert(mode)
    path = folder / f"{mode.replace(';', '_')}.{MODES[mode]}"
    im.save(path)
    return path


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_reads_checks_and_scores(tmp_path, mode):
    path = save_mode(tmp_path, mode)
    facts = header.read_header(path, deep=True)
    assert (facts["mode"], facts["width"], facts["height"]) == (mode, 300, 200)
    assert facts["bits"] == {"1": 1, "I;16": 16, "I": 32, "F": 32}.get(mode, 8)
    assert facts["has_alpha"] == (mode in ("LA", "PA", "RGBA"))
    assert integrity.check_file(path, deep=True)["status"] == "ok"
    scores = quality.measure(path, size=64)   # 300 px > 64: the reduced decode path
    assert 0.0 <= scores["brightness"] <= 1.0 and 0.0 <= scores["entropy"] <= 1.0
    if mode in header.GREY_MODES:
        assert scores["colourfulness"] == 0.0


def test_alpha_used_needs_pixels(tmp_path):
    opaque = Image.new("RGBA", (20, 20), (1, 2, 3, 255))
    opaque.save(tmp_path / "opaque.png")
    opaque.putpixel((19, 19), (1, 2, 3, 254))
    opaque.save(tmp_path / "one_pixel.png")
    assert header.read_header(tmp_path / "opaque.png")["alpha_used"] is None  # header only
    assert header.read_header(tmp_path / "opaque.png", deep=True)["alpha_used"] is False
    assert header.read_header(tmp_path / "one_pixel.png", deep=True)["alpha_used"] is True


def test_header_reads_icc_exif_orientation_frames_and_bit_depth(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (30, 20)).save(tmp_path / "rot.jpg", exif=exif.tobytes(),
                                    icc_profile=b"\0" * 128)
    frames = [Image.new("L", (10, 10), 80 * i) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    four_colours = Image.new("P", (10, 10))
    four_colours.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    four_colours.save(tmp_path / "two_bit.png", bits=2)
    rot = header.read_header(tmp_path / "rot.jpg")
    assert rot["exif_orientation"] == 6 and rot["icc_profile"] is True
    assert header.read_header(tmp_path / "anim.gif")["frames"] == 3
    assert header.read_header(tmp_path / "two_bit.png")["bits"] == 2


def test_sniffing_finds_renamed_and_fake_images(tmp_path, make_image):
    make_image(tmp_path / "real.png")
    make_image(tmp_path / "png_named.jpg", format="PNG")
    make_image(tmp_path / "jpeg_named.dat", format="JPEG")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_text("not a jpeg")
    assert sniff_format(tmp_path / "png_named.jpg") == "PNG"
    assert sniff_format(tmp_path / "fake.jpg") is None
    assert extension_mismatch(tmp_path / "png_named.jpg", "PNG")
    assert not extension_mismatch(tmp_path / "real.png", "PNG")
    found = discover(tmp_path)
    assert sorted(p.name for p in found.images) == ["fake.jpg", "jpeg_named.dat",
                                                      "png_named.jpg", "real.png"]
    assert [(p.name, f) for p, f in found.renamed] == [("jpeg_named.dat", "JPEG")]
    assert found.other_files == 1


def test_integrity_statuses(tmp_path, make_image):
    good = make_image(tmp_path / "good.jpg", size=(120, 90), quality=90)
    data = good.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("plain text")
    make_image(tmp_path / "bomb.png", size=(300, 200))
    png = make_image(tmp_path / "cut.png", size=(120, 90)).read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "tail.jpg").write_bytes(data + b"\0" * 8000)  # extra bytes after the end marker
    status = {p.name: integrity.check_file(p, max_pixels=20_000)["status"]
              for p in sorted(tmp_path.iterdir())}
    assert status == {"bomb.png": "bomb", "cut.jpg": "truncated", "cut.png": "truncated",
                      "good.jpg": "ok", "tail.jpg": "ok", "text.jpg": "not_image",
                      "zero.png": "empty"}
    deep = integrity.check_file(tmp_path / "cut.jpg", deep=True)
    assert deep["status"] == "truncated" and "truncated" in deep["message"]


def _flags(paths: list[Path], thresholds=DEFAULTS) -> dict[str, list[str]]:
    rows = []
    for p in paths:
        rows.append({"path": p.name, **quality.measure(p)})
    quality.add_outlier_scores(rows)
    return {r["path"]: quality.flags_for(r, thresholds) for r in rows}


def test_quality_flags_generated_faults(tmp_path):
    base = Image.fromarray(photo_like(160, 120, seed=5))
    base.save(tmp_path / "clean.png")
    Image.fromarray((np.asarray(base) * 0.12).astype(np.uint8)).save(tmp_path / "dark.png")
    Image.fromarray(np.clip(np.asarray(base, dtype=np.int32) // 8 + 230, 0, 255)
                    .astype(np.uint8)).save(tmp_path / "light.png")
    base.filter(ImageFilter.GaussianBlur(3)).save(tmp_path / "blurred.png")
    base.convert("L").convert("RGB").save(tmp_path / "grey_rgb.jpg", quality=95)
    Image.new("RGB", (160, 120), (90, 120, 200)).save(tmp_path / "flat.png")
    base.save(tmp_path / "blocky.jpg", quality=15)
    base.resize((640, 120)).save(tmp_path / "wide.png")
    for i in range(6):  # a dataset of normal-sized images for the IQR checks
        Image.fromarray(photo_like(160, 120, seed=20 + i)).save(tmp_path / f"n{i}.png")
    flags = _flags(sorted(tmp_path.iterdir()))
    assert flags["clean.png"] == [] and all(flags[f"n{i}.png"] == [] for i in range(6))
    assert flags["dark.png"] == ["dark"]
    assert flags["light.png"] == ["light"]
    assert flags["blurred.png"] == ["blurry"]
    assert flags["grey_rgb.jpg"] == ["grayscale"]
    assert flags["flat.png"] == ["low_information"]
    assert flags["blocky.jpg"] == ["blocky"]
    assert set(flags["wide.png"]) == {"odd_size", "odd_aspect_ratio"}
    stricter = {**DEFAULTS, "dark": 0.8}  # thresholds are the user's
    assert "dark" in _flags([tmp_path / "clean.png"], stricter)["clean.png"]


def test_quality_finds_exactly_the_demo_faults():
    manifest = json.loads((DEMO / "manifest.json").read_text())
    expected = {}
    for kind, files in manifest["expected"]["quality_flags"].items():
        for name in files:
            expected[name] = ["grayscale" if kind == "grayscale_as_rgb" else kind]
    flags = _flags(sorted((DEMO / "hq").iterdir()))
    found = {f"hq/{name}": f for name, f in flags.items() if f}
    assert found == expected


def test_jpeg_quality_estimate(tmp_path):
    base = Image.fromarray(photo_like(64, 64))
    for q in (30, 50, 75, 95):
        base.save(tmp_path / f"{q}.jpg", quality=q)
        estimate = quality.jpeg_quality(Image.open(tmp_path / f"{q}.jpg").quantization)
        assert abs(estimate - q) <= 2


def test_scale_classification():
    def row(hw, hh, lw, lh):
        return {"hq_width": hw, "hq_height": hh, "lq_width": lw, "lq_height": lh,
                "scale_w": hw / lw, "scale_h": hh / lh}
    rows = [row(256, 192, 64, 48)] * 3 + [row(256, 192, 128, 96), row(256, 192, 63, 48),
                                          row(256, 192, 100, 96), row(256, 192, 85, 64)]
    scale = pairs.dominant_scale(rows)
    assert scale == 4
    assert [pairs.classify(r, scale) for r in rows[2:]] == [
        "ok", "other_scale", "off_by_pixels", "anisotropic", "non_integer"]
    assert pairs.classify(row(64, 48, 128, 96), scale) == "lq_not_smaller"
    assert pairs.dominant_scale([]) is None


def test_alignment_sees_shift_and_other_pictures(tmp_path):
    big = Image.fromarray(photo_like(288, 224, seed=3))
    hq = big.crop((16, 16, 272, 208))
    hq.save(tmp_path / "hq.png")
    hq.resize((64, 48), Image.Resampling.BICUBIC).save(tmp_path / "same.png")
    big.crop((32, 16, 288, 208)).resize((64, 48), Image.Resampling.BICUBIC).save(
        tmp_path / "shifted.png")
    Image.fromarray(photo_like(64, 48, seed=9)).save(tmp_path / "other.png")
    same = pairs.alignment(tmp_path / "hq.png", tmp_path / "same.png")
    shifted = pairs.alignment(tmp_path / "hq.png", tmp_path / "shifted.png")
    other = pairs.alignment(tmp_path / "hq.png", tmp_path / "other.png")
    assert same["ssim"] > 0.95 and (same["shift_x"], same["shift_y"]) == (0, 0)
    assert (shifted["shift_x"], shifted["shift_y"]) == (-4, 0)
    assert other["ssim"] < 0.6
    assert pairs.is_aligned({**same}, 0.6, 0.5) and not pairs.is_aligned(shifted, 0.6, 0.5)


def test_no_phantom_shift_when_lq_noise_swamps_faint_content(tmp_path):
    """A faint picture whose LQ carries degradation noise: phase correlation's peak is noise
    there (found on real make-lq outputs), so an aligned pair must not report a shift."""
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    faint = np.stack([200 + 3 * x / 640, 200 + 3 * y / 480, np.full_like(x, 201)], -1)
    hq = Image.fromarray(faint.astype(np.uint8))
    hq.save(tmp_path / "hq.png")
    small = np.asarray(hq.resize((160, 120), Image.Resampling.BICUBIC)).astype(np.float32)
    for seed in range(4):
        noisy = small + np.random.default_rng(seed).normal(0, 2, small.shape)
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(tmp_path / "lq.png")
        row = pairs.alignment(tmp_path / "hq.png", tmp_path / "lq.png")
        assert (row["shift_x"], row["shift_y"]) == (0, 0), (seed, row)


def test_reduced_reads_and_alignment_honour_exif_orientation(tmp_path):
    from dataset_forge.analysis.loading import load_small
    upright = Image.fromarray(photo_like(192, 256, seed=4))      # portrait as the camera saw it
    stored = upright.transpose(Image.Transpose.ROTATE_90)        # sensor order: landscape
    exif = Image.Exif()
    exif[header.EXIF_ORIENTATION] = 6                            # "rotate 90 CW to display"
    for name in ("hq.jpg", "hq.png"):
        stored.save(tmp_path / name, exif=exif.tobytes(), **({"quality": 95} if "jpg" in name else {}))
        small = load_small(tmp_path / name, 64)
        assert (small.width, small.height) == (256, 192)         # header facts: as stored
        assert small.rgb.size == (48, 64)                        # pixels: upright
        want = np.asarray(upright.resize((48, 64), Image.Resampling.BOX), float)
        assert np.abs(np.asarray(small.rgb, float) - want).mean() < 12
    upright.resize((48, 64), Image.Resampling.BICUBIC).save(tmp_path / "lq.png")
    row = pairs.alignment(tmp_path / "hq.png", tmp_path / "lq.png")
    assert row["ssim"] > 0.9 and (row["shift_x"], row["shift_y"]) == (0, 0)


def test_has_transparency_counts_alpha_bands_and_marked_colours():
    from dataset_forge.io.images import has_transparency
    rgba = Image.new("RGBA", (4, 4), (9, 9, 9, 255))
    assert not has_transparency(rgba)
    rgba.putpixel((3, 3), (9, 9, 9, 0))
    assert has_transparency(rgba) and has_transparency(rgba.convert("LA"))
    palette = Image.new("P", (4, 4), 0)
    palette.info["transparency"] = 0
    assert has_transparency(palette)
    grey = Image.new("L", (4, 4), 7)
    grey.info["transparency"] = 7
    assert has_transparency(grey) and not has_transparency(Image.new("RGB", (4, 4)))
