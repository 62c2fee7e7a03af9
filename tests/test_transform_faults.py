"""Transform faults (issues 12 and 14) through the real CLI: output-name collisions, failures that
name the file at fault, off-by-pixels pairs trimmed to the scale."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image


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
                          ("resize", ["--scale", "0.5", "--format", "png"]),
                          ("mixup", ["--format", "png"])):
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
