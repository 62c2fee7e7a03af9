"""Transform faults (issues 12 and 14) through the real CLI: output-name collisions, failures that
name the file at fault, off-by-pixels pairs trimmed to the scale."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.transforms.ops import all_ops
from dataset_forge.transforms.pairfit import describe_trim, fit_pair
from dataset_forge.transforms.pipeline import Frame, image_entropy, single_step

from conftest import photo_like


def failures(result) -> list[tuple[str, str, str]]:
    return [(Path(f["item"].split(" -> ")[0]).name, f["error_type"], f["message"])
            for f in result.json()["failures"]]


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_same_stem_inputs_never_share_an_output(run_cli, tmp_path, make_image):
    """a.jpg and a.webp both become a.png: the first (in sorted order) is written, the second is
    a NameCollision failure, and nothing is overwritten (issue 12, item 3)."""
    src = tmp_path / "in"
    make_image(src / "a.jpg", size=(64, 48), seed=1, quality=95)
    make_image(src / "a.webp", size=(64, 48), seed=2, lossless=True)
    make_image(src / "b.png", size=(64, 48), seed=3)
    for action, extra in (("make-lq", ["--scale", "2"]),
                          ("resize", ["--scale", "0.5", "--format", "png"])):
        out = tmp_path / action
        result = run_cli("--action", action, "--input", src, "--output", out, "--json",
                         "--processing-type", "serial", *extra)
        assert result.returncode == 1, result
        [(item, kind, message)] = failures(result)
        assert (item, kind) == ("a.webp", "NameCollision"), message
        assert "a.jpg" in message
        written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
        summary = result.json()["summary"]
        assert summary["files_written"] == len(written), (action, written)
        assert summary["failed"] == 1
        if action == "make-lq":
            assert written == ["hq/a.png", "hq/b.png", "lq/a.png", "lq/b.png"]
            with Image.open(src / "a.jpg") as a:
                assert np.array_equal(pixels(out / "hq" / "a.png"), np.asarray(a.convert("RGB")))
    # pair mode: a second HQ file with the same stem is a failure, not a silent skip (item 13)
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    make_image(hq / "a.png", size=(64, 48), seed=4)
    make_image(hq / "a.jpg", size=(64, 48), seed=5, quality=95)
    make_image(lq / "a.png", size=(16, 12), seed=6)
    result = run_cli("--action", "tile", "--hq", hq, "--lq", lq, "--output", tmp_path / "t",
                     "--tile-size", "32", "--json", "--processing-type", "serial")
    assert result.returncode == 1, result
    [(item, kind, message)] = failures(result)
    assert (item, kind) == ("a.png", "NameCollision") and "hq" in message and "a.jpg" in message
    assert len(list((tmp_path / "t" / "lq").glob("*.jpg"))) == 2


def test_failures_name_the_file_at_fault(run_cli, tmp_path, make_image):
    """mixup blames the unreadable partner, not the good image; pair transforms blame the LQ file
    for an LQ error (issue 12, item 13)."""
    src = tmp_path / "in"
    make_image(src / "good.png", seed=1)
    make_image(src / "other.png", seed=2)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    result = run_cli("--action", "mixup", "--input", src, "--output", tmp_path / "mix",
                     "--variations", "4", "--json")
    assert result.returncode == 1, result
    blamed = {item for item, _, _ in failures(result)}
    assert blamed == {"broken.png"}, failures(result)
    log = [json.loads(x) for x in (tmp_path / "mix" / "mixup_log.jsonl").read_text().splitlines()]
    partnered = [f for f in failures(result) if "partner of" in f[2]]
    assert partnered and all("good.png" in m or "other.png" in m for _, _, m in partnered)
    # every good job whose partner was readable was written
    assert len(log) == 12 - len(failures(result))

    hq, lq = tmp_path / "hq", tmp_path / "lq"
    make_image(hq / "x.png", size=(64, 48), seed=3)
    make_image(lq / "x.png", size=(32, 24), seed=4)
    make_image(hq / "y.png", size=(64, 48), seed=5)
    (lq / "y.png").write_bytes(b"not an image")
    result = run_cli("--action", "crop", "--hq", hq, "--lq", lq, "--output", tmp_path / "crop",
                     "--width", "32", "--height", "32", "--json", "--processing-type", "serial")
    assert result.returncode == 1, result
    [(item, _, message)] = failures(result)
    assert Path(result.json()["failures"][0]["item"]) == lq / "y.png", message
    assert "LQ partner of" in message and "y.png" in message


def test_pairs_a_few_pixels_off_the_scale_are_trimmed(run_cli, tmp_path, make_image):
    """HQ 222x137 with LQ 55x34 (integer division, like the issue's 1774x1089 and 443x272) is
    tiled and cropped after trimming HQ to 220x136; the trim is logged and reported; a pair far
    off the scale still fails with one clear line; --no-trim keeps the strict check (issue 14)."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    make_image(hq / "odd.png", size=(222, 137), seed=1)
    lq.mkdir()
    with Image.open(hq / "odd.png") as im:
        im.resize((55, 34), Image.Resampling.BICUBIC).save(lq / "odd.png")
    make_image(hq / "far.png", size=(200, 100), seed=2)
    make_image(lq / "far.png", size=(40, 25), seed=3)
    out = tmp_path / "tiles"
    result = run_cli("--action", "tile", "--hq", hq, "--lq", lq, "--output", out, "--tile-size",
                     "64", "--json", "--processing-type", "serial")
    assert result.returncode == 1, result
    report = result.json()
    [(item, _, message)] = failures(result)
    assert item == "far.png" and "beyond --pixel-tolerance 2" in message, message
    [trim] = [f for f in report["findings"] if "trimmed" in f.get("finding", "")]
    assert Path(trim["path"]).name == "odd.png" and "222x137 -> 220x136" in trim["finding"]
    assert report["summary"]["trimmed_pairs"] == 1
    [record] = [json.loads(x) for x in (out / "tile_log.jsonl").read_text().splitlines()]
    assert record["trim"] == {"scale": 4, "hq": [222, 137], "lq": [55, 34],
                              "hq_to": [220, 136], "lq_to": [55, 34]}
    assert len(record["tiles"]) == 6  # 3 x 2 full 64 px tiles of the trimmed 220x136
    # the tiles are exactly the regions of the originals (top-left anchored trim)
    with Image.open(hq / "odd.png") as h, Image.open(lq / "odd.png") as l:
        assert np.array_equal(pixels(out / "hq" / "odd_y64_x128.png"),
                              np.asarray(h.convert("RGB").crop((128, 64, 192, 128))))
        assert np.array_equal(pixels(out / "lq" / "odd_y64_x128.png"),
                              np.asarray(l.convert("RGB").crop((32, 16, 48, 32))))

    crop = run_cli("--action", "crop", "--hq", hq, "--lq", lq, "--output", tmp_path / "crop",
                   "--mode", "box", "--x", "180", "--y", "96", "--width", "40", "--height",
                   "40", "--json", "--processing-type", "serial")
    assert crop.returncode == 1, crop  # far.png
    with Image.open(hq / "odd.png") as h, Image.open(lq / "odd.png") as l:
        assert np.array_equal(pixels(tmp_path / "crop" / "hq" / "odd.png"),
                              np.asarray(h.convert("RGB").crop((180, 96, 220, 136))))
        assert np.array_equal(pixels(tmp_path / "crop" / "lq" / "odd.png"),
                              np.asarray(l.convert("RGB").crop((45, 24, 55, 34))))

    strict = run_cli("--action", "tile", "--hq", hq, "--lq", lq, "--output", tmp_path / "strict",
                     "--tile-size", "64", "--no-trim", "--json", "--processing-type", "serial")
    assert strict.returncode == 1
    assert {f[0] for f in failures(strict)} == {"odd.png", "far.png"}
    assert all("not an integer scale apart" in f[2] for f in failures(strict))


def test_fit_pair_on_the_issues_sizes():
    """The pair from issue 14 trims HQ only; an LQ one pixel over HQ / scale trims both; a pair
    beyond the tolerance names the sizes and the flag."""
    hq, lq, trim = fit_pair(Image.new("RGB", (1774, 1089)), Image.new("RGB", (443, 272)), 2.0)
    assert (hq.size, lq.size) == ((1772, 1088), (443, 272))
    assert describe_trim(trim) == "trimmed HQ 1774x1089 -> 1772x1088 (LQ 443x272, x4)"
    hq, lq, trim = fit_pair(Image.new("RGB", (1771, 1088)), Image.new("RGB", (443, 272)), 2.0)
    assert (hq.size, lq.size) == ((1768, 1088), (442, 272))
    assert fit_pair(Image.new("RGB", (64, 48)), Image.new("RGB", (16, 12)), 2.0)[2] is None
    with pytest.raises(ValueError, match=r"HQ 1774x1089 and LQ 430x272 .*--pixel-tolerance 2$"):
        fit_pair(Image.new("RGB", (1774, 1089)), Image.new("RGB", (430, 272)), 2.0)


def peak_rss_mb(cwd: Path, *args) -> float:
    """Run the CLI (serial: one process holds every buffer) and return its own peak RSS."""
    proc = subprocess.Popen([sys.executable, "-m", "dataset_forge", *map(str, args),
                             "--processing-type", "serial"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read()
    proc.stderr.close()
    return usage.ru_maxrss / 1024


def test_make_lq_holds_one_full_size_buffer(tmp_path, make_image):
    """Peak memory of make-lq on a large JPEG, over the same run on a tiny one, stays under two
    full-size buffers (three were live before: decoded, transposed copy, LQ copy; issue 12)."""
    big, tiny = tmp_path / "big", tmp_path / "tiny"
    big.mkdir()
    Image.fromarray(photo_like(300, 200, seed=1)).resize((3000, 2000)).save(big / "a.jpg",
                                                                             quality=90)
    make_image(tiny / "a.jpg", size=(64, 48), quality=90)
    args = ("--action", "make-lq", "--format", "jpg", "--input")
    base = peak_rss_mb(tmp_path, *args, tiny, "--output", tmp_path / "o1")
    peak = peak_rss_mb(tmp_path, *args, big, "--output", tmp_path / "o2")
    buffer_mb = 3000 * 2000 * 4 / 2**20  # Pillow keeps RGB as 4 bytes a pixel
    assert peak - base < 2 * buffer_mb, (base, peak)
    with Image.open(tmp_path / "o2" / "lq" / "a.jpg") as lq:
        assert lq.size == (750, 500)


def test_builtin_ops_never_edit_their_input():
    """make-lq lets HQ and LQ share one image until an op makes a new one: every built-in op
    must leave its input untouched."""
    values = {"crop": {"width": 16, "height": 16}, "downscale": {"scale": 2},
              "resize": {"scale": 0.5}}
    for mode in ("RGB", "RGBA"):
        img = Image.fromarray(photo_like(48, 32, seed=2)).convert(mode)
        before = np.asarray(img).copy()
        for op in all_ops().values():
            if op.source == "builtin":
                single_step(op.name, **values.get(op.name, {})).run(Frame(img), image_entropy(1, "k"))
                assert np.array_equal(np.asarray(img), before), op.name


def test_motion_blur_in_strips_matches_one_pass(monkeypatch):
    """Motion blur convolves strips of rows (memory: a few strips, not 20x the image); the seams
    are invisible: the result equals one FFT over the whole reflected image."""
    from scipy.signal import fftconvolve

    from dataset_forge.transforms.ops import degrade
    arr = photo_like(90, 70, seed=4)
    kernel = degrade.motion_kernel(15, 30.0)
    padded = np.pad(arr.astype(np.float32), ((7, 7), (7, 7), (0, 0)), mode="reflect")
    whole = np.clip(np.rint(fftconvolve(padded, kernel[:, :, None], mode="valid", axes=(0, 1))),
                    0, 255).astype(np.uint8)
    monkeypatch.setattr(degrade, "STRIP_PIXELS", 90 * 10)  # 29-row strips (4 x radius + 1)
    assert np.array_equal(degrade.convolve(arr, kernel), whole)


def test_make_lq_names_an_image_smaller_than_the_scale(run_cli, tmp_path, make_image):
    """A 1x1 or 3x9 photo at --scale 4 is one failure saying why, not 'height and width must
    be > 0'; the other images are written."""
    src = tmp_path / "in"
    make_image(src / "ok.png", size=(32, 24))
    make_image(src / "dot.png", size=(1, 1))
    make_image(src / "thin.png", size=(3, 9))
    out = tmp_path / "out"
    result = run_cli("--action", "make-lq", "--input", src, "--output", out, "--scale", "4",
                     "--json", "--processing-type", "serial")
    assert result.returncode == 1, result
    assert sorted(failures(result)) == [
        ("dot.png", "TooSmall", "1x1 is smaller than --scale 4 on a side: no LQ pixel can be "
         "made from it"),
        ("thin.png", "TooSmall", "3x9 is smaller than --scale 4 on a side: no LQ pixel can be "
         "made from it")]
    assert sorted(p.name for p in (out / "lq").iterdir()) == ["ok.png"]
