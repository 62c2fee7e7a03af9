"""split through the real CLI: planted near-duplicates never cross subsets, HQ/LQ partners stay
together, the same command gives the same split, counts per stratum are exact."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from conftest import FAST
from dataset_forge.cli import main as cli_main


def plan_rows(out: Path) -> list[dict]:
    with open(out / "split_plan.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def subset_of(rows: list[dict]) -> dict[str, str]:
    """source file -> subset"""
    return {r["src"]: r["subset"] for r in rows}


@pytest.fixture
def pairs_with_dups(tmp_path, make_image) -> tuple[Path, Path, list[list[str]]]:
    """24 distinct x2 pairs; 8 of them have a re-encoded, resized near-copy in another folder
    (with its own LQ)."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    groups = []
    for i in range(24):
        name = f"a/img{i:02d}.png"
        make_image(hq / name, size=(96, 64), seed=i)
        (lq / name).parent.mkdir(parents=True, exist_ok=True)
        Image.open(hq / name).resize((48, 32)).save(lq / name)
        if i < 8:
            copy = f"b/copy{i:02d}.jpg"
            (hq / copy).parent.mkdir(parents=True, exist_ok=True)
            (lq / copy).parent.mkdir(parents=True, exist_ok=True)
            Image.open(hq / name).resize((90, 60)).resize((96, 64)).save(hq / copy, quality=80)
            Image.open(hq / copy).resize((48, 32)).save(lq / copy, quality=80)
            groups.append([str(hq / name), str(hq / copy)])
    return hq, lq, groups


def test_near_duplicates_and_partners_stay_together_and_reruns_match(pairs_with_dups, tmp_path,
                                                                     run_cli):
    hq, lq, groups = pairs_with_dups
    out = tmp_path / "splits"
    args = ["--action", "split", "--hq", hq, "--lq", lq, "--output", out, "--subsets",
            "train=0.5,val=0.5", "--by", "seed", "--seed", 5, *FAST]
    first = run_cli(*args, "--report-dir", tmp_path / "r1")     # a dry run
    assert first.returncode == 0 and not out.exists(), first
    rows = plan_rows(tmp_path / "r1")
    where = subset_of(rows)
    for group in groups:
        assert len({where[f] for f in group}) == 1, group
    applied = run_cli(*args, "--apply", "--report-dir", tmp_path / "r3")
    assert applied.returncode == 0, applied
    assert plan_rows(tmp_path / "r3") == rows                  # the same command, the same split
    for subset in ("train", "val"):
        hq_files = {p.relative_to(out / subset / "hq") for p in (out / subset / "hq").rglob("*.*")}
        lq_files = {p.relative_to(out / subset / "lq") for p in (out / subset / "lq").rglob("*.*")}
        assert hq_files == lq_files and hq_files
        with open(out / f"{subset}.csv", newline="") as fh:
            assert {Path(r["path"]) for r in csv.DictReader(fh)} == hq_files
    assert sum(1 for _ in out.rglob("*.png")) + sum(1 for _ in out.rglob("*.jpg")) == 64
    # the counterfactual: without duplicate awareness some planted group is torn apart
    rerun = run_cli(*args, "--apply", "--report-dir", tmp_path / "r5")   # finished: nothing to do
    assert rerun.returncode == 0, rerun
    summary = json.loads((tmp_path / "r5" / "split_report.json").read_text())["summary"]
    assert summary["applied"] == {"already done": 64}
    blind = run_cli(*args, "--duplicates", "none", "--report-dir", tmp_path / "r4")
    assert blind.returncode == 0, blind
    where = subset_of(plan_rows(tmp_path / "r4"))
    assert any(len({where[f] for f in group}) > 1 for group in groups)


def test_counts_are_exact_per_stratum(tmp_path, make_image, run_cli):
    root = tmp_path / "in"
    for folder in ("cats", "dogs"):
        for i in range(12):
            make_image(root / folder / f"{i:02d}.png", size=(16, 16), seed=i)
    res = run_cli("--action", "split", "--input", root, "--output", tmp_path / "s",
                  "--subsets", "val=3,test=2,train=rest", "--by", "seed", "--stratify-level", 1,
                  "--duplicates", "none", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 0, res
    rows = plan_rows(tmp_path / "r")
    for folder in ("cats", "dogs"):
        mine = [r["subset"] for r in rows if f"/in/{folder}/" in r["src"]]
        assert (mine.count("val"), mine.count("test"), mine.count("train")) == (3, 2, 7)


@pytest.mark.parametrize("extra, message", [
    (["--subsets", "val=10,train=rest", "--by", "name"], "needs --by seed"),
    (["--subsets", "train=0.8"], "at least two subsets"),
    (["--subsets", "a=0.5,a=0.5"], "named twice"),
    (["--output", "IN/x"], "inside the input folder"),
])
def test_bad_requests_are_one_line_errors(tmp_path, make_image, capsys, extra, message):
    root = tmp_path / "in"
    make_image(root / "a.png")
    extra = [str(root / "x") if a == "IN/x" else a for a in extra]
    args = ["--action", "split", "--input", str(root), "--output", str(tmp_path / "o"), *extra]
    assert cli_main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_dedup_report_feeds_split_groups_and_quarantine(tmp_path, run_cli, make_image):
    """Groups read through dedup's own reader: split keeps them together, quarantine takes the
    duplicates dedup would not keep."""
    root = tmp_path / "in"
    groups = []
    for i in range(6):
        make_image(root / "a" / f"p{i}.png", size=(64, 48), seed=i)
        if i < 4:
            (root / "b").mkdir(parents=True, exist_ok=True)
            (root / "b" / f"p{i}_copy.png").write_bytes((root / "a" / f"p{i}.png").read_bytes())
            groups.append([str(root / "a" / f"p{i}.png"), str(root / "b" / f"p{i}_copy.png")])
    dedup = run_cli("--action", "dedup", "--input", root, "--method", "exact", "--cache", "off",
                    "--report-dir", tmp_path / "d", *FAST)
    assert dedup.returncode == 0, dedup
    res = run_cli("--action", "split", "--input", root, "--output", tmp_path / "s", "--subsets",
                  "train=0.5,val=0.5", "--by", "seed", "--groups",
                  tmp_path / "d" / "dedup_groups.json", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 0, res
    where = subset_of(plan_rows(tmp_path / "r"))
    assert all(len({where[f] for f in group}) == 1 for group in groups)
    q = run_cli("--action", "quarantine", "--input", root, "--dest", tmp_path / "q",
                "--from-report", tmp_path / "d" / "dedup_report.json",
                "--report-dir", tmp_path / "rq", *FAST)
    assert q.returncode == 0, q
    found = json.loads((tmp_path / "rq" / "quarantine_report.json").read_text())["findings"]
    chosen = sorted(f["path"] for f in found if "path" in f)
    assert len(chosen) == 4 and all(f["rules"] == ["dedup duplicate"] for f in found
                                    if "path" in f)
    assert {Path(c).stem.removesuffix("_copy") for c in chosen} == {f"p{i}" for i in range(4)}


def test_dry_run_outcome_counts_the_files_split_even_when_hashes_are_cached(tmp_path, make_image,
                                                                            run_cli):
    """A second dry run finds every hash in the cache: its outcome read '0 of 0 images ok'."""
    root = tmp_path / "in"
    for i in range(6):
        make_image(root / f"{i}.png", size=(32, 32), seed=i)
    for _ in range(2):
        res = run_cli("--action", "split", "--input", root, "--output", tmp_path / "s",
                      "--subsets", "train=4,val=rest", "--json", *FAST)
        assert res.returncode == 0, res
        run = res.json()["run"]
        assert (run["ok"], run["failed"], run["unit"]) == (6, 0, "images"), run
