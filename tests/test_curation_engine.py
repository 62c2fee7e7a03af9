"""Curation engine pieces in-process: criteria and subset parsing, assignment, name patterns,
two-phase renames, the plan's collision checks. (The actions are tested through the CLI.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dataset_forge.curation.naming import category, pattern_fields, render, two_phase
from dataset_forge.curation.plan import Plan
from dataset_forge.curation.rules import RULES, parse_criterion
from dataset_forge.curation.split import assign, link, parse_subsets


@pytest.mark.parametrize("text, row, selected", [
    ("width<512", {"width": 300}, True), ("width<512", {"width": 512}, False),
    ("megapixels>=2", {"width": 2000, "height": 1000}, True),
    ("format=png", {"content_format": "PNG"}, True), ("mode!=RGB", {"mode": "RGB"}, False),
    ("alpha=yes", {"has_alpha": True}, True), ("sharpness<0.4", {}, False),
])
def test_criteria(text, row, selected):
    assert parse_criterion(text).test(row) is selected


@pytest.mark.parametrize("text", ["width<<3", "colour=3", "format>PNG", "width<big", "alpha=3"])
def test_bad_criteria_say_why_in_one_line(text):
    with pytest.raises(ValueError) as err:
        parse_criterion(text)
    assert "\n" not in str(err.value)


def test_named_rules_are_the_validate_predicates():
    assert RULES["integrity"].test({"status": "truncated"})
    assert not RULES["integrity"].test({"status": "ok"})
    assert RULES["unusual_mode"].test({"mode": "P"}) and not RULES["unusual_mode"].test({"mode": "L"})
    assert RULES["scale_mismatch"].test({"scale_status": "off_by_pixels"})
    assert RULES["dark"].test({"flags": "dark blurry"}) and not RULES["light"].test({"flags": "dark"})


def test_subsets_ratios_counts_and_targets():
    ratios = parse_subsets(["train=8", "val=1", "test=1"])
    assert ratios.ratios == (0.8, 0.1, 0.1) and ratios.targets(11) == [9, 1, 1]
    counts = parse_subsets(["val=3", "train=rest", "test=2"])
    assert counts.targets(10) == [3, 5, 2]
    for bad in (["train=1"], ["a=rest", "b=rest"], ["a=0.5", "b=x"], ["val=0.5", "t=rest"]):
        with pytest.raises(ValueError):
            parse_subsets(bad)


def test_assignment_keeps_groups_whole_and_is_deterministic():
    keys = [f"f{i:03d}" for i in range(200)]
    labels = link(200, [[0, 50, 199], [3, 4], [50, 120]])
    assert labels[120] == labels[0] == labels[199] and labels[3] == labels[4]
    subsets = parse_subsets(["train=0.7", "val=0.3"])
    for by in ("name", "seed"):
        names = assign(keys, labels, [""] * 200, subsets, by=by, seed=1)
        assert names == assign(keys, labels, [""] * 200, subsets, by=by, seed=1)
        assert len({names[i] for i in (0, 50, 120, 199)}) == 1 and names[3] == names[4]
    exact = assign(keys, np.arange(200), [""] * 200, subsets, by="seed", seed=1)
    assert exact.count("val") == 60


def test_patterns_and_categories():
    assert pattern_fields("{index:04d}_{hash8}") == {"index", "hash8"}
    assert render("{folder}_{index:03d}", {"folder": "cats", "index": 7}) == "cats_007"
    for bad in ("plain", "{nosuch}", "{}", "{index"):
        with pytest.raises(ValueError):
            pattern_fields(bad)
    facts = {"width": 300, "height": 200, "exif_orientation": 6, "content_format": "JPEG"}
    assert category("orientation", facts) == "portrait"   # EXIF turns it
    assert category("aspect", {"width": 1920, "height": 1080}) == "16x9"
    assert category("aspect", {"width": 1000, "height": 10}) == "other"
    assert category("format", facts) == "jpeg"


def test_two_phase_renames_only_when_names_cycle(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    plain = [(a, tmp_path / "x", "u1")]
    assert two_phase(plain) == plain
    steps = two_phase([(a, b, "u1"), (b, a, "u2"), (c, tmp_path / "d", "u3")])
    assert [s[1].name for s in steps[:3]] == [".forge-rename-0-a", ".forge-rename-1-b", "d"]
    assert steps[3:] == [(steps[0][1], b, "u1"), (steps[1][1], a, "u2")]


def test_plan_problems(tmp_path):
    for name in ("a", "b", "taken"):
        (tmp_path / name).write_text(name)
    with Plan.create(tmp_path / "p.sqlite", "test", "fp") as plan:
        plan.add("move", tmp_path / "a", tmp_path / "out" / "x", unit="a")
        plan.add("move", tmp_path / "b", tmp_path / "out" / "x", unit="b")
        plan.add("copy", tmp_path / "a", tmp_path / "taken", unit="a2")
        plan.add("move", tmp_path / "gone", tmp_path / "out" / "y", unit="g")
        plan.finish_building()
        count, problems = plan.problems()
        assert count == 4
        assert sorted(p.kind for p in problems) == ["destination_exists",
                                                     "duplicate_destination", "missing",
                                                     "planned_twice"]
        assert len(list(plan.pending())) == 4 and plan.done_count() == 0
