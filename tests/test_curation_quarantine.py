"""quarantine through the real CLI: planted files selected by exactly their rules, undo byte for
byte, HQ/LQ partners moving together, selections from earlier reports (validate through the
shared rules), collisions refused, and a kill -9 mid-apply finished by a rerun."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.cli import main as cli_main

from conftest import FAST, tree_digest


def report(out: Path) -> dict:
    return json.loads((out / "quarantine_report.json").read_text())


def selected(out: Path) -> dict[str, list[str]]:
    return {f["path"]: f["rules"] for f in report(out)["findings"] if "path" in f}


@pytest.fixture
def planted(tmp_path, make_image) -> Path:
    """Ordinary photos plus one file per rule."""
    root = tmp_path / "in"
    for i in range(4):
        make_image(root / f"ok_{i}.png", seed=i)
    make_image(root / "sub" / "ok_jpg.jpg", seed=7, quality=90)
    good = (root / "ok_0.png").read_bytes()
    (root / "sub" / "truncated.png").write_bytes(good[: len(good) // 3])
    make_image(root / "narrow.png", size=(20, 48), seed=8)
    make_image(root / "old.bmp", seed=9)
    make_image(root / "palette.png", seed=10, mode="P")
    rgba = Image.fromarray(np.zeros((48, 64, 4), np.uint8), "RGBA")
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.save(root / "clear.png")
    make_image(root / "wide.png", size=(200, 40), seed=11)
    make_image(root / "renamed.jpg", seed=12, format="PNG")
    dim = np.asarray(Image.open(root / "ok_1.png")) // 5          # a photo, very dark
    Image.fromarray(dim.astype(np.uint8)).save(root / "sub" / "night.png")
    return root


def test_each_rule_selects_exactly_its_planted_files(planted, tmp_path, run_cli):
    before = tree_digest(planted)
    out = tmp_path / "r"
    res = run_cli("--action", "quarantine", "--input", planted, "--dest", tmp_path / "q",
                  "--rules", "truncated,extension_mismatch,unusual_mode,dark",
                  "--min-width", 32, "--max-aspect", 3, "--formats", "BMP", "--alpha", "used",
                  "--report-dir", out, *FAST)
    assert res.returncode == 0, res
    assert selected(out) == {
        "sub/truncated.png": ["truncated"],
        "narrow.png": ["width<32"],
        "old.bmp": ["format=BMP"],
        "palette.png": ["unusual_mode"],
        "clear.png": ["unusual_mode", "alpha_used=True"],
        "wide.png": ["aspect>3"],
        "renamed.jpg": ["extension_mismatch"],
        "sub/night.png": ["dark"],
    }
    assert tree_digest(planted) == before and not (tmp_path / "q").exists()   # a dry run
    assert "add --apply" in report(out)["summary"]["next_step"]
    # all: only files every test selects (RGBA with used alpha is also an unusual mode)
    res = run_cli("--action", "quarantine", "--input", planted, "--dest", tmp_path / "q",
                  "--rules", "unusual_mode", "--alpha", "used", "--combine", "all",
                  "--report-dir", tmp_path / "r2", *FAST)
    assert res.returncode == 0, res
    assert selected(tmp_path / "r2") == {"clear.png": ["unusual_mode", "alpha_used=True"]}


def test_apply_then_undo_restores_byte_for_byte(planted, tmp_path, run_cli):
    before = tree_digest(planted)
    dest, out = tmp_path / "q", tmp_path / "r"
    res = run_cli("--action", "quarantine", "--input", planted, "--dest", dest, "--where",
                  "width<32,format=BMP", "--rules", "integrity", "--apply", "--report-dir", out,
                  *FAST)
    assert res.returncode == 0, res
    moved = {"narrow.png", "old.bmp", "sub/truncated.png"}
    assert set(tree_digest(dest)) == moved
    assert {k: v for k, v in before.items() if k in moved} == tree_digest(dest)
    assert set(tree_digest(planted)) == set(before) - moved
    assert not (dest / ".forge-journal").exists()
    undo = run_cli("undo", report(out)["files"]["undo_manifest"], "--apply")
    assert undo.returncode == 0, undo
    assert tree_digest(planted) == before and tree_digest(dest) == {}


def test_collision_refuses_the_whole_plan(planted, tmp_path, run_cli):
    dest = tmp_path / "q"
    (dest).mkdir()
    (dest / "old.bmp").write_bytes(b"already here")
    before = tree_digest(planted)
    res = run_cli("--action", "quarantine", "--input", planted, "--dest", dest, "--where",
                  "width<32,format=BMP", "--apply", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 1, res
    data = report(tmp_path / "r")
    assert [f["error_type"] for f in data["failures"]] == ["destination_exists"]
    assert tree_digest(planted) == before and (dest / "old.bmp").read_bytes() == b"already here"


@pytest.mark.parametrize("args, message", [
    (["--dest", "Q"], "nothing selects files"),
    (["--rules", "integrity", "--dest", "IN/sub"], "inside the input folder"),
    (["--rules", "nosuch", "--dest", "Q"], "unknown rule 'nosuch'"),
    (["--where", "width<<3", "--dest", "Q"], "FIELD OP VALUE"),
    (["--rules", "integrity", "--mode", "copy"], "needs --dest"),
])
def test_bad_requests_are_one_line_errors(planted, tmp_path, capsys, args, message):
    args = [str(planted) if a == "IN" else str(planted / "sub") if a == "IN/sub"
            else str(tmp_path / "q") if a == "Q" else a for a in args]
    # the CLI's own entry point, in-process: usage errors stop before any work
    assert cli_main(["--action", "quarantine", "--input", str(planted), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def make_pairs(root: Path, make_image) -> None:
    """x2 pairs: 3 good, one LQ off the scale, one truncated LQ, one HQ without LQ."""
    for i in range(3):
        make_image(root / "hq" / f"p{i}.png", size=(64, 64), seed=i)
        Image.open(root / "hq" / f"p{i}.png").resize((32, 32)).save(root / "lq" / f"p{i}.png")
    make_image(root / "hq" / "off.png", size=(64, 64), seed=5)
    Image.open(root / "hq" / "off.png").resize((25, 32)).save(root / "lq" / "off.png")
    make_image(root / "hq" / "badlq.png", size=(64, 64), seed=6)
    make_image(root / "lq" / "badlq.png", size=(32, 32), seed=6)
    data = (root / "lq" / "badlq.png").read_bytes()
    (root / "lq" / "badlq.png").write_bytes(data[: len(data) // 3])
    make_image(root / "hq" / "alone.png", size=(64, 64), seed=7)


def test_validate_report_selects_what_validate_warned_about_pairs_together(
        tmp_path, run_cli, make_image):
    root = tmp_path / "pairs"
    (root / "lq").mkdir(parents=True)
    make_pairs(root, make_image)
    hq, lq = root / "hq", root / "lq"
    val = run_cli("--action", "validate", "--hq", hq, "--lq", lq, "--checks", "dark",
                  "--report-dir", tmp_path / "v", *FAST)
    assert val.returncode == 1, val   # missing partner, unreadable LQ, off-scale pair
    before_hq, before_lq = tree_digest(hq), tree_digest(lq)
    dest, out = tmp_path / "q", tmp_path / "r"
    res = run_cli("--action", "quarantine", "--hq", hq, "--lq", lq, "--dest", dest,
                  "--from-report", tmp_path / "v" / "validate_report.json", "--apply",
                  "--report-dir", out, *FAST)
    assert res.returncode == 0, res
    assert selected(out) == {"off.png": ["scale_mismatch"], "badlq.png": ["lq integrity"],
                             "alone.png": ["missing_partner"]}
    assert set(tree_digest(dest / "hq")) == {"off.png", "badlq.png", "alone.png"}
    assert set(tree_digest(dest / "lq")) == {"off.png", "badlq.png"}
    assert set(tree_digest(hq)) == set(tree_digest(lq)) == {"p0.png", "p1.png", "p2.png"}
    assert run_cli("undo", report(out)["files"]["undo_manifest"], "--apply").returncode == 0
    assert tree_digest(hq) == before_hq and tree_digest(lq) == before_lq


def test_integrity_report_selects_its_findings_trash_and_undo(planted, tmp_path, run_cli):
    integ = run_cli("--action", "integrity", "--input", planted, "--report-dir", tmp_path / "i",
                    *FAST)
    assert integ.returncode == 1, integ
    before = tree_digest(planted)
    res = run_cli("--action", "quarantine", "--input", planted, "--mode", "trash",
                  "--from-report", tmp_path / "i" / "integrity_report.json", "--apply",
                  "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 0, res
    assert selected(tmp_path / "r") == {"sub/truncated.png": ["integrity truncated"],
                                        "renamed.jpg": ["integrity extension_mismatch"]}
    assert set(before) - set(tree_digest(planted)) == {"sub/truncated.png", "renamed.jpg"}
    undo = run_cli("undo", report(tmp_path / "r")["files"]["undo_manifest"], "--apply")
    assert undo.returncode == 0, undo          # back from the (test's own) system trash
    assert tree_digest(planted) == before


def test_kill_9_mid_apply_then_rerun_finishes_and_undo_restores(tmp_path, run_cli):
    root = tmp_path / "many"
    rng = np.random.default_rng(0)
    for i in range(400):
        path = root / f"d{i % 7}" / f"f{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), np.uint8)).save(path)
    before = tree_digest(root)
    dest, out = tmp_path / "q", tmp_path / "r"
    args = ["--action", "quarantine", "--input", str(root), "--dest", str(dest), "--where",
            "bytes>0", "--apply", "--report-dir", str(out), "--processing-type", "serial"]
    proc = subprocess.Popen([sys.executable, "-m", "dataset_forge", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "quarantine_undo.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists() and manifest.read_text().count("\n") > 40:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    moved_first = len(tree_digest(dest, skip_journal=True))
    assert 0 < moved_first < 400
    res = run_cli(*args)
    assert res.returncode == 0, res
    summary = report(out)["summary"]   # resumed: finished moves recognised, not redone
    assert summary["resumed_from"] + summary["applied"].get("already done", 0) >= moved_first
    assert summary["resumed_from"] + summary["applied"].get("already done", 0) \
        + summary["done"] == 400
    assert tree_digest(dest, skip_journal=True) == before and tree_digest(root) == {}
    undo = run_cli("undo", manifest, "--apply")
    assert undo.returncode == 0, undo
    assert tree_digest(root) == before and tree_digest(dest, skip_journal=True) == {}


def test_a_selection_from_a_report_alone_counts_the_images_it_looked_at(planted, tmp_path,
                                                                         run_cli):
    """Nothing is measured when a report selects: the outcome read '0 of 0 images ok'."""
    integ = run_cli("--action", "integrity", "--input", planted, "--report-dir", tmp_path / "i",
                    *FAST)
    assert integ.returncode == 1, integ
    images = len([p for p in planted.rglob("*") if p.is_file()])
    res = run_cli("--action", "quarantine", "--input", planted, "--dest", tmp_path / "rej",
                  "--from-report", tmp_path / "i" / "integrity_report.json",
                  "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 0, res
    run = report(tmp_path / "r")["run"]
    assert (run["ok"], run["failed"], run["unit"]) == (images, 0, "images"), run
    assert f"{images} of {images} images ok, 0 failed" in res.stdout
