"""Compression engine: mode/alpha/metadata policy per format, encoders, quality search."""
from __future__ import annotations

import functools
import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import photo_like
from dataset_forge.compress import (EncodeOptions, Target, encode, parse_size, prepare,
                                    search_quality, ssim_pixels, ssim_reference)
from dataset_forge.compress.search import decode_bytes
from dataset_forge.metrics import SsimReference, ssim

SIZE = (40, 30)
FORMATS = ["jpeg", "webp", "png", "avif"]


def source(mode: str) -> Image.Image:
    """A small test image of `mode`; alpha modes have a transparent left third."""
    rgb = Image.fromarray(photo_like(*SIZE, seed=3), "RGB")
    if mode == "I;16":
        arr = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        return Image.fromarray(arr)
    if mode == "P":
        im = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
        im.putpixel((0, 0), 15)
        im.info["transparency"] = 15
        return im
    im = rgb.convert(mode)
    if mode in ("RGBA", "LA"):
        alpha = Image.new("L", SIZE, 255)
        alpha.paste(0, (0, 0, SIZE[0] // 3, SIZE[1]))
        im.putalpha(alpha)
    return im


# mode -> format -> mode the decoded file must have
EXPECTED_MODE = {
    "RGB": {"jpeg": "RGB", "webp": "RGB", "png": "RGB", "avif": "RGB"},
    "RGBA": {"jpeg": "RGB", "webp": "RGBA", "png": "RGBA", "avif": "RGBA"},
    "L": {"jpeg": "L", "webp": "RGB", "png": "L", "avif": "L"},
    "LA": {"jpeg": "L", "webp": "RGBA", "png": "LA", "avif": "RGBA"},
    "P": {"jpeg": "RGB", "webp": "RGBA", "png": "P", "avif": "RGBA"},
    "I;16": {"jpeg": "L", "webp": "RGB", "png": "I;16", "avif": "L"},
    "CMYK": {"jpeg": "RGB", "webp": "RGB", "png": "RGB", "avif": "RGB"},
}


def roundtrip(im: Image.Image, **options) -> tuple[Image.Image, object]:
    opts = EncodeOptions(**options)
    prepared = prepare(im, opts)
    return decode_bytes(encode(prepared, opts)), prepared


def grey_of(im: Image.Image) -> np.ndarray:
    if im.mode == "I;16":
        return np.asarray(im, dtype=np.float64) / 257.0
    return np.asarray(im.convert("RGBA").convert("RGB").convert("L"), dtype=np.float64)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", list(EXPECTED_MODE))
def test_every_mode_round_trips_to_every_format(mode, fmt):
    im = source(mode)
    out, prepared = roundtrip(im, format=fmt)
    assert out.size == SIZE
    assert out.mode == EXPECTED_MODE[mode][fmt]
    # the visible, opaque part of the picture survives (lossy formats within a tolerance)
    opaque = np.s_[:, SIZE[0] // 3 + 2:]
    diff = np.abs(grey_of(out)[opaque] - grey_of(prepared.image)[opaque]).mean()
    assert diff < (0.01 if fmt == "png" else 15), diff   # 16-colour palettes are hard for WebP
    has_alpha = mode in ("RGBA", "LA", "P")
    assert prepared.lost_alpha == (has_alpha and fmt == "jpeg")
    if has_alpha and fmt != "jpeg":
        assert out.convert("RGBA").getpixel((0, 0))[3] == 0   # transparency kept


def test_png_is_lossless_bit_exact_including_16_bit():
    for mode in ("RGB", "RGBA", "L", "I;16"):
        im = source(mode)
        out, _ = roundtrip(im, format="png")
        assert np.array_equal(np.asarray(out), np.asarray(im)), mode


def test_sixteen_bit_is_scaled_not_clipped_for_lossy_targets():
    arr = np.full((8, 8), 40000, dtype=np.uint16)
    out, prepared = roundtrip(Image.fromarray(arr), format="jpeg", quality=95)
    assert abs(np.asarray(out).mean() - 40000 / 65535 * 255) < 2  # clipping would give 255
    assert "16-bit grey scaled to 8 bits for jpeg" in prepared.notes


def test_webp_lossless_is_exact():
    im = source("RGBA")
    out, _ = roundtrip(im, format="webp", lossless=True)
    assert np.array_equal(np.asarray(out), np.asarray(im))


@pytest.mark.parametrize("background", [(0, 0, 0), (255, 255, 255), (0, 200, 0)])
def test_alpha_flattened_onto_the_chosen_background(background):
    out, prepared = roundtrip(source("RGBA"), format="jpeg", quality=95, background=background)
    assert prepared.lost_alpha
    pixel = np.asarray(out)[SIZE[1] // 2, 2]
    assert np.abs(pixel.astype(int) - background).max() < 12


def test_opaque_alpha_does_not_count_as_lost():
    im = Image.fromarray(photo_like(*SIZE), "RGB").convert("RGBA")
    _, prepared = roundtrip(im, format="jpeg")
    assert not prepared.lost_alpha


@functools.cache
def srgb_icc() -> bytes:
    """Built once: a profile carries its creation time, so two builds that straddle a second
    differ (issue 12 item 16: the ICC test failed on a busy machine)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_the_icc_fixture_is_built_once():
    assert srgb_icc() is srgb_icc()


def exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    exif[0x010F] = "ForgeCam"   # Make
    return exif.tobytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_icc_kept_by_default_and_stripped_on_request(fmt):
    im = source("RGB")
    im.info["icc_profile"] = srgb_icc()
    kept, _ = roundtrip(im, format=fmt)
    stripped, _ = roundtrip(im, format=fmt, strip_metadata=True)
    assert kept.info.get("icc_profile") == srgb_icc()
    assert not stripped.info.get("icc_profile")


def test_icc_of_another_colour_space_is_dropped_with_a_note():
    im = source("L")
    im.info["icc_profile"] = srgb_icc()     # an RGB profile on a grey image is wrong
    out, prepared = roundtrip(im, format="png")
    assert not out.info.get("icc_profile")
    assert any("ICC profile dropped" in n for n in prepared.notes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exif_orientation_honoured_and_exif_kept_only_on_request(fmt):
    im = Image.fromarray(photo_like(40, 20), "RGB")
    data = io.BytesIO()
    im.save(data, "JPEG", exif=exif_with_orientation(6))   # rotate 90 degrees to view
    with Image.open(io.BytesIO(data.getvalue())) as opened:
        opened.load()
        plain, _ = roundtrip(opened, format=fmt)
        kept, _ = roundtrip(opened, format=fmt, keep_exif=True)
    assert plain.size == kept.size == (20, 40)
    assert not plain.getexif()
    assert kept.getexif().get(0x010F) == "ForgeCam"
    assert kept.getexif().get(0x0112, 1) == 1   # pixels are upright: no second rotation


def test_cmyk_with_profile_converts_through_it():
    cmyk = source("RGB").convert("CMYK")
    out, prepared = roundtrip(cmyk, format="png")
    assert out.mode == "RGB" and not out.info.get("icc_profile")
    assert "CMYK converted to RGB" in prepared.notes


def test_ssim_reference_is_the_shared_metric():
    a = Image.fromarray(photo_like(64, 48, seed=1), "RGB")
    candidates = [decode_bytes(encode(prepare(a, EncodeOptions("jpeg")), EncodeOptions("jpeg"), q))
                  for q in (10, 30, 90)]
    exact = [ssim(np.asarray(a), np.asarray(b)) for b in candidates]
    assert exact == sorted(exact) and exact[0] < 0.9 < exact[-1] < 1.0
    reference = SsimReference(np.asarray(a))               # float64: ssim() itself
    assert [reference.score(np.asarray(b)) for b in candidates] == exact
    fast = ssim_reference(a)                               # float32, as the search uses it
    assert [fast.score(ssim_pixels(b)) for b in candidates] == pytest.approx(exact, abs=1e-4)
    with pytest.raises(ValueError, match="equal sizes"):
        reference.score(np.zeros((10, 10, 3), np.uint8))


def test_ssim_pixels_composite_alpha_onto_white():
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))         # fully transparent black
    assert ssim_pixels(rgba).shape == (8, 8, 3) and ssim_pixels(rgba).min() == 255
    assert ssim_pixels(Image.new("L", (8, 8), 7)).shape == (8, 8)


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "avif"])
@pytest.mark.parametrize("target_ssim", [0.9, 0.97])
def test_search_reaches_ssim_target_with_the_lowest_quality(fmt, target_ssim):
    im = Image.fromarray(photo_like(96, 72, seed=5), "RGB")
    opts = EncodeOptions(fmt)
    prepared = prepare(im, opts)
    target = Target(ssim=target_ssim)
    result = search_quality(prepared, opts, target)
    assert result.reached and result.encodes <= 7
    assert result.score >= target_ssim
    score = ssim_reference(prepared.image).score(ssim_pixels(decode_bytes(result.data)))
    assert score == pytest.approx(result.score)
    if result.quality > target.min_quality and result.score > target_ssim + 0.002:
        lower = decode_bytes(encode(prepared, opts, result.quality - 1))
        assert ssim_reference(prepared.image).score(ssim_pixels(lower)) < target_ssim  # minimal


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_search_fits_size_target_with_the_highest_quality(fmt):
    im = Image.fromarray(photo_like(96, 72, seed=6), "RGB")
    opts = EncodeOptions(fmt)
    prepared = prepare(im, opts)
    limit = len(encode(prepared, opts, 60)) + 50
    target = Target(bytes=limit)
    result = search_quality(prepared, opts, target)
    assert result.reached and result.encodes <= 7
    assert len(result.data) <= limit
    if len(result.data) < limit * 0.97 and result.quality < target.max_quality:
        assert len(encode(prepared, opts, result.quality + 1)) > limit   # maximal quality


def test_search_reports_an_unreachable_target():
    im = Image.fromarray(photo_like(64, 48, seed=7), "RGB")
    opts = EncodeOptions("jpeg")
    result = search_quality(prepare(im, opts), opts, Target(bytes=50, min_quality=5))
    assert not result.reached and result.quality == 5 and result.encodes <= 7


@pytest.mark.parametrize("text,value", [("4096", 4096), ("150k", 150_000), ("1.5MB", 1_500_000),
                                        ("200KiB", 204_800), ("2 gib", 2 * 1024**3)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "10 parsecs", "0"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_search_bound_holds_and_easy_images_stop_after_two_probes():
    import math
    from dataset_forge.compress.search import _lowest_good_step
    for last in (0, 1, 5, 40, 85, 99):
        for answer in range(last + 2):          # last + 1: nothing is good
            for easy in (False, True):
                calls = []

                def judge(step):
                    calls.append(step)
                    good = step >= answer
                    return good, False, good and easy
                found = _lowest_good_step(last, judge)
                assert found == (answer if answer <= last else None)
                assert len(calls) <= math.ceil(math.log2(last + 2))
                if easy and answer == 0 and last == 85:
                    assert len(calls) == 2


def test_ssim_is_scored_on_a_bounded_copy(monkeypatch):
    from dataset_forge.compress import search
    monkeypatch.setattr(search, "SSIM_MAX_PIXELS", 1000)
    im = Image.new("RGB", (90, 40), (10, 20, 30))   # 3600 px -> factor 2 -> 45 x 20
    assert search.ssim_pixels(im).shape == (20, 45, 3)
    assert search.ssim_pixels(im.resize((30, 30))).shape == (30, 30, 3)


def test_large_jpeg_search_probes_baseline_with_the_same_pixels(monkeypatch):
    """Issue 12 "Memory": candidates of a large JPEG SSIM search are baseline JPEGs (no
    whole-image coefficient buffer); the written file is progressive with identical pixels."""
    from dataset_forge.compress import search
    monkeypatch.setattr(search, "SSIM_MAX_PIXELS", 1000)
    im = Image.fromarray(photo_like(96, 72, seed=8), "RGB")
    opts = EncodeOptions("jpeg")
    prepared = prepare(im, opts)
    probes = []
    real_encode = search.encode
    monkeypatch.setattr(search, "encode", lambda p, o, q=None: probes.append(o.progressive)
                        or real_encode(p, o, q))
    result = search_quality(prepared, opts, Target(ssim=0.95))
    assert probes[:-1] and not any(probes[:-1]) and probes[-1] is True
    assert result.encodes == len(probes)
    final = decode_bytes(result.data)
    assert final.info.get("progressive")
    baseline = decode_bytes(real_encode(prepared, search.probe_options(
        prepared, opts, Target(ssim=0.95)), result.quality))
    assert np.array_equal(np.asarray(final), np.asarray(baseline))
    assert ssim_reference(prepared.image).score(ssim_pixels(final)) == \
        pytest.approx(result.score)
