"""The `dedup` action and `undo` command through the real CLI, on real generated images."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import DEMO, FAST, tree_digest
from dataset_forge.dedup.plan import read_plan


def groups_of(report_dir: Path) -> list[set[str]]:
    plan = read_plan(report_dir / "dedup_groups.json")
    return sorted(({m.path for m in g.members} for g in plan.groups), key=sorted)


def truth(key: str) -> list[set[str]]:
    manifest = json.loads((DEMO / "manifest.json").read_text())
    return sorted(({p.removeprefix("mixed/") for p in g} for g in manifest["expected"][key]),
                  key=sorted)


@pytest.fixture
def dupes(tmp_path, make_image) -> Path:
    """a.png (+ exact copy, + half-size copy, + JPEG re-encode), b.png (+ copy), c.png alone."""
    root = tmp_path / "photos"
    a = make_image(root / "a.png", size=(128, 96), seed=1)
    shutil.copy(a, root / "sub" / "a_copy.png") if (root / "sub").mkdir() is None else None
    Image.open(a).resize((64, 48), Image.Resampling.LANCZOS).save(root / "a_small.png")
    Image.open(a).save(root / "a_q60.jpg", quality=60)
    b = make_image(root / "b.png", size=(96, 96), seed=2)
    shutil.copy(b, root / "b_copy.png")
    make_image(root / "c.png", size=(96, 72), seed=3)
    return root


def test_demo_ground_truth_exact_and_near(run_cli, tmp_path):
    exact = run_cli("--action", "dedup", "--input", DEMO / "mixed", "--method", "exact",
                    "--output", tmp_path / "exact", "--cache", "off", *FAST)
    assert exact.returncode == 0, exact            # bytes hash even where pixels do not decode
    assert groups_of(tmp_path / "exact") == truth("exact_duplicate_groups")
    near = run_cli("--action", "dedup", "--input", DEMO / "mixed", "--method", "phash",
                   "--invariant", "--output", tmp_path / "near", "--cache", tmp_path / "c.db",
                   "--json", *FAST)
    assert groups_of(tmp_path / "near") == sorted(
        truth("exact_duplicate_groups") + truth("near_duplicate_groups"), key=sorted)
    report = near.json()
    assert report["summary"]["computed"] == 21 and len(report["failures"]) == 3
    html = (tmp_path / "near" / "dedup.html").read_text()
    assert html.count("<img") == 9 and "KEEP" in html
    with open(tmp_path / "near" / "dedup_pairs.csv") as fh:
        assert all(float(r["score"]) <= 10 for r in csv.DictReader(fh))


def test_dry_run_apply_undo_and_cache(run_cli, dupes, tmp_path):
    before = tree_digest(dupes)
    common = ("--action", "dedup", "--input", dupes, "--mode", "move", "--dest", tmp_path / "moved",
              "--cache", tmp_path / "cache.db", "--keep", "resolution", "--json", *FAST)
    dry = run_cli(*common, "--output", tmp_path / "dry")
    assert dry.returncode == 0, dry
    assert tree_digest(dupes) == before and not (tmp_path / "moved").exists()
    assert groups_of(tmp_path / "dry") == [{"a.png", "sub/a_copy.png", "a_small.png", "a_q60.jpg"},
                                           {"b.png", "b_copy.png"}]
    planned = dry.json()["summary"]
    assert planned["planned_operations"] == 4 and planned["computed"] == 7

    applied = run_cli(*common, "--output", tmp_path / "applied", "--apply")
    assert applied.returncode == 0, applied
    report = applied.json()
    assert report["summary"]["from_cache"] == 7 and report["summary"]["computed"] == 0
    assert report["summary"]["verified_from_cache"] == report["summary"]["candidate_pairs"] > 0
    moved = tree_digest(tmp_path / "moved")
    plan = read_plan(tmp_path / "applied" / "dedup_groups.json")
    duplicates = sorted(g.members[k].path for g in plan.groups for k in g.dropped)
    assert sorted(moved) == duplicates                         # exactly the reported files
    assert {m: before[m] for m in moved} == moved               # byte for byte, relative paths kept
    assert "a.png" not in moved and "c.png" in tree_digest(dupes)

    from dataset_forge.cli import main
    assert main(["undo", report["files"]["undo_manifest"]]) == 0     # dry run lists only
    assert tree_digest(dupes) != before
    undo = run_cli("undo", report["files"]["undo_manifest"], "--apply")
    assert undo.returncode == 0, undo
    assert tree_digest(dupes) == before
    assert not (tmp_path / "moved").exists()  # the folders the run created are gone too


def test_outcome_counts_the_same_images_cold_and_warm(run_cli, dupes, tmp_path):
    (dupes / "broken.jpg").write_bytes(b"not a picture")
    runs = [run_cli("--action", "dedup", "--input", dupes, "--cache", tmp_path / "c.db",
                    "--output", tmp_path / f"r{i}", "--json", *FAST).json() for i in (1, 2)]
    assert runs[1]["summary"]["computed"] == 0          # the warm run hashed nothing again
    assert [(r["run"]["ok"], r["run"]["failed"]) for r in runs] == [(7, 1), (7, 1)]


def test_remove_goes_to_trash_and_undo_restores(run_cli, dupes, tmp_path):
    before = tree_digest(dupes)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    result = run_cli("--action", "dedup", "--input", dupes, "--method", "exact", "--mode", "remove",
                     "--apply", "--output", tmp_path / "r", "--cache", "off", "--json", *FAST, env=env)
    assert result.returncode == 0, result
    trashed = sorted(p.name for p in (home / "share" / "Trash" / "files").iterdir())
    assert len(trashed) == 2 and sorted(set(before) - set(tree_digest(dupes))) in (
        ["b_copy.png", "sub/a_copy.png"], ["a.png", "b_copy.png"], ["b.png", "sub/a_copy.png"],
        ["a.png", "b.png"])
    undo = run_cli("undo", result.json()["files"]["undo_manifest"], "--apply", env=env)
    assert undo.returncode == 0, undo
    assert tree_digest(dupes) == before


def test_hq_lq_partners_move_together_and_reference_is_never_touched(run_cli, tmp_path, make_image):
    hq, lq, ref = tmp_path / "hq", tmp_path / "lq", tmp_path / "ref"
    for name, seed in (("x", 1), ("x_dup", 1), ("y", 2)):
        make_image(hq / f"{name}.png", size=(96, 64), seed=seed)
        make_image(lq / f"{name}.png", size=(48, 32), seed=seed + 10)
    make_image(lq / "orphan.png", size=(48, 32), seed=30)           # no HQ partner
    make_image(ref / "y_ref.png", size=(96, 64), seed=2)
    before_ref = tree_digest(ref)
    result = run_cli("--action", "dedup", "--hq", hq, "--lq", lq, "--reference", ref,
                     "--method", "exact", "--pixels", "--keep", "shortest-path", "--mode", "move",
                     "--dest", tmp_path / "d", "--apply", "--output", tmp_path / "r", "--cache", "off",
                     "--json", *FAST)
    assert result.returncode == 0, result
    moved = sorted(tree_digest(tmp_path / "d"))
    assert moved == ["hq/x_dup.png", "hq/y.png", "lq/x_dup.png", "lq/y.png"]
    assert tree_digest(ref) == before_ref
    assert sorted(tree_digest(hq)) == ["x.png"]
    assert sorted(tree_digest(lq)) == ["orphan.png", "x.png"]
    report = result.json()
    assert report["summary"]["unpaired_lq"] == 1
    assert (tmp_path / "r" / "dedup_unpaired_lq.csv").read_text().split() == [
        "file", str(lq / "orphan.png")]


def test_against_reports_only_new_duplicates(run_cli, dupes, tmp_path, make_image):
    new = tmp_path / "new"
    shutil.copy(dupes / "c.png", new / "c_again.png") if new.mkdir() is None else None
    make_image(new / "fresh.png", size=(96, 72), seed=50)
    result = run_cli("--action", "dedup", "--input", new, "--against", dupes, "--method", "exact",
                     "--output", tmp_path / "r", "--cache", "off", "--mode", "move", "--dest",
                     tmp_path / "d", "--apply", *FAST)
    assert result.returncode == 0, result
    groups = groups_of(tmp_path / "r")
    assert groups == [{"c_again.png", str(dupes / "c.png")}]    # a/b copies inside dupes: not reported
    assert sorted(tree_digest(tmp_path / "d")) == ["c_again.png"]
    assert (dupes / "c.png").exists()


def test_against_inside_input_stays_protected_and_unqueried(run_cli, tmp_path, make_image):
    data = tmp_path / "data"
    a = make_image(data / "archive" / "a.png", size=(64, 48), seed=1)
    shutil.copy(a, data / "archive" / "a_twin.png")         # duplicates inside the archive
    shutil.copy(a, data / "new_a.png")                      # a new file the archive already has
    make_image(data / "fresh.png", size=(64, 48), seed=2)
    archive_before = tree_digest(data / "archive")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    result = run_cli("--action", "dedup", "--input", data, "--against", data / "archive",
                     "--method", "exact", "--mode", "remove", "--apply", "--output",
                     tmp_path / "r", "--cache", "off", "--json", *FAST, env=env)
    assert result.returncode == 0, result
    assert tree_digest(data / "archive") == archive_before
    assert sorted(tree_digest(data)) == ["archive/a.png", "archive/a_twin.png", "fresh.png"]
    assert groups_of(tmp_path / "r") == [{"new_a.png", str(data / "archive" / "a.png"),
                                          str(data / "archive" / "a_twin.png")}]
    assert sorted(p.name for p in (home / "share" / "Trash" / "files").iterdir()) == ["new_a.png"]


def test_usage_errors_are_one_line(dupes, capsys):
    from dataset_forge.cli import main          # the CLI's own entry, in-process to save time
    assert main(["--action", "dedup", "--input", str(dupes), "--mode", "move",
                 "--dest", str(dupes / "x")]) == 2
    assert "inside" in capsys.readouterr().err
    assert main(["--action", "dedup", "--input", str(dupes / "sub"), "--mode", "move",
                 "--dest", str(dupes)]) == 2                  # a --dest holding the input
    assert "contains the input" in capsys.readouterr().err
    assert main(["--action", "dedup", "--mode", "move"]) == 2
    assert "--input" in capsys.readouterr().err
    assert main(["--action", "dedup", "--input", str(dupes / "sub"), "--against", str(dupes)]) == 2
    assert "inside --against" in capsys.readouterr().err
    assert main(["--action", "dedup", "--input", str(dupes), "--apply"]) == 2
    assert "--mode report changes nothing" in capsys.readouterr().err
    assert main(["--action", "dedup", "--input", str(dupes), "--verify-threshold", "0.4"]) == 2
    assert "at least 0.5" in capsys.readouterr().err     # approximate, unchecked scores below
    assert main(["undo", str(dupes / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "not" in err and "Traceback" not in err
