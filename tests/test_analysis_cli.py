"""Analysis actions through the real CLI: findings, scales, verdicts, files and exit codes."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import DEMO, FAST, photo_like

MANIFEST = json.loads((DEMO / "manifest.json").read_text())["expected"]


def run_json(run_cli, *args):
    result = run_cli(*args, *FAST, "--json")
    assert result.returncode in (0, 1), result
    return result.returncode, result.json()


def test_integrity_finds_exactly_the_demo_faults(run_cli, tmp_path):
    rc, report = run_json(run_cli, "--action", "integrity", "--input", DEMO / "mixed",
                          "--report-dir", tmp_path)
    assert rc == 1  # bad files are failed items
    bad = {f["path"] for f in report["findings"] if f["kind"] != "extension_mismatch"}
    renamed = {f["path"] for f in report["findings"] if f["kind"] == "extension_mismatch"}
    assert {f"mixed/{p}" for p in bad} == set(MANIFEST["corrupt"])
    assert {f"mixed/{p}" for p in renamed} == set(MANIFEST["wrong_extension"])
    kinds = {f["path"]: f["kind"] for f in report["findings"] if f["kind"] != "extension_mismatch"}
    assert kinds == {"truncated.jpg": "truncated", "empty.png": "empty",
                     "not_an_image.jpg": "not_image"}
    rows = list(csv.DictReader(open(tmp_path / "integrity.csv")))
    assert len(rows) == report["summary"]["images"] == 24
    html = Path(report["files"]["html"]).read_text()
    assert "truncated.jpg" in html and html.count('class="cell hl"') == 3


def test_quality_cli_matches_the_manifest_and_writes_reports(run_cli, tmp_path):
    rc, report = run_json(run_cli, "--action", "quality", "--input", DEMO / "hq",
                          "--report-dir", tmp_path)
    assert rc == 0
    found = {(f["kind"], f"hq/{f['path']}") for f in report["findings"]}
    expected = {("grayscale" if k == "grayscale_as_rgb" else k, p)
                for k, files in MANIFEST["quality_flags"].items() for p in files}
    assert found == expected
    rows = {r["path"]: r for r in csv.DictReader(open(tmp_path / "quality.csv"))}
    assert len(rows) == 12 and rows["dark_01.jpg"]["flags"] == "dark"
    assert float(rows["dark_01.jpg"]["brightness"]) < 0.15
    html = Path(report["files"]["html"]).read_text()
    assert html.count("<svg") >= 10 and html.count("data:image/jpeg") == 4


def test_unknown_check_and_missing_input_are_usage_errors():
    from dataset_forge.actions import quality, validate
    from dataset_forge.actions.registry import get_action
    from dataset_forge.errors import UsageError
    params = get_action("quality").parse_params({"input": str(DEMO), "checks": "dark,fuzzy"})
    with pytest.raises(UsageError, match="unknown check 'fuzzy'"):
        quality.thresholds(params)
    with pytest.raises(UsageError, match="--input"):
        validate._dataset(get_action("validate").parse_params({}))


@pytest.fixture
def pair_folders(tmp_path) -> tuple[Path, Path]:
    """HQ 256x192 pictures; LQ x4 except one x2, one off by a pixel, one shifted; one missing."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    hq.mkdir(), lq.mkdir()
    for i in range(6):
        big = Image.fromarray(photo_like(288, 224, seed=i))
        pic = big.crop((16, 16, 272, 208))
        pic.save(hq / f"p{i}.png")
        if i == 0:
            continue  # missing LQ
        size = {2: (128, 96), 3: (63, 48)}.get(i, (64, 48))
        src = big.crop((40, 16, 296, 208)) if i == 4 else pic
        src.resize(size, Image.Resampling.BICUBIC).save(lq / f"p{i}.jpg", quality=95)
    return hq, lq


def test_pairs_cli_reports_scales_and_alignment(run_cli, tmp_path, pair_folders):
    hq, lq = pair_folders
    rc, report = run_json(run_cli, "--action", "pairs", "--hq", hq, "--lq", lq,
                          "--report-dir", tmp_path / "r")
    assert rc == 0
    s = report["summary"]
    assert (s["pairs"], s["missing_lq"], s["dominant_scale"]) == (5, 1, 4)
    kinds = {(f["kind"], f.get("lq", f.get("path"))) for f in report["findings"]}
    assert kinds == {("missing_lq", "p0.png"), ("other_scale", "p2.jpg"),
                     ("off_by_pixels", "p3.jpg"), ("misaligned", "p4.jpg")}
    rows = {r["lq"]: r for r in csv.DictReader(open(tmp_path / "r" / "pairs.csv"))}
    assert float(rows["p2.jpg"]["scale_w"]) == 2.0 and float(rows["p3.jpg"]["scale_w"]) > 4
    assert float(rows["p4.jpg"]["shift_x"]) == -6.0 and float(rows["p1.jpg"]["ssim"]) > 0.9
    assert "Misaligned pairs" in Path(report["files"]["html"]).read_text()


def test_validate_pairs_fails_and_stops_on_fail(run_cli, tmp_path, pair_folders):
    hq, lq = pair_folders
    (lq / "p5.jpg").write_bytes((lq / "p5.jpg").read_bytes()[:300])  # truncated LQ
    rc, report = run_json(run_cli, "--action", "validate", "--hq", hq, "--lq", lq,
                          "--report-dir", tmp_path / "a")
    steps = {f["step"]: f["status"] for f in report["findings"]}
    assert rc == 1 and report["summary"]["verdict"] == "fail"
    assert steps == {"pairing": "fail", "integrity": "fail", "scale": "fail",
                     "dimensions": "pass", "formats and modes": "pass", "quality": "pass"}
    rc, stopped = run_json(run_cli, "--action", "validate", "--hq", hq, "--lq", lq,
                           "--stop-on-fail", "--report-dir", tmp_path / "b")
    steps = [f["status"] for f in stopped["findings"]]
    assert rc == 1 and steps == ["fail"] + ["skipped"] * 5


def test_validate_single_folder_verdicts(run_cli, tmp_path, make_image):
    clean = tmp_path / "clean"
    for i in range(4):
        make_image(clean / f"{i}.png", size=(96, 64), seed=i)
    rc, report = run_json(run_cli, "--action", "validate", "--input", clean,
                          "--report-dir", tmp_path / "a")
    assert rc == 0 and report["summary"]["verdict"] == "pass"
    make_image(clean / "png_named.jpg", size=(96, 64), seed=9, format="PNG")
    make_image(clean / "cmyk.jpg", size=(96, 64), seed=8, mode="CMYK")
    rc, report = run_json(run_cli, "--action", "validate", "--input", clean,
                          "--report-dir", tmp_path / "b")
    step = next(f for f in report["findings"] if f["step"] == "formats and modes")
    assert rc == 0 and report["summary"]["verdict"] == "warn" and step["status"] == "warn"
    assert step["counts"]["extension mismatches"] == 1 and step["counts"]["unusual modes"] == 1


def test_inventory_deep_reads_every_mode(run_cli, tmp_path):
    from test_analysis import MODES, save_mode
    folder = tmp_path / "modes"
    folder.mkdir()
    for mode in MODES:
        save_mode(folder, mode, size=(40, 30))
    (folder / "big.png").write_bytes(b"")
    Image.new("L", (400, 300)).save(folder / "bomb.png")
    rc, report = run_json(run_cli, "--action", "inventory", "--input", folder, "--deep",
                          "--max-pixels", "50000", "--report-dir", tmp_path / "r")
    assert rc == 1
    assert sorted(Path(f["item"]).name for f in report["failures"]) == ["big.png", "bomb.png"]
    rows = {r["path"]: r for r in csv.DictReader(open(tmp_path / "r" / "inventory.csv"))}
    assert {r["mode"] for r in rows.values()} == set(MODES)
    assert rows["RGBA.png"]["alpha_used"] == "False" and rows["RGB.png"]["alpha_used"] == ""
    assert report["summary"]["modes"]["I;16"] == 1
