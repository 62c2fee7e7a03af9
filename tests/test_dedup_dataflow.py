"""Dedup's data flow through the real CLI: one decode per file (hash, verifier signature and
page thumbnail from it), nothing decoded on a warm run, no scratch left behind, trashing
through io.trash with a correct undo, and the keeper of files with equal resolution."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dataset_forge.dedup.plan import read_plan

from conftest import tree_digest
from test_dedup_cli import FAST, groups_of


@pytest.fixture
def photos(tmp_path, make_image) -> Path:
    """Two pictures with near copies (resized, re-encoded, mirrored) and one alone."""
    root = tmp_path / "photos"
    a = make_image(root / "a.png", size=(160, 120), seed=1)
    Image.open(a).resize((80, 60), Image.Resampling.LANCZOS).save(root / "a_small.png")
    Image.open(a).save(root / "a_q70.jpg", quality=70)
    b = make_image(root / "b.png", size=(128, 128), seed=2)
    Image.open(b).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "b_mirror.png")
    make_image(root / "c.png", size=(120, 90), seed=3)
    return root


def test_each_file_is_decoded_once_and_a_warm_run_decodes_nothing(run_cli, photos, tmp_path):
    cache = tmp_path / "features.sqlite"
    runs = {}
    for name in ("cold", "warm"):            # the default process pool, as users run it
        result = run_cli("--action", "dedup", "--input", photos, "--cache", cache,
                         "--output", tmp_path / name, "--json")
        assert result.returncode == 0, result
        runs[name] = result.json()["summary"]
    cold, warm = runs["cold"], runs["warm"]
    assert groups_of(tmp_path / "cold") == groups_of(tmp_path / "warm") == [
        {"a.png", "a_small.png", "a_q70.jpg"}, {"b.png", "b_mirror.png"}]
    assert cold["candidate_pairs"] >= 3 and cold["verify"] == "aligned"
    # cold: 6 decodes for 6 files; the verifier and the page decoded nothing more
    assert cold["decoded"] == cold["computed"] == cold["images"] == 6
    assert warm["decoded"] == warm["computed"] == 0 and warm["from_cache"] == 6
    assert warm["verified_from_cache"] == warm["candidate_pairs"] == cold["candidate_pairs"]
    for name in ("cold", "warm"):           # every member of every group has its thumbnail
        assert (tmp_path / name / "dedup.html").read_text().count("data:image/jpeg;base64,") >= 5
    Image.open(photos / "c.png").rotate(90).save(photos / "c.png")     # one file changes
    again = run_cli("--action", "dedup", "--input", photos, "--cache", cache,
                    "--output", tmp_path / "again", "--json", *FAST)
    assert again.json()["summary"]["decoded"] == again.json()["summary"]["computed"] == 1


def test_without_a_cache_signatures_live_in_a_scratch_file_that_is_removed(run_cli, photos,
                                                                         tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_cli("--action", "dedup", "--input", photos, "--cache", "off", "--output",
                     tmp_path / "r", "--json", *FAST, env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result
    summary = result.json()["summary"]
    assert summary["decoded"] == summary["images"] == 6 and summary["pairs"] == 4
    assert list(scratch.iterdir()) == []


def test_trashed_files_of_one_name_are_all_restored_by_undo(run_cli, tmp_path, make_image):
    """HQ and LQ partners share a name: both go to the trash (one at a time, io.trash), under
    two names there, and undo puts each back where it was."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    for name, seed in (("x", 1), ("x_dup", 1), ("y", 2)):
        make_image(hq / f"{name}.png", size=(96, 64), seed=seed)
        make_image(lq / f"{name}.png", size=(48, 32), seed=seed + 10)
    before = {**{f"hq/{k}": v for k, v in tree_digest(hq).items()},
              **{f"lq/{k}": v for k, v in tree_digest(lq).items()}}
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    result = run_cli("--action", "dedup", "--hq", hq, "--lq", lq, "--method", "exact",
                     "--pixels", "--keep", "shortest-path", "--mode", "remove", "--apply",
                     "--output", tmp_path / "r", "--cache", "off", "--json", *FAST, env=env)
    assert result.returncode == 0, result
    trashed = sorted(p.name for p in (home / "share" / "Trash" / "files").iterdir())
    assert len(trashed) == 2 and trashed[0] != trashed[1]
    assert sorted(tree_digest(hq)) == sorted(tree_digest(lq)) == ["x.png", "y.png"]
    undo = run_cli("undo", result.json()["files"]["undo_manifest"], "--apply", env=env)
    assert undo.returncode == 0, undo
    after = {**{f"hq/{k}": v for k, v in tree_digest(hq).items()},
             **{f"lq/{k}": v for k, v in tree_digest(lq).items()}}
    assert after == before


def diagram(path: Path) -> Path:
    """A flat-colour diagram: PNG stores it smaller than a low-quality JPEG does."""
    im = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(im)
    for k in range(6):
        draw.rectangle([20 + 48 * k, 30 + 20 * k, 60 + 48 * k, 200], outline="black", width=3,
                       fill=(40 * k, 120, 255 - 40 * k))
        draw.text((22 + 48 * k, 10), f"box {k}", fill="black")
    im.save(path)
    return path


def test_resolution_tie_keeps_the_lossless_original_over_a_low_quality_resave(run_cli, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    original = diagram(data / "original_diagram.png")
    resave = data / "d.jpg"                         # shorter name, older, larger file
    Image.open(original).save(resave, quality=40)
    os.utime(resave, (1_000_000_000, 1_000_000_000))
    assert resave.stat().st_size > original.stat().st_size     # the old rule kept the JPEG
    photo = tmp_path / "photo"
    photo.mkdir()
    noise = np.random.default_rng(4).integers(0, 255, (120, 160, 3), np.uint8)
    Image.fromarray(noise).resize((320, 240)).save(photo / "p.jpg", quality=95)
    Image.open(photo / "p.jpg").save(photo / "p_q40.jpg", quality=40)
    os.utime(photo / "p_q40.jpg", (1_000_000_000, 1_000_000_000))
    for folder, kept, dropped in ((data, "original_diagram.png", "d.jpg"),
                                  (photo, "p.jpg", "p_q40.jpg")):
        result = run_cli("--action", "dedup", "--input", folder, "--mode", "move", "--dest",
                         tmp_path / f"dupes_{folder.name}", "--apply", "--cache", "off",
                         "--output", tmp_path / f"r_{folder.name}", "--json", *FAST)
        assert result.returncode == 0, result
        assert sorted(tree_digest(folder)) == [kept]
        assert sorted(tree_digest(tmp_path / f"dupes_{folder.name}")) == [dropped]
        keeper = read_plan(tmp_path / f"r_{folder.name}" / "dedup_groups.json").groups[0].keeper
        assert keeper.path == kept
    assert keeper.quality == 95 and keeper.lossless is False


def test_resolution_tie_keeps_the_photo_over_its_palette_quantised_animated_copy(run_cli, tmp_path):
    """A GIF made from a photograph is exact only to its 256-colour palette: the photograph
    (a q90 JPEG) is kept, though the GIF is 'lossless', older and has the shorter name."""
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(7)
    photo = Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).resize((320, 240))
    photo.save(data / "zz_photo.jpg", quality=90)
    frames = [photo.quantize(256)] + [photo.rotate(a).quantize(256) for a in (10, 20)]
    frames[0].save(data / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    os.utime(data / "a.gif", (1_000_000_000, 1_000_000_000))
    result = run_cli("--action", "dedup", "--input", data, "--mode", "move", "--dest",
                     tmp_path / "dupes", "--apply", "--cache", "off", "--output",
                     tmp_path / "r", "--json", *FAST)
    assert result.returncode == 0, result
    assert sorted(tree_digest(data)) == ["zz_photo.jpg"]
    assert sorted(tree_digest(tmp_path / "dupes")) == ["a.gif"]
    members = read_plan(tmp_path / "r" / "dedup_groups.json").groups[0].members
    assert {m.path: m.reduced for m in members} == {"zz_photo.jpg": False, "a.gif": True}
