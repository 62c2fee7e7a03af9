"""Dedup you can trust (issue 11): groups never chain look-alike pictures, the weight-free
verifier, oversized groups, applying a reviewed plan, symlinked keepers, outputs inside the
input. Real generated images through the real CLI."""
from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from dataset_forge.dedup.aligned import AlignedVerifier, score_pair
from dataset_forge.dedup.plan import read_plan
from lookalikes import NEAR_DUPLICATES, diagram, star_field, write_family

FAST = ("--processing-type", "thread", "--workers", "2", "--cache", "off")


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> tuple[Path, list[set[str]]]:
    """Six star fields and six diagrams (one look per family), two of each with every kind of
    near-duplicate: 40 files, 4 true groups."""
    root = tmp_path_factory.mktemp("lookalikes") / "images"
    truth = write_family(root, star_field, "stars", range(6), 2)
    truth += write_family(root, diagram, "diagram", range(6), 2)
    return root, truth


def family_of(name: str) -> str:
    return Path(name).name.split("_")[0].split(".")[0]      # "stars03", "diagram01"


def test_verifier_rejects_look_alikes_and_accepts_crops_and_small_turns(tmp_path):
    for make in (star_field, diagram):
        make(0).save(tmp_path / "a.png")
        make(1).save(tmp_path / "other.png")
        im = make(0)
        NEAR_DUPLICATES["crop85"][0](im).save(tmp_path / "crop.png")
        NEAR_DUPLICATES["rot3"][0](im).save(tmp_path / "turned.png")
        verifier = AlignedVerifier()
        look_alike = score_pair((tmp_path / "a.png", tmp_path / "other.png"))
        crop = score_pair((tmp_path / "a.png", tmp_path / "crop.png"))
        turned = score_pair((tmp_path / "turned.png", tmp_path / "a.png"))
        assert look_alike < verifier.min_score - 0.15, make.__name__
        assert crop >= verifier.min_score and turned >= verifier.min_score, make.__name__


def test_groups_never_mix_look_alike_pictures(run_cli, families, tmp_path):
    """Default settings: every dropped file is a true copy of its keeper. Widening the hash
    tier (--threshold 18) makes look-alikes candidates: without verification they are grouped
    and would be removed; with it (the default) they are not."""
    root, truth = families
    group_of = {f: n for n, g in enumerate(truth) for f in g}
    for extra, expect_safe in (((), True), (("--threshold", "18"), True),
                               (("--threshold", "18", "--verify", "none"), False)):
        out = tmp_path / "-".join(extra or ("default",))
        result = run_cli("--action", "dedup", "--input", root, "--output", out, *FAST, *extra)
        assert result.returncode == 0, result
        plan = read_plan(out / "dedup_groups.json")
        wrong = [(g.keeper.path, g.members[k].path) for g in plan.groups for k in g.dropped
                 if group_of.get(g.members[k].path, -1) != group_of.get(g.keeper.path, -2)]
        assert (not wrong) == expect_safe, (extra, wrong)
        if expect_safe:
            assert all(len({family_of(m.path) for m in g.members}) == 1 for g in plan.groups)
    plan = read_plan(tmp_path / "default" / "dedup_groups.json")
    found = sum(len(g.dropped) for g in plan.groups)
    assert found >= sum(len(g) - 1 for g in truth) - 2     # nearly every copy is found
    with open(tmp_path / "default" / "dedup_groups.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kept"] == "False"]
    assert rows and all(float(r["verify_score"]) >= 0.92 for r in rows)   # checked vs keeper
    assert sum(r["distance_to_keep"] != "" for r in rows) > len(rows) // 2   # hash distance
    assert "to keep" in (tmp_path / "default" / "dedup.html").read_text()


def copies(folder: Path, n: int, make_image) -> Path:
    a = make_image(folder / "a.png", size=(96, 72), seed=7)
    for k in range(n):
        shutil.copy(a, folder / f"a_copy{k}.png")
    make_image(folder / "b.png", size=(96, 72), seed=8)
    shutil.copy(folder / "b.png", folder / "b_copy.png")
    return folder


def test_oversized_groups_are_refused_without_the_flag(run_cli, tmp_path, make_image):
    data = copies(tmp_path / "data", 4, make_image)       # a group of 5, and one of 2
    common = ("--action", "dedup", "--input", data, "--method", "exact", "--mode", "move",
              "--dest", tmp_path / "moved", "--max-group-size", "4", "--apply", "--json", *FAST)
    held = run_cli(*common, "--output", tmp_path / "r1")
    assert held.returncode == 1, held                       # the withheld group is a failure
    report = held.json()
    assert report["summary"]["large_groups"] == 1 and report["summary"]["largest_group"] == 5
    assert sorted(os.listdir(tmp_path / "moved")) == ["b_copy.png"]
    assert any("--allow-large-groups" in f.get("note", "") for f in report["findings"])
    assert "SUSPICIOUS" in (tmp_path / "r1" / "dedup.html").read_text()
    allowed = run_cli(*common, "--output", tmp_path / "r2", "--allow-large-groups")
    assert allowed.returncode == 0, allowed
    assert sorted(os.listdir(data)) == ["a.png", "b.png"]


def test_a_reviewed_plan_is_applied_without_a_second_search(run_cli, tmp_path, make_image):
    from menus.dedup_groups import set_keep, write_reviewed
    data = copies(tmp_path / "data", 2, make_image)
    first = run_cli("--action", "dedup", "--input", data, "--output", tmp_path / "r", *FAST)
    assert first.returncode == 0, first
    plan = read_plan(tmp_path / "r" / "dedup_groups.json")
    group = next(g for g in plan.groups if len(g.members) == 3)
    choice = next(k for k, m in enumerate(group.members) if m.path == "a_copy1.png")
    set_keep(group, choice)                                  # the reviewer keeps another file
    reviewed = write_reviewed(plan, tmp_path / "r")
    shutil.copy(data / "a.png", data / "a_late.png")         # new after the plan: not in it
    apply = ("--action", "dedup", "--plan", reviewed, "--mode", "move", "--dest",
             tmp_path / "moved", "--apply", "--json", *FAST)
    done = run_cli(*apply, "--output", tmp_path / "applied")
    assert done.returncode == 0, done
    summary = done.json()["summary"]
    assert "encoded" not in summary and "computed" not in summary   # nothing hashed again
    assert sorted(os.listdir(data)) == ["a_copy1.png", "a_late.png", "b.png"]
    assert sorted(os.listdir(tmp_path / "moved")) == ["a.png", "a_copy0.png", "b_copy.png"]

    (data / "b.png").write_bytes((data / "b.png").read_bytes() + b"\0")   # changed since
    again = run_cli(*apply, "--output", tmp_path / "again")
    assert again.returncode == 2 and "changed or gone since the plan was made" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_a_symlinked_keeper_never_dangles(run_cli, tmp_path, make_image):
    data = tmp_path / "data"
    real = make_image(data / "zz_real.png", size=(96, 72), seed=3)
    os.symlink(real.name, data / "a.png")                    # short name, the policy's pick
    shutil.copy(real, data / "m_copy_of_it.png")
    result = run_cli("--action", "dedup", "--input", data, "--method", "exact", "--mode", "move",
                     "--dest", tmp_path / "moved", "--apply", "--output", tmp_path / "r",
                     "--json", *FAST)
    assert result.returncode == 0, result
    assert (data / "a.png").is_symlink() and (data / "a.png").exists()   # still resolves
    assert (data / "zz_real.png").is_file()
    assert os.listdir(tmp_path / "moved") == ["m_copy_of_it.png"]
    assert any("symbolic link" in f.get("note", "") for f in result.json()["findings"])


@pytest.mark.parametrize("flag", ["--output", "--report-dir"])
def test_outputs_inside_the_input_are_refused(run_cli, tmp_path, make_image, flag):
    data = copies(tmp_path / "data", 1, make_image)
    before = sorted(p.name for p in data.rglob("*"))
    result = run_cli("--action", "dedup", "--input", data, flag, data / "reports", *FAST)
    assert result.returncode == 2 and "inside the input folder" in result.stderr, result
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in data.rglob("*")) == before


def test_resumed_apply_then_undo_restores_everything_with_exit_0(run_cli, tmp_path, make_image):
    """A run killed after logging a move (and one killed half-way through a move: the file
    linked at its destination, not yet unlinked) is finished by rerunning it; undo then
    restores every file and exits 0."""
    data = copies(tmp_path / "data", 3, make_image)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    common = ("--action", "dedup", "--input", data, "--method", "exact", "--mode", "move",
              "--dest", tmp_path / "moved", "--apply", "--output", tmp_path / "r", "--json", *FAST)
    first = run_cli(*common)
    assert first.returncode == 0, first
    moved = sorted(os.listdir(tmp_path / "moved"))
    assert moved == ["a_copy0.png", "a_copy1.png", "a_copy2.png", "b_copy.png"]
    # as if killed: one move logged but never done, one linked but not yet unlinked
    os.rename(tmp_path / "moved" / moved[0], data / moved[0])
    os.link(tmp_path / "moved" / moved[1], data / moved[1])
    again = run_cli(*common)
    assert again.returncode == 0, again
    assert sorted(os.listdir(tmp_path / "moved")) == moved
    assert sorted(os.listdir(data)) == ["a.png", "b.png"]
    undo = run_cli("undo", tmp_path / "r" / "dedup_undo.jsonl", "--apply")
    assert undo.returncode == 0, undo
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before
