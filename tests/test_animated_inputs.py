"""Animated inputs (GIF, WebP, APNG) through the writing actions: every output holds the first
frame, and the report says so per file (a finding and a summary count), so frames are never
dropped silently. Still images get no such finding."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

FAST = ("--processing-type", "thread", "--workers", "2")
COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


def animated(path, colours=COLOURS, size=(48, 32)):
    frames = [Image.new("RGB", size, c) for c in colours]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def report(folder, action):
    return json.loads((folder / f"{action}_report.json").read_text())


def frame_findings(data):
    return {f["path"]: f["finding"] for f in data["findings"] if "frames" in f.get("finding", "")}


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_resize_of_an_animation_writes_the_first_frame_and_says_so(run_cli, tmp_path, make_image,
                                                                   suffix):
    src = tmp_path / "in"
    src.mkdir()
    anim = animated(src / f"anim{suffix}")
    make_image(src / "still.png", size=(48, 32))
    out, rep = tmp_path / "out", tmp_path / "r"
    res = run_cli("--action", "resize", "--input", src, "--output", out, "--scale", "0.5",
                  "--format", "png", "--report-dir", rep, *FAST)
    assert res.returncode == 0, res
    with Image.open(out / "anim.png") as im:
        assert im.size == (24, 16)
        assert np.abs(np.asarray(im.convert("RGB"), int) - COLOURS[0]).max() <= 10   # lossy WebP
    data = report(rep, "resize")
    assert frame_findings(data) == {
        str(anim): "animated (3 frames): only the first frame was used, the other 2 were dropped"}
    assert data["summary"]["animated_first_frame_only"] == 1
    assert "animated_first_frame_only" in res.stdout            # shown in the terminal too


def test_tile_and_pair_crop_name_the_animated_file(run_cli, tmp_path, make_image):
    src = tmp_path / "in"
    src.mkdir()
    anim = animated(src / "anim.gif", size=(64, 64))
    rep = tmp_path / "r"
    res = run_cli("--action", "tile", "--input", src, "--output", tmp_path / "t", "--tile", "32",
                  "--report-dir", rep, *FAST)
    assert res.returncode == 0, res
    assert list(frame_findings(report(rep, "tile"))) == [str(anim)]
    res = run_cli("--action", "augment", "--input", src, "--output", tmp_path / "a",
                  "--variations", "3", "--pipeline", '[{"op": "flip"}]', "--report-dir", rep,
                  *FAST)
    assert res.returncode == 0, res
    data = report(rep, "augment")                     # three outputs, one finding
    assert list(frame_findings(data)) == [str(anim)]
    assert data["summary"]["animated_first_frame_only"] == 1

    hq, lq = tmp_path / "hq", tmp_path / "lq"
    make_image(hq / "a.png", size=(64, 48))
    lq.mkdir()
    lq_anim = animated(lq / "a.gif", size=(32, 24))
    res = run_cli("--action", "crop", "--hq", hq, "--lq", lq, "--output", tmp_path / "c",
                  "--mode", "centre", "--width", "32", "--height", "32", "--report-dir", rep,
                  *FAST)
    assert res.returncode == 0, res
    assert list(frame_findings(report(rep, "crop"))) == [str(lq_anim)]


def test_convert_of_an_animation_reports_the_dropped_frames(run_cli, tmp_path, make_image):
    src = tmp_path / "in"
    src.mkdir()
    anim = animated(src / "anim.gif")
    make_image(src / "still.png", size=(48, 32))
    rep = tmp_path / "r"
    res = run_cli("--action", "convert", "--input", src, "--output", tmp_path / "out",
                  "--format", "webp", "--quality", "80", "--report-dir", rep, *FAST)
    assert res.returncode == 0, res
    with Image.open(tmp_path / "out" / "anim.webp") as im:
        assert getattr(im, "n_frames", 1) == 1
    data = report(rep, "convert")
    assert list(frame_findings(data)) == [str(anim)]
    assert data["summary"]["animated_first_frame_only"] == 1
    rows = {r["source"]: r for r in csv.DictReader(open(rep / "convert_rows.csv"))}
    assert "only the first frame was used" in rows["anim.gif"]["notes"]
    assert "frames" not in rows["still.png"]["notes"]
