"""Nothing lost, ever (issue 12): lossless-first compression, undo that keeps the last copy,
in-place swaps that survive kill -9, one run per output folder, large and deep-grey images.
Every test runs the real CLI in a subprocess, on real files."""
from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.compress.routes import webp_is_lossless


@pytest.fixture
def home(tmp_path) -> tuple[Path, dict[str, str]]:
    """A private trash for the CLI subprocesses."""
    home = tmp_path / "home"
    (home / "share").mkdir(parents=True)
    return home, {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}


def pixels(path: Path) -> np.ndarray:
    """What the file shows (a palette's entries may be reordered losslessly)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA") if im.mode == "P" else im)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def rows_of(report: dict) -> dict[str, dict]:
    import csv
    with open(report["files"]["rows_csv"], newline="") as fh:
        return {row["source"]: row for row in csv.DictReader(fh)}


def make_set(folder: Path, make_image) -> None:
    """HQ-like sources: quality-95 JPEGs, an RGB and a palette PNG, a lossless and a lossy WebP."""
    for i in range(2):
        make_image(folder / f"photo{i}.jpg", size=(96, 64), seed=i, quality=95)
    make_image(folder / "drawing.png", size=(64, 48), seed=5)
    make_image(folder / "palette.png", size=(64, 48), seed=8, mode="P")
    make_image(folder / "exact.webp", size=(64, 48), seed=6, lossless=True)
    make_image(folder / "lossy.webp", size=(64, 48), seed=7, quality=90)


# -- item 1: lossless first; lossy in place only when asked, and then always undoable ---------

def test_in_place_compress_is_lossless_by_default(run_cli, tmp_path, make_image, home):
    src = tmp_path / "in"
    make_set(src, make_image)
    before = {name: pixels(src / name) for name in files(src)}
    sizes = {name: len(data) for name, data in files(src).items()}
    lossy_webp = (src / "lossy.webp").read_bytes()
    result = run_cli("--action", "compress", "--input", src, "--in-place", "--json",
                     env=home[1])
    assert result.returncode == 0, result
    report = result.json()
    for name, arr in before.items():      # every picture keeps every pixel
        assert np.array_equal(pixels(src / name), arr), name
        assert (src / name).stat().st_size <= sizes[name], name
    rows = rows_of(report)
    assert {r["pixel_identical"] for r in rows.values()} == {"True"}
    assert rows["photo0.jpg"]["route"] == "optimise-jpeg"
    assert rows["photo0.jpg"]["status"] == "written"
    assert rows["drawing.png"]["route"] == "optimise-png"
    assert webp_is_lossless(src / "exact.webp")
    assert (src / "lossy.webp").read_bytes() == lossy_webp   # no lossless way: left alone
    assert "no lossless re-encode" in rows["lossy.webp"]["notes"]
    assert report["summary"]["pixel_identical"] == 6
    assert "undo_manifest" not in report["files"]           # nothing was lost to undo
    assert not (home[0] / "share/Trash").exists()


def test_in_place_lossy_on_request_trashes_every_original_and_undo_restores(
        run_cli, tmp_path, make_image, home):
    src = tmp_path / "in"
    make_set(src, make_image)
    originals = files(src)
    exact = pixels(src / "exact.webp")
    result = run_cli("--action", "compress", "--input", src, "--in-place", "--quality", "80",
                     "--no-only-if-smaller", "--json", env=home[1])
    assert result.returncode == 0, result
    report = result.json()
    rows = rows_of(report)
    lossy = {"photo0.jpg", "photo1.jpg", "lossy.webp"}
    assert {n for n, r in rows.items() if r["pixel_identical"] == "False"} == lossy
    assert webp_is_lossless(src / "exact.webp")              # lossless WebP stays lossless
    assert np.array_equal(pixels(src / "exact.webp"), exact)
    # same extension or not, every changed original is in the trash, byte for byte
    trashed = {p.name: p.read_bytes() for p in (home[0] / "share/Trash/files").iterdir()}
    assert trashed == {n: originals[n] for n in lossy}
    undo = run_cli("undo", report["files"]["undo_manifest"], "--apply", env=home[1])
    assert undo.returncode == 0, undo
    assert {n: files(src)[n] for n in lossy} == {n: originals[n] for n in lossy}


def test_in_place_lossy_conversion_needs_an_explicit_quality(run_cli, tmp_path, make_image):
    src = tmp_path / "in"
    make_image(src / "a.png")
    before = files(src)
    result = run_cli("--action", "convert", "--input", src, "--in-place", "--format", "jpeg")
    assert result.returncode == 2, result
    assert "--quality" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert files(src) == before


def test_same_named_originals_trashed_by_parallel_workers_all_survive(run_cli, tmp_path,
                                                                     make_image, home):
    src = tmp_path / "in"
    for i in range(12):  # the same name in every folder, as HQ/LQ trees have
        make_image(src / f"d{i}" / "0001.jpg", size=(48, 32), seed=i, quality=95)
    originals = sorted(p.read_bytes() for p in src.rglob("*.jpg"))
    result = run_cli("--action", "compress", "--input", src, "--in-place", "--quality", "60",
                     "--no-only-if-smaller", "--workers", "2", "--processing-type", "process",
                     "--chunk-size", "1",
                     "--json", env=home[1])
    assert result.returncode == 0, result
    trashed = sorted(p.read_bytes() for p in (home[0] / "share/Trash/files").iterdir())
    assert trashed == originals


# -- item 2: undo never removes the last copy -----------------------------------------------

@pytest.mark.parametrize("action", [("convert", "--format", "webp"), ("compress",)])
def test_undo_keeps_the_new_file_when_the_trash_was_emptied(run_cli, tmp_path, make_image,
                                                            home, action):
    src = tmp_path / "in"
    make_image(src / "a.png" if action[0] == "convert" else src / "a.jpg", quality=95)
    result = run_cli("--action", *action, "--input", src, "--in-place", "--quality", "70",
                     "--no-only-if-smaller", "--json", env=home[1])
    assert result.returncode == 0, result
    shutil.rmtree(home[0] / "share/Trash")                  # the user empties the trash
    left = files(src)
    assert len(left) == 1
    undo = run_cli("undo", result.json()["files"]["undo_manifest"], "--apply", env=home[1])
    assert undo.returncode == 1, undo
    assert files(src) == left                                # the only copy is still there
    assert "last copy" in undo.stdout


# -- item 4: a rerun after kill -9 recognises the swaps already made ------------------------

def test_rerun_after_a_kill_between_swap_and_journal_does_not_reencode(
        run_cli, tmp_path, make_image, home):
    src = tmp_path / "in"
    for i in range(4):
        make_image(src / f"{i}.png", size=(64, 48), seed=i)
    originals = files(src)
    args = ["--action", "convert", "--input", src, "--in-place", "--format", "jpeg",
            "--quality", "80", "--json"]
    first = run_cli(*args, env=home[1])
    assert first.returncode == 0, first
    converted = files(src)
    # the state a kill -9 leaves after the swaps and before the journal lines: files swapped,
    # journal empty, and one swap cut after the trash, its new file still under its staged name
    journal = src / ".forge-journal" / "convert.jsonl"
    journal.write_text(journal.read_text().splitlines()[0] + "\n")
    intents = [json.loads(line) for line in
               (src / ".forge-journal" / "convert.intents.jsonl").read_text().splitlines()]
    cut = intents[0]
    Path(cut["dest"]).rename(cut["staged"])
    again = run_cli(*args, env=home[1])
    assert again.returncode == 0, again
    summary = again.json()["summary"]
    assert summary["done_earlier"] == 4 and summary.get("written", 0) == 0
    assert summary["interrupted_swaps_finished"] == 1
    assert files(src) == converted                          # no lossy re-encode of a JPEG
    assert not list(src.glob(".*.forge-tmp"))
    undo = run_cli("undo", first.json()["files"]["undo_manifest"], "--apply", env=home[1])
    assert undo.returncode == 0, undo
    assert files(src) == originals                          # no stray files


def test_in_place_convert_killed_rerun_and_undone_gives_back_every_original(
        run_cli, tmp_path, make_image, home, kill_cli_midway):
    src = tmp_path / "in"
    for i in range(30):
        make_image(src / f"{i:02d}.png", size=(160, 120), seed=i)
    originals = files(src)
    args = ["--action", "convert", "--input", src, "--in-place", "--format", "jpeg",
            "--quality", "80", "--workers", "1", "--processing-type", "serial"]
    intents = src / ".forge-journal" / "convert.intents.jsonl"
    kill_cli_midway([*args, "--report-dir", tmp_path / "r1"], intents, 3, env=home[1])
    again = run_cli(*args, "--report-dir", tmp_path / "r2", "--json", env=home[1])
    assert again.returncode == 0, again
    summary = again.json()["summary"]
    assert summary["done_earlier"] + summary["written"] == 30
    assert sorted(files(src)) == [f"{i:02d}.jpg" for i in range(30)]
    made = collections.defaultdict(set)      # each output was encoded exactly once
    for line in intents.read_text().splitlines():
        entry = json.loads(line)
        made[entry["key"]].add(entry["sha256"])
    assert all(len(shas) == 1 for shas in made.values()), made
    for run in ("r2", "r1"):                 # newest first, as a user would
        manifest = tmp_path / run / "convert_undo.jsonl"
        if manifest.exists():
            undo = run_cli("undo", manifest, "--apply", env=home[1])
            assert undo.returncode == 0, undo
    assert files(src) == originals           # every original back, no stray file


# -- item 8: two identical runs at once -----------------------------------------------------

def test_second_identical_run_refuses_while_the_first_holds_the_output(run_cli, tmp_path,
                                                                      make_image):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(30):
        make_image(src / f"{i:02d}.png", size=(160, 120), seed=i)
    args = ["--action", "convert", "--input", src, "--output", out, "--format", "webp",
            "--target-ssim", "0.97", "--workers", "1"]
    first = subprocess.Popen([sys.executable, "-m", "dataset_forge", *map(str, args), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out / ".forge-journal" / "convert.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not journal.exists() and first.poll() is None:
        time.sleep(0.02)
    second = run_cli(*args)
    stdout, stderr = first.communicate(timeout=180)
    assert second.returncode == 2, second
    assert "in use by convert" in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0, stderr
    assert json.loads(stdout)["summary"]["written"] == 30
    assert len(list(out.glob("*.webp"))) == 30


# -- item 11: a legitimate 108 Mpx photo is not a bomb; --max-pixels is the limit -----------

def test_108_megapixel_jpeg_compresses_and_max_pixels_is_honoured(run_cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    ramp = np.linspace(0, 255, 12000, dtype=np.float32).astype(np.uint8)
    Image.fromarray(np.broadcast_to(ramp, (9000, 12000)).copy(), "L").save(src / "big.jpg",
                                                                           quality=80)
    ok = run_cli("--action", "compress", "--input", src, "--output", tmp_path / "out",
                 "--json", "--workers", "1")
    assert ok.returncode == 0, ok
    assert ok.json()["summary"]["pixel_identical"] == 1
    limited = run_cli("--action", "compress", "--input", src, "--output", tmp_path / "small",
                      "--max-pixels", "100000000", "--json", "--workers", "1")
    assert limited.returncode == 1, limited
    message = limited.json()["failures"][0]["message"]
    assert "12000x9000" in message and "100,000,000" in message


# -- item 12: 32-bit and 16-bit grey TIFFs ---------------------------------------------------

@pytest.mark.parametrize("action", [("compress",), ("convert", "--format", "png")])
def test_deep_grey_tiffs_become_identical_pngs(run_cli, tmp_path, action):
    src = tmp_path / "in"
    src.mkdir()
    values = np.arange(48 * 64).reshape(48, 64)
    Image.fromarray((values * 20).astype(np.int32)).save(src / "i32.tif")
    Image.fromarray((values * 20).astype(np.uint16)).save(src / "i16.tif")
    assert Image.open(src / "i32.tif").mode == "I"
    result = run_cli("--action", *action, "--input", src, "--output", tmp_path / "out",
                     "--json")
    assert result.returncode == 0, result
    for name in ("i32", "i16"):
        out = pixels(tmp_path / "out" / f"{name}.png")
        assert out.dtype == np.uint16 and np.array_equal(out, values * 20), name
    assert {r["pixel_identical"] for r in rows_of(result.json()).values()} == {"True"}
