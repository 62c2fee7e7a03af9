"""rename, combine and organise through the real CLI: partners renamed and merged in lockstep,
shifting names through temporary names, collisions refused or resolved by policy, undo byte for
byte, organise idempotent in place."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from PIL import Image

from dataset_forge.curation.combine import Merger

from conftest import FAST, tree_digest


def summary(out: Path, action: str) -> dict:
    return json.loads((out / f"{action}_report.json").read_text())


def page_cells(page: Path) -> list[tuple[bool, str]]:
    """(has a picture, caption) for every cell of the HTML page's grid of files."""
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.cells: list[list] = []
            self.depth = 0

        def handle_starttag(self, tag, attrs):
            if tag == "div" and ("class", "cell") in attrs:
                self.cells.append([False, ""])
                self.depth = 1
            elif self.depth and tag == "div":
                self.depth += 1
            elif self.depth and tag == "img" and dict(attrs)["src"].startswith("data:image/"):
                self.cells[-1][0] = True

        def handle_endtag(self, tag):
            if self.depth and tag == "div":
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.cells[-1][1] += data
    parser = Cells()
    parser.feed(page.read_text())
    return [tuple(c) for c in parser.cells]


def make_pairs(root: Path, names: list[str], make_image, seed: int = 0) -> tuple[Path, Path]:
    hq, lq = root / "hq", root / "lq"
    for i, name in enumerate(names):
        make_image(hq / f"{name}.png", size=(32, 24), seed=seed + i)
        (lq / name).parent.mkdir(parents=True, exist_ok=True)
        Image.open(hq / f"{name}.png").resize((16, 12)).save(lq / f"{name}.jpg")
    return hq, lq


def test_rename_shifts_names_in_lockstep_then_undo(tmp_path, run_cli, make_image):
    hq, lq = make_pairs(tmp_path, ["000001", "000002", "000003"], make_image)
    before_hq, before_lq = tree_digest(hq), tree_digest(lq)
    out = tmp_path / "r"
    res = run_cli("--action", "rename", "--hq", hq, "--lq", lq, "--start", 2, "--apply",
                  "--report-dir", out, *FAST)
    assert res.returncode == 0, res
    # 000001 -> 000002 -> 000003 -> 000004: each file moved up by one, partners alike
    assert tree_digest(hq) == {f"00000{n + 1}.png": before_hq[f"00000{n}.png"] for n in (1, 2, 3)}
    assert tree_digest(lq) == {f"00000{n + 1}.jpg": before_lq[f"00000{n}.jpg"] for n in (1, 2, 3)}
    assert not [p for p in hq.iterdir() if p.name.startswith(".forge")]
    page = Path(summary(out, "rename")["files"]["html"])
    assert page == (out / "rename_report.html").resolve()
    cells = page_cells(page)   # the moved files, pictured where they are now
    assert len(cells) == 6 and all(picture for picture, _ in cells)
    assert {c for _, c in cells} >= {f"{hq / '000003.png'} \u2192 {hq / '000004.png'}",
                                     f"{lq / '000001.jpg'} \u2192 {lq / '000002.jpg'}"}
    assert "Operations planned" in page.read_text()
    undo = run_cli("undo", summary(out, "rename")["files"]["undo_manifest"], "--apply")
    assert undo.returncode == 0, undo
    assert tree_digest(hq) == before_hq and tree_digest(lq) == before_lq


def test_rename_refuses_colliding_names_before_anything_moves(tmp_path, run_cli, make_image):
    root = tmp_path / "in"
    for i in range(3):
        make_image(root / f"p{i}.png", size=(32, 24), seed=i)
    make_image(root / "odd.png", size=(40, 24), seed=9)
    before = tree_digest(root)
    res = run_cli("--action", "rename", "--input", root, "--pattern", "{width}x{height}",
                  "--apply", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 1, res
    failures = summary(tmp_path / "r", "rename")["failures"]
    assert [(f["error_type"], Path(f["item"]).name) for f in failures] == \
        [("duplicate_destination", "32x24.png")]
    assert tree_digest(root) == before


def test_combine_pair_sets_renames_collisions_in_lockstep(tmp_path, run_cli, make_image):
    a_hq, a_lq = make_pairs(tmp_path / "a", ["x", "sub/y"], make_image)
    b_hq, b_lq = make_pairs(tmp_path / "b", ["x", "z"], make_image, seed=10)
    merged = tmp_path / "m"
    res = run_cli("--action", "combine", "--inputs", f"{tmp_path / 'a'},{tmp_path / 'b'}",
                  "--pairs", "--output", merged, "--apply", "--report-dir", tmp_path / "r", *FAST)
    assert res.returncode == 0, res
    assert tree_digest(merged / "hq") == {"x.png": tree_digest(a_hq)["x.png"],
                                     "sub/y.png": tree_digest(a_hq)["sub/y.png"],
                                     "x_1.png": tree_digest(b_hq)["x.png"],
                                     "z.png": tree_digest(b_hq)["z.png"]}
    assert set(tree_digest(merged / "lq")) == {"x.jpg", "sub/y.jpg", "x_1.jpg", "z.jpg"}
    assert tree_digest(merged / "lq")["x_1.jpg"] == tree_digest(b_lq)["x.jpg"]
    with open(merged / "combine_provenance.csv", newline="") as fh:
        rows = {Path(r["output"]).name: r for r in csv.DictReader(fh)}
    assert rows["x_1.png"]["source_folder"] == str(tmp_path / "b")
    assert rows["x_1.png"]["status"] == "renamed"
    assert Path(rows["x_1.png"]["original"]) == b_hq / "x.png"
    cells = page_cells(tmp_path / "r" / "combine_report.html")
    assert len(cells) == 8 and all(picture for picture, _ in cells)
    assert f"{b_hq / 'x.png'} \u2192 {merged / 'hq' / 'x_1.png'}" in {c for _, c in cells}


def test_collision_policies_skip_and_keep_larger(tmp_path):
    sizes = {Path("a/x.png"): (100, 1), Path("b/x.jpg"): (400, 1), Path("c/x.png"): (50, 9)}
    taken = {"kept"}
    larger = Merger("keep-larger", taken.__contains__, sizes.__getitem__)
    skip = Merger("skip", taken.__contains__, sizes.__getitem__)
    for merger in (larger, skip):
        for p in sizes:
            merger.offer(str(p.parent), "x", p, None)
        merger.offer("d", "kept", Path("d/kept.png"), None)   # already in the output
    assert [i.path for i in larger.placed] == [Path("b/x.jpg")]
    assert sorted(str(i.path) for i in larger.skipped) == ["a/x.png", "c/x.png", "d/kept.png"]
    assert [i.path for i in skip.placed] == [Path("a/x.png")]
    assert all(i.status.startswith("skipped") for i in skip.skipped)


def test_organise_sorts_in_place_once_and_flattens_into_output(tmp_path, run_cli, make_image):
    root = tmp_path / "in"
    make_image(root / "sub" / "wide.png", size=(40, 20))
    make_image(root / "tall.png", size=(20, 40), seed=1)
    make_image(root / "even.jpg", size=(30, 30), seed=2)
    flat = run_cli("--action", "organise", "--input", root, "--by", "flatten", "--output",
                   tmp_path / "flat", "--mode", "copy", "--apply", "--report-dir",
                   tmp_path / "r0", *FAST)
    assert flat.returncode == 0, flat
    assert set(tree_digest(tmp_path / "flat")) == {"sub_wide.png", "tall.png", "even.jpg"}
    dry = run_cli("--action", "organise", "--input", root, "--by", "orientation",
                  "--report-dir", tmp_path / "dry", *FAST)
    assert dry.returncode == 0, dry
    cells = page_cells(tmp_path / "dry" / "organise_report.html")   # a dry run: planned moves
    assert sorted(c for _, c in cells) == [f"{root / 'even.jpg'} \u2192 {root / 'square/even.jpg'}",
                                           f"{root / 'sub/wide.png'} \u2192 "
                                           f"{root / 'landscape/sub/wide.png'}",
                                           f"{root / 'tall.png'} \u2192 {root / 'portrait/tall.png'}"]
    assert all(picture for picture, _ in cells)
    before = tree_digest(root)
    args = ["--action", "organise", "--input", root, "--by", "orientation", "--apply", *FAST]
    res = run_cli(*args, "--report-dir", tmp_path / "r1")
    assert res.returncode == 0, res
    assert tree_digest(root) == {"landscape/sub/wide.png": before["sub/wide.png"],
                            "portrait/tall.png": before["tall.png"],
                            "square/even.jpg": before["even.jpg"]}
    again = run_cli(*args, "--report-dir", tmp_path / "r2")   # already sorted: nothing moves
    assert again.returncode == 0, again
    assert summary(tmp_path / "r2", "organise")["summary"]["planned_operations"] == 0
    undo = run_cli("undo", summary(tmp_path / "r1", "organise")["files"]["undo_manifest"],
                   "--apply")
    assert undo.returncode == 0 and tree_digest(root) == before, undo
    # the category folders the run made are gone too (they stayed behind, empty)
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == \
        ["even.jpg", "sub", "tall.png"]


def test_combine_refuses_a_folder_given_twice_or_inside_another(tmp_path, run_cli, make_image):
    """`--inputs a,a` (or a and a/sub) planned every shared file twice: 'planned 2 times' per
    file, exit 1. It is a usage error that names both folders, and nothing is written."""
    a = tmp_path / "a"
    make_image(a / "x.png")
    make_image(a / "sub" / "y.png", seed=1)
    for second, how in ((a, "is the same folder as"), (a / "sub", "overlaps")):
        res = run_cli("--action", "combine", "--inputs", f"{a},{second}", "--output",
                      tmp_path / "m", "--apply")
        assert res.returncode == 2, res
        assert f"--inputs {a} {how} {second}" in res.stderr, res
        assert not (tmp_path / "m").exists()


def test_hard_links_to_another_drive_are_refused_before_anything_is_linked(tmp_path, run_cli,
                                                                         make_image):
    """combine --mode hardlink (sr-pairs' staging) onto another filesystem failed file by file
    ('Invalid cross-device link', one line per file); the plan is refused in one problem line."""
    import os
    import shutil
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        import pytest
        pytest.skip("needs a second filesystem (/dev/shm)")
    src = tmp_path / "photos"
    for i in range(3):
        make_image(src / f"p{i}.png", seed=i)
    out = shm / f"forge-test-{os.getpid()}-{tmp_path.name}"
    try:
        res = run_cli("--action", "combine", "--inputs", src, "--output", out,
                      "--mode", "hardlink", "--apply", "--json")
        assert res.returncode == 1, res
        report = res.json()
        assert [(f["error_type"], f["message"]) for f in report["failures"]] == [
            ("cross_device", f"hard links cannot cross filesystems: {out} is on another one "
                             f"than {src}; use --mode copy")]
        assert report["summary"]["refused"] == 1
        assert not [p for p in out.rglob("*.png")]
    finally:
        shutil.rmtree(out, ignore_errors=True)
