"""The results and settings screens through Pilot: nested summary values as tables, the
outcome line naming what it counts, the HTML report opened in a (real, registered) browser,
the settings header after the first save."""
from __future__ import annotations

import sys
import webbrowser

from textual.widgets import Static

from dataset_forge.parallel import RunSummary
from dataset_forge.reports.report import Report
from menus.screens.results import ResultsScreen
from menus.screens.settings import SettingsScreen
from menus.widgets.report_view import ReportTable
from tests.test_tui import SIZE, make_app, wait_for


def nested_report(tmp_path) -> Report:
    page = tmp_path / "report.html"
    page.write_text("<html>ok</html>")
    report = Report("validate", {"input": str(tmp_path)},
                    summary={"images": 64, "formats": {"PNG": 60, "JPEG": 4},
                             "checks": {"dark": {"flagged": 2, "ok": 62},
                                        "blurry": {"flagged": 0, "ok": 64}}})
    report.files = {"html": str(page), "report": str(tmp_path / "report.json")}
    report.run = RunSummary("validate", ok=4, failed=1, elapsed=0.5, workers=2,
                            processing_type="thread", unit="steps")
    return report


async def test_nested_summary_values_are_tables_and_counts_name_their_unit(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ResultsScreen(nested_report(tmp_path)))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        await pilot.pause()
        tables = {t.table.title: t for t in app.screen.query(ReportTable)}
        assert list(tables)[:3] == ["Summary", "Summary: formats", "Summary: checks"]
        assert tables["Summary"].table.rows == [["images", 64]]
        assert tables["Summary: checks"].table.columns == ["key", "flagged", "ok"]
        assert tables["Summary: checks"].table.rows == [["dark", 2, 62], ["blurry", 0, 64]]
        outcome = str(app.screen.query_one("#outcome", Static).render())
        assert "4 of 5 steps ok, 1 failed" in outcome


async def test_o_opens_the_html_report_in_the_browser(tmp_path):
    seen = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import sys, pathlib\npathlib.Path({str(seen)!r}).write_text(sys.argv[1])\n")
    webbrowser.register("forge-test", None, webbrowser.GenericBrowser([sys.executable, str(script),
                                                                       "%s"]), preferred=True)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ResultsScreen(nested_report(tmp_path)))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert app.screen.active_bindings["o"].enabled
        await pilot.press("o")
        await wait_for(pilot, lambda: seen.is_file() and seen.read_text(), timeout=10)
    assert seen.read_text() == (tmp_path / "report.html").resolve().as_uri()


async def test_settings_header_drops_not_created_after_the_first_save(tmp_path, isolated_settings):
    from menus.screens.settings import field_id
    from menus.widgets.form_field import FormField
    from textual.widgets import Switch
    isolated_settings.unlink()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.action_settings()
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen)
                       and app.screen.query("#settings-path"))
        header = app.screen.query_one("#settings-path", Static)
        assert "not created yet" in str(header.render())
        app.screen.query_one("#" + field_id("ui.bell"), FormField).query_one(Switch).value = False
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isolated_settings.is_file())
        await pilot.pause()
        assert "not created yet" not in str(header.render())


async def test_a_tile_run_that_writes_nothing_says_why(image_folder, tmp_path):
    from textual.widgets import Input

    from menus.widgets.form_field import FormField
    from tests.test_tui import form_ready
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        app.open_action("tile")
        await wait_for(pilot, lambda: form_ready(app))
        app.screen.query_one("#field-output", FormField).query_one(Input).value = str(tmp_path / "t")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=60)
        await pilot.pause()
        text = str(app.screen.query_one("#nothing-written", Static).render())
    assert "Nothing was written: tile produced no output" in text
    assert not list((tmp_path / "t").rglob("*.png"))


async def test_settings_screen_notes_an_old_key_name_and_save_writes_the_new_one(
        tmp_path, isolated_settings):
    isolated_settings.write_text(isolated_settings.read_text() + "\n[parallel]\nmax_in_flight = 9\n")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.action_settings()
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen)
                       and app.screen.query("#settings-problems"))
        note = str(app.screen.query_one("#settings-problems", Static).render())
        assert "parallel.max_in_flight is now called parallel.max_items_in_flight" in note
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "max_items_in_flight = 9" in isolated_settings.read_text())
    assert "max_in_flight =" not in isolated_settings.read_text()
