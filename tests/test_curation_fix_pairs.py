"""fix-pairs through the real CLI: pairs 1 to 3 pixels off the scale trimmed (or padded),
shifted pairs cropped into alignment (checked by locating the outputs in the originals, not by
the tool's own measure), renamed partners matched by name and by picture, a pair it cannot fix
reported, a dry run that writes nothing, undo."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FAST, photo_like

BOX = Image.Resampling.BOX
#: shifted pairs: LQ shows the scene moved by this many HQ pixels (x4: 12 = 3 LQ px)
SHIFTS = {"shift_a": (12, 8), "shift_b": (6, -4), "shift_c": (-5, 10)}
MARGIN = 24


def base(seed: int) -> Image.Image:
    return Image.fromarray(photo_like(320, 260, seed))


@pytest.fixture
def planted(tmp_path) -> tuple[Path, Path]:
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    hq.mkdir()
    lq.mkdir()
    for n, (dw, dh) in enumerate([(1, 1), (2, 3), (3, 0)]):          # HQ a few pixels over
        b = base(n)
        b.crop((0, 0, 256 + dw, 200 + dh)).save(hq / f"off{n}.png")
        b.crop((0, 0, 256, 200)).resize((64, 50), BOX).save(lq / f"off{n}.png")
    b = base(5)                                                        # HQ short: pad
    b.crop((0, 0, 254, 199)).save(hq / "short.png")
    b.crop((0, 0, 256, 200)).resize((64, 50), BOX).save(lq / "short.png")
    for n, (name, (sx, sy)) in enumerate(SHIFTS.items()):
        b = base(10 + n)
        b.crop((MARGIN, MARGIN, MARGIN + 256, MARGIN + 200)).save(hq / f"{name}.png")
        b.crop((MARGIN + sx, MARGIN + sy, MARGIN + sx + 256, MARGIN + sy + 200)) \
            .resize((64, 50), BOX).save(lq / f"{name}.png")
    b = base(20)                                                       # renamed partners
    b.crop((0, 0, 256, 200)).save(hq / "IMG_0042.png")
    b.crop((0, 0, 256, 200)).resize((64, 50), BOX).save(lq / "img0042_x4.png")
    b = base(21)
    b.crop((0, 0, 256, 200)).save(hq / "holiday.png")
    b.crop((0, 0, 256, 200)).resize((64, 50), BOX).save(lq / "scan_7781.png")
    b = base(22)                                                       # not x4 at all
    b.crop((0, 0, 256, 200)).save(hq / "wrong.png")
    b.resize((50, 50), BOX).save(lq / "wrong.png")
    return hq, lq


def locate(small: np.ndarray, big: np.ndarray, reach: int = 20) -> tuple[int, int]:
    """Where `small` sits inside `big`, exactly (outputs are cut, never resampled)."""
    h, w = small.shape[:2]
    for y in range(reach):
        for x in range(reach):
            if np.array_equal(big[y:y + h, x:x + w], small):
                return x, y
    raise AssertionError("output is not a crop of its original")


def rows(out: Path) -> dict[str, dict]:
    with open(out / "fix_pairs.csv", newline="") as fh:
        return {r["hq"]: r for r in csv.DictReader(fh)}


def test_fix_pairs_trims_pads_aligns_matches_and_reports(planted, tmp_path, run_cli):
    hq, lq = planted
    fixed = tmp_path / "fixed"
    args = ["--action", "fix-pairs", "--hq", hq, "--lq", lq, "--output", fixed, "--scale", 4,
            *FAST]
    dry = run_cli(*args, "--fit", "pad", "--report-dir", tmp_path / "dry")
    assert dry.returncode == 1 and not fixed.exists(), dry       # 1: one pair is unfixable
    planned = rows(tmp_path / "dry")
    assert planned["short.png"]["fix"] == "HQ 254x199 padded to 256x200"
    assert planned["IMG_0042.png"]["matched_by"] == "name"
    assert (planned["holiday.png"]["matched_by"], planned["holiday.png"]["lq"]) == \
        ("image", "scan_7781.png")
    assert planned["wrong.png"]["status"] == "unfixable"

    res = run_cli(*args, "--apply", "--report-dir", tmp_path / "r")
    assert res.returncode == 1, res
    report = json.loads((tmp_path / "r" / "fix-pairs_report.json").read_text())
    assert [f["item"] for f in report["failures"]] == ["wrong.png"]
    done = rows(tmp_path / "r")
    for n in range(3):
        out_hq = np.asarray(Image.open(fixed / "hq" / f"off{n}.png"))
        assert out_hq.shape[:2] == (200, 256) and done[f"off{n}.png"]["status"] == "fixed"
        assert np.array_equal(out_hq, np.asarray(Image.open(hq / f"off{n}.png"))[:200, :256])
        assert (fixed / "lq" / f"off{n}.png").read_bytes() == (lq / f"off{n}.png").read_bytes()
    for name, (sx, sy) in SHIFTS.items():
        out_hq = np.asarray(Image.open(fixed / "hq" / f"{name}.png"))
        out_lq = np.asarray(Image.open(fixed / "lq" / f"{name}.png"))
        assert out_hq.shape[0] == 4 * out_lq.shape[0] and out_hq.shape[1] == 4 * out_lq.shape[1]
        hx, hy = locate(out_hq, np.asarray(Image.open(hq / f"{name}.png")))
        lx, ly = locate(out_lq, np.asarray(Image.open(lq / f"{name}.png")), reach=6)
        # scene position of each output's first pixel, in HQ pixels of the base picture
        miss_x, miss_y = (MARGIN + hx) - (MARGIN + sx + 4 * lx), (MARGIN + hy) - (MARGIN + sy + 4 * ly)
        assert abs(miss_x) / 4 <= 0.5 and abs(miss_y) / 4 <= 0.5, (name, miss_x, miss_y)
    assert (fixed / "lq" / "IMG_0042.png").read_bytes() == (lq / "img0042_x4.png").read_bytes()
    assert (fixed / "lq" / "holiday.png").is_file() and not (fixed / "hq" / "wrong.png").exists()

    again = run_cli(*args, "--apply", "--report-dir", tmp_path / "r2")   # resumable: done
    assert again.returncode == 1, again
    summary = json.loads((tmp_path / "r2" / "fix-pairs_report.json").read_text())["summary"]
    assert (summary["already_done"], summary["unfixable"]) == (9, 1)

    undo = run_cli("undo", report["files"]["undo_manifest"], "--apply")
    assert undo.returncode == 0, undo
    assert not [p for p in fixed.rglob("*.png")]


def test_kill_9_mid_run_leaves_no_output_undo_does_not_know(tmp_path, run_cli, kill_cli_midway):
    """Workers log each output in the undo manifest before writing it (it used to be logged by
    the main process once the pair came back, so outputs in flight at a kill were unknown to
    undo). Killed mid-run, undo removes every output; a rerun finishes, undo again clears it."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    hq.mkdir()
    lq.mkdir()
    for n in range(80):
        b = Image.fromarray(photo_like(98, 72, n))
        b.crop((0, 0, 96 + n % 2, 72)).save(hq / f"p{n:03d}.png")      # half get trimmed
        b.crop((0, 0, 96, 72)).resize((24, 18), BOX).save(lq / f"p{n:03d}.png")
    out, report = tmp_path / "out", tmp_path / "r"
    args = ["--action", "fix-pairs", "--hq", hq, "--lq", lq, "--output", out, "--scale", "4",
            "--apply", "--report-dir", report, "--processing-type", "process", "--workers", "2"]
    kill_cli_midway(args, out / ".forge-journal" / "fix-pairs.jsonl", 4)
    manifest = report / "fix-pairs_undo.jsonl"

    def outputs() -> set[str]:
        return {str(p) for p in out.rglob("*.png")}

    logged = {json.loads(line)["dst"] for line in manifest.read_text().splitlines()[1:]}
    assert outputs() and outputs() <= logged
    undo = run_cli("undo", manifest, "--apply")
    assert undo.returncode == 0, undo
    assert outputs() == set()
    done = run_cli(*args)
    assert done.returncode == 0, done
    assert len(outputs()) == 160
    assert run_cli("undo", manifest, "--apply").returncode == 0
    assert outputs() == set() and len(list(hq.iterdir())) == len(list(lq.iterdir())) == 80


def test_a_crop_is_applied_only_when_it_makes_the_pair_agree_better():
    """The rule that keeps a false sub-pixel peak (repeating patterns, screenshots) from
    misaligning an aligned pair: cropping a pair that is already aligned raises its mismatch,
    cropping a truly shifted pair by its measured shift cuts it well past CONFIRM_GAIN."""
    from dataset_forge.curation.pairfix import (CONFIRM_GAIN, crop_to_overlap, measure_shift,
                                                mismatch)
    scene = base(11)
    hq = scene.crop((0, 0, 256, 200))
    aligned_lq = hq.resize((64, 50), BOX)
    cropped = crop_to_overlap(hq, aligned_lq, 4, 0.6, 0.0)           # a false 0.6 LQ px peak
    assert mismatch(*cropped[:2]) > mismatch(hq, aligned_lq) * (1 - CONFIRM_GAIN)
    shifted_lq = scene.crop((12, 8, 268, 208)).resize((64, 50), BOX)  # moved 3, 2 LQ px
    dx, dy = measure_shift(hq, shifted_lq, 4)
    fixed = crop_to_overlap(hq, shifted_lq, 4, dx, dy)
    assert mismatch(*fixed[:2]) < mismatch(hq, shifted_lq) * (1 - CONFIRM_GAIN)


def stripes(period: float, size=(256, 192)) -> Image.Image:
    """Vertical sine stripes: every shift by a period looks the same to phase correlation."""
    x = np.arange(size[0])
    row = 120 + 100 * np.sin(2 * np.pi * x / period)
    return Image.fromarray(np.tile(row, (size[1], 1)).astype(np.uint8)).convert("RGB")


def test_a_stripe_pattern_false_peak_leaves_an_aligned_pair_alone(tmp_path, run_cli):
    """Aligned stripe pairs whose phase correlation peaks tens of LQ pixels away (beyond
    --max-shift): the zero shift matches better, so they are written unchanged, not reported
    unfixable; a truly shifted pair beyond --max-shift still is."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    hq.mkdir()
    lq.mkdir()
    pic = stripes(16)
    pic.save(hq / "s16.png")
    pic.save(hq / "s16j.png")
    small = pic.resize((128, 96), Image.Resampling.BICUBIC)
    small.save(lq / "s16.png")
    small.save(lq / "s16j.jpg", quality=90)
    scene = Image.fromarray(photo_like(320, 260, 4))
    scene.crop((0, 0, 256, 192)).save(hq / "far.png")
    scene.crop((40, 0, 296, 192)).resize((128, 96), BOX).save(lq / "far.png")   # 20 LQ px
    fixed = tmp_path / "fixed"
    res = run_cli("--action", "fix-pairs", "--hq", hq, "--lq", lq, "--output", fixed,
                  "--scale", 2, "--apply", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 1, res                                  # far.png only
    done = rows(tmp_path / "r")
    for name, lq_name in (("s16.png", "s16.png"), ("s16j.png", "s16j.jpg")):
        row = done[name]
        assert abs(float(row["shift_x"])) > 8, row                 # the false peak ...
        assert row["status"] == "ok" and "left alone" in row["note"], row
        assert (fixed / "hq" / name).read_bytes() == (hq / name).read_bytes()   # ... changes
        assert (fixed / "lq" / lq_name).read_bytes() == (lq / lq_name).read_bytes()  # nothing
    assert done["far.png"]["status"] == "unfixable", done["far.png"]
    assert "beyond --max-shift" in done["far.png"]["reason"]
