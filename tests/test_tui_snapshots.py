"""Snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot): main menu, a short
and a long action form (top and scrolled to the end), run progress, results, settings, system
information, help, the confirmation before --apply, the folder picker, a recipe's form and run,
the before/after preview.
(The duplicate review screen has its own snapshots.)

Deterministic by construction: a fixed system sample and system facts, actions declared here,
relative paths (machine paths masked where a widget shows them resolved), a report built here,
run screens fed fixed progress messages instead of a worker and no blinking cursors. Update
after an intended change with `pytest --snapshot-update`.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, DirectoryTree, Input

from dataset_forge.actions.common import INPUT, OUTPUT
from dataset_forge.actions.registry import Action, Family, Param
from dataset_forge.parallel import Failure, RunSummary
from dataset_forge.recipes import Recipe, StepResult
from dataset_forge.recipes.recipe import Step
from dataset_forge.reports.report import Report, Table
from dataset_forge.settings import default_toml
from dataset_forge.sysinfo import (CpuInfo, DiskInfo, LiveSample, MemoryInfo, SystemInfo,
                                   TorchInfo)
from menus.app import ForgeApp
from menus.messages import RunAdvanced, RunItemFailed, RunStarted
from menus.screens.confirm import Choice
from menus.sample_preview import Shot
from menus.screens.folder_picker import FolderPicker
from menus.screens.preview import PreviewScreen
from menus.screens.recipe import RecipeForm, RecipeRunScreen, StepChanged
from menus.screens.results import ResultsScreen
from menus.screens.run import RunScreen
from menus.widgets.run_progress import RunProgress

REPO = Path(__file__).resolve().parents[1]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SAMPLE = LiveSample(cpu_percent=(25.0, 75.0), ram_used_bytes=3 * 2**30,
                    ram_total_bytes=8 * 2**30, disk_free_bytes=64 * 2**30)


# One control of every kind, declared here so registry changes do not move the pictures.
DEMO_ACTION = Action(
    "find-things", Family.ANALYSIS, "Find things in a folder of images", run=lambda ctx, p: None,
    params=(INPUT, Param("method", "choice", "fast", "how to search", choices=("fast", "exact")),
            Param("threshold", "float", 0.9, "similarity needed", min=0.0, max=1.0),
            Param("recursive", "bool", True, "descend into sub-folders"), OUTPUT),
    description="Looks at every image under --input and lists what it finds.")


@pytest.fixture
def app(monkeypatch) -> ForgeApp:
    monkeypatch.chdir(REPO)
    return ForgeApp("assets/demo", actions={DEMO_ACTION.name: DEMO_ACTION},
                    sample_source=lambda: SAMPLE, pictures=False)


def fixed_report() -> Report:
    report = Report("inventory", {"input": "assets/demo", "include_hidden": False},
                    summary={"images": 3, "unreadable": 1, "bytes": 12345,
                             "formats": {"PNG": 2, "JPEG": 1}})
    report.tables = [Table("Formats", ["format", "images"], [["PNG", 2], ["JPEG", 1]])]
    report.failures = [Failure("assets/demo/mixed/broken.jpg", "UnidentifiedImageError",
                               "cannot identify image file")]
    report.files = {"rows_csv": "forge-reports/inventory/inventory.csv",
                    "report": "forge-reports/inventory/inventory_report.json"}
    report.run = RunSummary("inventory", ok=3, failed=1, elapsed=0.25, workers=8,
                            processing_type="thread", unit="images")
    return report


async def settle(pilot, ready) -> None:
    """Wait until the screen is fully built (under load one pause is not always enough)."""
    for _ in range(200):
        try:
            if ready():
                break
        except Exception:  # noqa: BLE001 - not mounted yet
            pass
        await pilot.pause(0.05)
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False   # a blinking cursor is caught on or off at random
    await pilot.pause()


def steady(value, checks: int = 4):
    """A `settle` condition: `value()` is non-zero and the same over the last `checks` looks
    (for what settles in steps: a Markdown page's height, a scroll)."""
    seen = []

    def ready() -> bool:
        seen.append(value())
        return len(seen) >= checks and bool(seen[-1]) and len(set(seen[-checks:])) == 1
    return ready


@pytest.mark.parametrize("size", SIZES)
def test_main_menu(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_action_form(snap_compare, app, size):
    async def open_form(pilot):
        pilot.app.open_action(DEMO_ACTION.name)
        await settle(pilot, lambda: "--input" in str(pilot.app.screen.query_one("#command-line").render()))
    assert snap_compare(app, terminal_size=size, run_before=open_form)


@pytest.mark.parametrize("size", SIZES)
def test_results(snap_compare, app, size):
    async def show(pilot):
        pilot.app.push_screen(ResultsScreen(fixed_report()))
        await settle(pilot, lambda: len(pilot.app.screen.query(DataTable)) == 4)
    assert snap_compare(app, terminal_size=size, run_before=show)


@pytest.mark.parametrize("size", SIZES)
def test_settings(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "settings.toml").write_text(default_toml())
    app = ForgeApp("demo", "settings.toml", actions={}, sample_source=lambda: SAMPLE)
    async def open_settings(pilot):
        await pilot.press("s")
        await settle(pilot, lambda: pilot.app.screen.query_one("#form-buttons"))
    assert snap_compare(app, terminal_size=size, run_before=open_settings)


# A long form: every control kind, a description and examples, an --apply switch.
LONG_ACTION = Action(
    "make-things", Family.TRANSFORM, "Make new images from a folder of images",
    run=lambda ctx, p: None, writes=True,
    params=(INPUT, Param("output", "path", help="new folder for the outputs (never the input "
                         "folder)", required=True),
            Param("scale", "int", 4, "integer downscale factor", min=1, max=16),
            Param("filter", "choice", "bicubic", "downscale filter when the pipeline has none",
                  choices=("nearest", "bilinear", "bicubic", "lanczos")),
            Param("pipeline", "str", help="pipeline file (.toml/.json) or inline JSON list of ops"),
            Param("plugin", "list", [], "Python file(s) registering custom ops"),
            Param("seed", "int", 0, "random seed: same seed and input give the same output", min=0),
            Param("variations", "int", 1, "outputs per input, each with its own draws", min=1),
            Param("write_hq", "bool", True, "also write the (mod-cropped) HQ"),
            Param("format", "choice", "png", "output format", choices=("png", "jpeg", "webp")),
            Param("quality", "int", 95, "JPEG/WebP output quality", min=1, max=100),
            Param("apply", "bool", False, "really change files; without it this is a dry run")),
    description="Write OUTPUT/hq and OUTPUT/lq from every image under --input. With "
                "--pipeline, its ops run in order on the pair; without one, a plain downscale.",
    examples=("dataset-forge --action make-things --input hq --output pairs --scale 4",))


def form_app(monkeypatch) -> ForgeApp:
    monkeypatch.chdir(REPO)
    return ForgeApp("assets/demo", actions={LONG_ACTION.name: LONG_ACTION},
                    sample_source=lambda: SAMPLE, pictures=False)


async def open_long_form(pilot) -> None:
    pilot.app.open_action(LONG_ACTION.name)
    await settle(pilot, lambda: "--input" in str(pilot.app.screen.query_one("#command-line").render()))


@pytest.mark.parametrize("size", SIZES)
def test_long_form(snap_compare, monkeypatch, size):
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=open_long_form)


@pytest.mark.parametrize("size", SIZES)
def test_long_form_scrolled_to_the_end(snap_compare, monkeypatch, size):
    async def to_the_end(pilot):
        await open_long_form(pilot)
        pilot.app.screen.query_one("#field-apply Switch").focus()   # the form scrolls to it
        await settle(pilot, steady(lambda: pilot.app.screen.query_one("#form").scroll_y))
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=to_the_end)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_before_apply(snap_compare, monkeypatch, size):
    async def confirm(pilot):
        await open_long_form(pilot)
        screen = pilot.app.screen
        screen.query_one("#field-output").set_raw("out")
        screen.query_one("#field-apply").set_raw(True)
        await pilot.pause()
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: isinstance(pilot.app.screen, Choice))
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=confirm)


class FixedRun(RunScreen):
    """The run screen fed fixed progress messages (no worker, no clock)."""

    def _run(self) -> None:
        self.post_message(RunStarted("hashes", 64, "images"))
        self.post_message(RunAdvanced(24, 1, 64))
        self.post_message(RunItemFailed("assets/demo/mixed/truncated.jpg", "OSError",
                                        "image file is truncated"))


@pytest.mark.parametrize("size", SIZES)
def test_run_progress(snap_compare, monkeypatch, size):
    async def run(pilot):
        pilot.app.push_screen(FixedRun(LONG_ACTION, {"input": "assets/demo"}))
        await settle(pilot, lambda: pilot.app.screen.failures == 1)
        progress = pilot.app.screen.query_one(RunProgress)
        progress.clock = lambda: progress._t0 + 8.0       # 24 done in 8 s: 3.0/s, ETA 0:13
        progress.advance(24, 1, 64)
        await pilot.pause()
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=run)


FACTS = SystemInfo(cpu=CpuInfo("Demo CPU @ 3.0GHz", 2, 4),
                   memory=MemoryInfo(8 * 2**30, 5 * 2**30), disk=DiskInfo("demo", 256 * 2**30,
                                                                          64 * 2**30),
                   os="Linux 6.0", python="3.11.7", torch=TorchInfo("2.13.0"))


@pytest.mark.parametrize("size", SIZES)
def test_system(snap_compare, monkeypatch, size):
    monkeypatch.setattr("menus.screens.system.collect", lambda folder: FACTS)
    async def system(pilot):
        pilot.app.action_system()
        await settle(pilot, lambda: "Demo CPU" in str(pilot.app.screen.query_one("#facts").render()))
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=system)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, monkeypatch, size):
    async def help_(pilot):
        await pilot.press("f1")
        await settle(pilot, lambda: pilot.app.screen.query_one("#help-box"))
        # the Markdown renders in steps: wait until its height holds
        await settle(pilot, steady(lambda: pilot.app.screen.query_one("#help-box").virtual_size.height))
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=help_)


@pytest.mark.parametrize("size", SIZES)
def test_folder_picker(snap_compare, monkeypatch, size):
    async def picker(pilot):
        pilot.app.push_screen(FolderPicker(Path("assets/demo")))
        await settle(pilot, lambda: len(pilot.app.screen.query_one(DirectoryTree).root.children) == 4)
        screen = pilot.app.screen                     # the resolved path depends on the machine
        screen.query_one(DirectoryTree).root.set_label("assets/demo")
        screen.query_one("#picker-path", Input).value = "assets/demo"
        screen.query_one("#picker-path", Input).cursor_position = 0
        await pilot.pause()
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=picker)


RECIPE = """\
[recipe]
name = "check"
description = "Integrity and duplicates of a folder, as reports (nothing is changed)"
workdir = "{output}"

[vars]
input = "assets/demo/mixed"
output = "forge-check"
dry_run = true

[[steps]]
name = "integrity"
action = "integrity"
input = "{input}"

[[steps]]
name = "dedup"
action = "dedup"
input = "{input}"
"""


@pytest.mark.parametrize("size", SIZES)
def test_recipe_form(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    Path("check.toml").write_text(RECIPE)
    app = ForgeApp("demo", actions={}, sample_source=lambda: SAMPLE, pictures=False)
    async def form(pilot):
        pilot.app.go(RecipeForm(Path("check.toml")))
        await settle(pilot, lambda: "check.toml" in str(pilot.app.screen.query_one("#command-line").render()))
    assert snap_compare(app, terminal_size=size, run_before=form)


class FixedRecipeRun(RecipeRunScreen):
    """The recipe run screen fed fixed step and progress messages (no worker, no clock)."""

    def _run(self) -> None:
        self.post_message(StepChanged(1, StepResult("integrity", "integrity", "done", 1.5,
                                                    {"images": 24, "unreadable": 3})))
        self.post_message(StepChanged(2, StepResult("make", LONG_ACTION.name, "running")))
        self.post_message(RunStarted("hashes", 24, "images"))


@pytest.mark.parametrize("size", SIZES)
def test_recipe_run(snap_compare, monkeypatch, size):
    steps = tuple(Step(i, name, action, {}, Path("out") / name) for i, (name, action) in
                  enumerate([("integrity", DEMO_ACTION), ("make", LONG_ACTION),
                             ("again", DEMO_ACTION)], 1))
    recipe = Recipe(Path("check.toml"), "check", "a fixed recipe", Path("out"), {}, steps)
    async def run(pilot):
        pilot.app.push_screen(FixedRecipeRun(recipe))
        await settle(pilot, lambda: 2 in pilot.app.screen.records)
        progress = pilot.app.screen.query_one(RunProgress)
        progress.clock = lambda: progress._t0 + 2.0
        progress.advance(12, 0, 24)
        await pilot.pause()
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=run)


class FixedPreview(PreviewScreen):
    """The before/after preview shown for two fixed demo images (no worker, no temp folder)."""

    def _run(self) -> None:
        self._busy = False
        self._show(Shot(Path("assets/demo/hq/scene_02.png"), Path("assets/demo/hq/scene_02.png"),
                        Path("assets/demo/lq_x2/scene_02.jpg")))


@pytest.mark.parametrize("size", SIZES)
def test_preview(snap_compare, monkeypatch, size):
    async def preview(pilot):
        await open_long_form(pilot)
        pilot.app.push_screen(FixedPreview(LONG_ACTION, {"input": "assets/demo/hq"}))
        await settle(pilot, lambda: len(pilot.app.screen.query(".preview-pane")) == 2)
    assert snap_compare(form_app(monkeypatch), terminal_size=size, run_before=preview)
