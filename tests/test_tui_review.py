"""The duplicate review screen on a real dedup output (files written here, groups found by the
CLI in a subprocess): bulk selectors, sorting, per-file toggles, apply through the reviewed plan
and the undo command that restores it, a changed file refusing the plan, the compare view, and
snapshots at 80x24 and 120x40."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from dataset_forge.dedup.plan import read_plan
from dataset_forge.reports.report import Report
from menus import dedup_groups as review
from menus.app import ForgeApp
from menus.screens.dedup_apply import AppliedDialog, ApplyDialog, FolderChoice
from menus.screens.dedup_compare import CompareScreen, View, crop, output_size
from menus.screens.dedup_review import DedupReviewScreen
from menus.screens.results import ResultsScreen
from menus.widgets.halfblock import HalfBlockPicture
from tests.conftest import photo_like, tree_digest
from tests.test_tui import SAMPLE, make_app, wait_for

DAY = 86_400
T0 = 1_700_000_000          # fixed modification times: dates in the table never move


def write_dataset(root: Path) -> Path:
    """Two groups and a loner. Group b: b.jpg is the largest file, keep/b_big.jpg the highest
    resolution (saved small), b_q40.jpg the newest. Group a: a.png largest and sharpest,
    a_small.png the newest, keep/a.jpg in the `keep` folder."""
    a = Image.fromarray(photo_like(96, 72, seed=1))
    b = Image.fromarray(photo_like(96, 72, seed=2))
    (root / "keep").mkdir(parents=True)
    a.save(root / "a.png")
    a.resize((64, 48), Image.Resampling.LANCZOS).save(root / "a_small.png")
    a.save(root / "keep" / "a.jpg", quality=95)
    b.save(root / "b.jpg", quality=92)
    b.save(root / "b_q40.jpg", quality=40)
    b.resize((120, 90), Image.Resampling.LANCZOS).save(root / "keep" / "b_big.jpg", quality=30)
    Image.fromarray(photo_like(96, 72, seed=3)).save(root / "c.png")
    ages = {"a.png": 5, "a_small.png": 1, "keep/a.jpg": 3, "b.jpg": 4, "b_q40.jpg": 1,
            "keep/b_big.jpg": 2, "c.png": 6}
    for name, days in ages.items():
        os.utime(root / name, (T0 - days * DAY, T0 - days * DAY))
    return root


def dedup_run(root: Path) -> Report:
    """A report-only dedup run by the CLI (a subprocess) on the dataset above, in `root`; its
    report as the app gets it."""
    data = write_dataset(root / "data")
    out = root / "reports"
    env = {**os.environ, "DATASET_FORGE_SETTINGS": str(root / "settings.toml"),
           "XDG_CACHE_HOME": str(root / "cache")}
    (root / "settings.toml").write_text(f'[logging]\ndir = "{root / "logs"}"\n')
    proc = subprocess.run([sys.executable, "-m", "dataset_forge", "--processing-type", "thread",
                           "--action", "dedup", "--input", str(data), "--output", str(out),
                           "--cache", "off"], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = Report.read_json(out / "dedup_report.json")
    groups = sorted(sorted(m.path for m in g.members) for g in read_plan(out / "dedup_groups.json").groups)
    assert groups == [["a.png", "a_small.png", "keep/a.jpg"], ["b.jpg", "b_q40.jpg", "keep/b_big.jpg"]]
    return report


@pytest.fixture(scope="module")
def shared_output(tmp_path_factory) -> tuple[Report, Path]:
    """One run for the tests that change files on disk neither (each opens it afresh)."""
    root = tmp_path_factory.mktemp("review")
    return dedup_run(root), root


@pytest.fixture
def dedup_output(shared_output) -> Report:
    return Report.read_json(Path(shared_output[0].files["report"]))


@pytest.fixture
def own_output(tmp_path) -> Report:
    """A run of its own, for the tests that move or touch files."""
    return dedup_run(tmp_path)


def keepers(screen: DedupReviewScreen) -> dict[str, list[str]]:
    """Group (named by its first member in path order) -> the files it keeps."""
    return {min(m.path for m in g.members): sorted(g.members[k].path for k in g.kept)
            for g in screen.plan.groups}


async def open_review(pilot, report: Report) -> DedupReviewScreen:
    pilot.app.push_screen(DedupReviewScreen(report))
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DedupReviewScreen)
                   and pilot.app.screen.order and not pilot.app.screen.pictures_pending
                   and not pilot.app.screen.workers)
    await pilot.pause()
    return pilot.app.screen


async def test_bulk_selectors_keep_one_file_per_group_by_each_rule(dedup_output, shared_output,
                                                                  tmp_path):
    root = shared_output[1]
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ResultsScreen(dedup_output))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await pilot.press("d")                                   # D on the results opens it
        await wait_for(pilot, lambda: isinstance(app.screen, DedupReviewScreen)
                       and app.screen.order)
        screen = app.screen
        assert keepers(screen) == {"a.png": ["a.png"], "b.jpg": ["keep/b_big.jpg"]}  # --keep resolution
        await pilot.press("l")                                   # largest file
        assert keepers(screen) == {"a.png": ["a.png"], "b.jpg": ["b.jpg"]}
        await pilot.press("n")                                   # newest
        assert keepers(screen) == {"a.png": ["a_small.png"], "b.jpg": ["b_q40.jpg"]}
        await pilot.press("r")                                   # highest resolution
        assert keepers(screen) == {"a.png": ["a.png"], "b.jpg": ["keep/b_big.jpg"]}
        await pilot.press("f")                                   # the one in a folder
        await wait_for(pilot, lambda: isinstance(app.screen, FolderChoice))
        folders = app.screen.folders
        app.screen.query_one("#folder-list").highlighted = folders.index(root / "data" / "keep")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DedupReviewScreen))
        assert keepers(screen) == {"a.png": ["keep/a.jpg"], "b.jpg": ["keep/b_big.jpg"]}
        summary = str(screen.query_one("#review-summary").render())
        assert "keep 2, drop 4" in summary and "in " in summary
        await pilot.press("w")
        await pilot.pause()
    saved = read_plan(Path(dedup_output.files["report"]).parent / "dedup_plan.json")
    assert {g.keeper.path for g in saved.groups} == {"keep/a.jpg", "keep/b_big.jpg"}


async def test_sorting_and_per_file_toggles_update_the_table_and_the_summary(dedup_output, tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, dedup_output)
        group = screen.group

        def shown(column: str) -> list:
            return [screen.table.get_cell(str(k), column) for k in screen.order]
        assert shown("mark")[0].plain == "KEEP"                 # distance order: keeper first
        await pilot.press("3")                                   # size, largest first
        sizes = [group.members[k].bytes for k in screen.order]
        assert sizes == sorted(sizes, reverse=True) and "size ▼" in str(screen.table.columns["size"].label)
        await pilot.press("3")                                   # again: smallest first
        assert [group.members[k].bytes for k in screen.order] == sorted(sizes)
        await pilot.press("1")                                   # file name
        assert shown("file") == sorted(shown("file"))
        await pilot.press("5")                                   # modification date, newest first
        times = [group.members[k].mtime_ns for k in screen.order]
        assert times == sorted(times, reverse=True)

        before = review.tally(screen.plan)
        dropped = next(k for k in screen.order if review.status(group, k) == "drop")
        screen.table.move_cursor(row=screen.order.index(dropped))
        await pilot.press("space")                               # keep it too
        assert review.status(group, dropped) == "keep"
        assert screen.table.get_cell(str(dropped), "mark").plain == "keep"
        after = review.tally(screen.plan)
        assert (after.kept, after.dropped) == (before.kept + 1, before.dropped - 1)
        assert f"keep {after.kept}, drop {after.dropped}" in str(screen.query_one("#review-summary").render())

        screen.table.move_cursor(row=screen.order.index(group.keep))
        await pilot.press("space")                               # drop the keeper: the other kept file takes over
        assert group.keep == dropped and len(group.kept) == 1
        screen.table.move_cursor(row=screen.order.index(group.keep))
        await pilot.press("space")                               # the last kept file: refused
        await pilot.pause()
        assert group.keep == dropped and len(group.kept) == 1
        assert any("only file this group keeps" in str(n.message) for n in app._notifications)

        other = next(k for k in screen.order if k != group.keep)
        screen.table.move_cursor(row=screen.order.index(other))
        await pilot.press("enter")                               # Enter: this one is the keeper
        assert group.keep == other


async def test_apply_moves_the_dropped_files_and_the_undo_command_restores_them(
        own_output, tmp_path, run_cli):
    dedup_output = own_output
    data, dest = tmp_path / "data", tmp_path / "dupes"
    files = tree_digest(data)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, dedup_output)
        await pilot.press("l")                                   # keep b.jpg and a.png
        at = next(i for i, g in enumerate(screen.groups) if "b.jpg" in {m.path for m in g.members})
        screen.query_one("#review-groups").move_cursor(row=at)
        await wait_for(pilot, lambda: screen.group_index == at)
        q40 = next(k for k, m in enumerate(screen.group.members) if m.path == "b_q40.jpg")
        screen.table.move_cursor(row=screen.order.index(q40))
        await pilot.press("space")                               # and b_q40.jpg too
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ApplyDialog))
        dialog = app.screen
        dialog.query_one("#apply-dest").value = str(dest)
        await pilot.pause()
        changes = str(dialog.query_one("#apply-changes").render())
        assert "3 file(s) will be moved into" in changes and "b_q40.jpg" not in changes
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, AppliedDialog), timeout=60)
        undo = app.screen.undo
        assert "3 done" in str(app.screen.query_one("#applied-text").render())
        assert undo in str(screen.query_one("#review-summary").render())
    moved = tree_digest(dest)
    assert moved == {name: files[name] for name in ("a_small.png", "keep/a.jpg", "keep/b_big.jpg")}
    assert sorted(tree_digest(data)) == ["a.png", "b.jpg", "b_q40.jpg", "c.png"]

    command = shlex.split(undo)
    assert command[:2] == ["dataset-forge", "undo"]
    result = run_cli(*command[1:])
    assert result.returncode == 0, result
    assert tree_digest(data) == files


async def test_a_file_changed_since_the_search_refuses_the_plan(dedup_output, shared_output,
                                                               tmp_path):
    data = shared_output[1] / "data"
    touched = data / "b_q40.jpg"
    before = touched.stat()
    app = make_app(tmp_path)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_review(pilot, dedup_output)
            os.utime(touched, (T0, T0))                          # touched after the search
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, DedupReviewScreen)    # no dialog
            titles = [n.title for n in app._notifications]
            summary = str(app.screen.query_one("#review-summary").render())
    finally:
        os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "Plan out of date" in titles
    assert "1 file(s) changed or gone" in summary and "b_q40.jpg" in summary
    assert touched.is_file() and (data / "keep" / "b_big.jpg").is_file()


async def test_compare_shows_the_same_region_of_both_and_moves_it(dedup_output, tmp_path):
    app = ForgeApp(str(tmp_path), sample_source=lambda: SAMPLE, pictures=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_review(pilot, dedup_output)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and len(app.screen.query(HalfBlockPicture)) == 2)
        compare = app.screen
        assert compare.shown == (0.0, 0.0, 1.0, 1.0)
        await pilot.press("1")                                   # 1:1 of the larger picture
        await pilot.pause()
        x0, y0, x1, y1 = compare.shown
        assert x1 - x0 < 1 or y1 - y0 < 1
        left, right = (w.image.size for w in compare.query(HalfBlockPicture))
        assert left == right                                     # same region, same size
        await pilot.press("right", "down")
        await pilot.pause()
        assert compare.shown[0] >= x0 and compare.shown[1] > y0
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


def test_crop_takes_the_same_fraction_of_pictures_of_different_sizes():
    big = Image.new("RGB", (200, 100), "white")
    big.paste((255, 0, 0), (100, 50, 200, 100))                 # red lower-right quarter
    small = big.resize((100, 50), Image.Resampling.NEAREST)
    view = View(0.75, 0.75, 1)
    region = view.region(big.size, (40, 40))
    assert region == pytest.approx((0.65, 0.55, 0.85, 0.95))
    out = output_size(big.size, region, (40, 40), 1)
    assert out == (40, 40)
    for im in (big, small):
        assert crop(im, (0.5, 0.5, 1.0, 1.0), (200, 100)).getcolors() == [(20000, (255, 0, 0))]
    moved = View(0.99, 0.99, 1).moved(1, 1, big.size, (40, 40))
    assert moved.region(big.size, (40, 40))[2:] == pytest.approx((1.0, 1.0))


# -- snapshots ------------------------------------------------------------------------------------
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_review_snapshot(snap_compare, dedup_output, shared_output, monkeypatch, size):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(shared_output[1])
    app = ForgeApp("data", actions={}, sample_source=lambda: SAMPLE, pictures=True)

    async def show(pilot):
        await open_review(pilot, dedup_output)
        await pilot.pause(0.2)
    try:
        assert snap_compare(app, terminal_size=size, run_before=show)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_reviewers_extra_keep_is_written_only_where_set_and_never_dropped(tmp_path):
    import json
    from dataset_forge.dedup.plan import Plan, PlanGroup, PlanMember, write_plan
    members = [PlanMember(n, str(tmp_path / n), 1, 1) for n in ("a.png", "b.png", "c.png")]
    group = PlanGroup(1, members, 0)
    assert review.toggle(group, 2) is None and group.dropped == [1]
    path = write_plan(tmp_path / "plan.json", Plan({}, [group]))
    written = json.loads(path.read_text())["groups"][0]["members"]
    assert [m.get("reviewed_keep") for m in written] == [None, None, True]
    again = read_plan(path).groups[0]
    assert again.kept == [0, 2] and again.dropped == [1]
    assert review.toggle(again, 0) is None and again.keep == 2 and again.dropped == [0, 1]
    assert "only file" in review.toggle(again, 2)


def test_pictures_degrade_to_half_blocks_without_a_graphics_protocol(tmp_path, monkeypatch):
    from textual.widgets import Static

    from menus.widgets import image_preview
    monkeypatch.setattr(image_preview, "_TRIED", False)
    monkeypatch.setattr(image_preview, "_IMAGE_WIDGET", None)
    image_preview.prepare()            # the real textual-image, asking a terminal that is a pipe
    assert image_preview.protocol_widget() is None
    path = tmp_path / "p.png"
    Image.fromarray(photo_like(64, 48, seed=4)).save(path)
    shown = image_preview.best_picture(path)
    assert isinstance(shown, HalfBlockPicture) and shown.image.size == (64, 48)
    assert not isinstance(image_preview.best_picture(tmp_path / "gone.png"), HalfBlockPicture)
    assert isinstance(image_preview.best_picture(path, pictures=False), Static)
