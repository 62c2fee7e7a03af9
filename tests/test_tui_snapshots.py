"""Snapshots of the main screens at 80x24 and 120x40 (pytest-textual-snapshot).

Deterministic by construction: a fixed system sample, a fixed action list, relative paths, a
report built here. Update after an intended change with `pytest --snapshot-update`.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, DataTable

from dataset_forge.actions.common import INPUT, OUTPUT
from dataset_forge.actions.registry import Action, Family, Param
from dataset_forge.parallel import Failure, RunSummary
from dataset_forge.reports.report import Report, Table
from dataset_forge.settings import default_toml
from dataset_forge.sysinfo import LiveSample
from menus.app import ForgeApp
from menus.screens.results import ResultsScreen

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
                            processing_type="thread")
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
