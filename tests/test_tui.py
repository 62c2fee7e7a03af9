"""The terminal workbench driven through Textual's Pilot: real screens, real engine runs on tiny
generated datasets, real files checked afterwards."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import DataTable, Input, OptionList, Select, Switch

from dataset_forge.actions.common import INPUT
from dataset_forge.actions.registry import Action, Family, all_actions
from dataset_forge.parallel import WorkKind
from dataset_forge.reports.report import Report
from dataset_forge.settings import load_settings
from dataset_forge.sysinfo import LiveSample
from menus.app import ForgeApp
from menus.catalog import RECIPES_GROUP, SYSTEM_GROUP, menu_groups
from menus.screens.action_form import ActionForm
from menus.screens.help import HelpScreen
from menus.screens.main_menu import MainMenu
from menus.screens.recipe import RecipeForm, find_recipes
from menus.screens.results import ResultsScreen
from menus.screens.run import RunScreen
from menus.screens.settings import SettingsScreen, field_id
from menus.widgets.form_field import FormField

SIZE = (100, 35)
SAMPLE = LiveSample(cpu_percent=(10.0, 95.0), ram_used_bytes=2 * 2**30,
                    ram_total_bytes=8 * 2**30, disk_free_bytes=50 * 2**30)


def make_app(folder, **kwargs) -> ForgeApp:
    return ForgeApp(str(folder), sample_source=lambda: SAMPLE, pictures=False, **kwargs)


async def wait_for(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; screen is {pilot.app.screen!r}")
        await pilot.pause(0.05)


def form_ready(app) -> bool:
    return isinstance(app.screen, ActionForm) and app.screen.is_mounted and \
        len(app.screen.query(FormField)) == len(app.screen.action_def.params)


async def open_from_menu(pilot, family_number: int, action_name: str) -> None:
    """Jump to a family with its number key, highlight the action, press Enter."""
    await pilot.press(str(family_number % 10))
    menu = pilot.app.screen
    names = [e.key for e in menu.current_group.entries]
    menu.query_one("#entries", OptionList).highlighted = names.index(action_name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: form_ready(pilot.app))


async def set_input(pilot, field: FormField, text: str) -> None:
    field.query_one(Input).value = text
    await pilot.pause()


@pytest.fixture
def dataset(image_folder) -> Path:
    (image_folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    (image_folder / ".hidden").mkdir()
    (image_folder / ".hidden" / "secret.png").write_bytes((image_folder / "img_0.png").read_bytes())
    return image_folder


async def test_every_family_lists_its_actions_and_opens_a_generated_form(dataset):
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        groups = menu_groups(app.actions, find_recipes(dataset))
        for number, group in enumerate(groups, 1):
            await pilot.press(str(number % 10))
            menu = app.screen
            assert isinstance(menu, MainMenu) and menu.current_group.key == group.key
            shown = menu.query_one("#entries", OptionList)
            if not group.entries:
                assert shown.option_count == 1 and shown.get_option_at_index(0).disabled
                continue
            assert [shown.get_option_at_index(i).id for i in range(shown.option_count)] == \
                   [e.key for e in group.entries]
            entry = group.entries[0]
            await pilot.press("enter")
            if entry.screen == "recipe":  # recipes: the recipe's form
                await wait_for(pilot, lambda: isinstance(app.screen, RecipeForm))
            elif entry.action is None:    # system group: the settings screen
                await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
            else:
                await wait_for(pilot, lambda: form_ready(app))
                assert [f.spec.key for f in app.screen.query(FormField)] == \
                       [p.name for p in entry.action.params]
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, MainMenu))
        assert sum(len(g.entries) for g in groups if g.key not in (RECIPES_GROUP, SYSTEM_GROUP)) \
            == len(all_actions())


async def test_inventory_from_the_form_runs_and_shows_the_report(dataset):
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await open_from_menu(pilot, 1, "inventory")
        form = app.screen
        assert form.query_one("#field-input", FormField).raw == str(dataset)   # pre-filled
        form.query_one("#field-include_hidden", FormField).query_one(Switch).value = True
        await pilot.pause()
        command = str(form.query_one("#command-line").render())
        assert f"dataset-forge --action inventory --input {dataset} --include-hidden" in command
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        report = app.screen.report
        await pilot.pause()
        titles = [str(label.render()) for label in app.screen.query(".table-title")]
        assert titles[:3] == ["Summary", "Formats", "Modes"] and titles[-2].startswith("Failures")
        assert len(app.screen.query(DataTable)) == len(titles)
    data = json.loads(Path(report.files["report"]).read_text())
    assert data["summary"]["images"] == 10 and data["summary"]["unreadable"] == 1
    assert data["params"]["include_hidden"] is True
    assert [f["item"] for f in data["failures"]] == [str(dataset / "broken.jpg")]
    rows = Path(report.files["rows_csv"]).read_text().splitlines()
    assert len(rows) == 11 and any(".hidden/secret.png" in r for r in rows)
    assert load_settings().settings.log_dir().joinpath("runs.jsonl").is_file()


async def test_a_transform_from_its_form_writes_the_resized_images(dataset, tmp_path,
                                                                  isolated_settings):
    # a process pool from inside the app: its helpers must start before Textual owns stderr
    isolated_settings.write_text(isolated_settings.read_text() +
                                 '\n[parallel]\nprocessing_type = "process"\nmax_workers = 1\n')
    app = make_app(dataset)
    out = tmp_path / "small"
    async with app.run_test(size=SIZE) as pilot:
        await open_from_menu(pilot, 4, "resize")
        form = app.screen
        await set_input(pilot, form.query_one("#field-output", FormField), str(out))
        await set_input(pilot, form.query_one("#field-width", FormField), "16")
        command = str(form.query_one("#command-line").render())
        assert f"--output {out} --width 16" in command
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=120)
        report = app.screen.report
        assert report.run.processing_type == "process"
    written = sorted(out.rglob("*.png"))
    assert len(written) == 6 and Image.open(written[0]).width == 16
    assert Path(report.files["report"]).is_file() and report.run.ok == 9


async def test_form_validates_as_you_type_and_refuses_to_run(dataset):
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        app.open_action("inventory")
        await wait_for(pilot, lambda: form_ready(app))
        field = app.screen.query_one("#field-input", FormField)
        await set_input(pilot, field, str(dataset / "missing"))
        assert field.has_class("-invalid") and "no such folder" in field.error
        assert "no such folder" in str(field.query_one(".field-error").render())
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ActionForm)
        await set_input(pilot, field, str(dataset))
        assert field.error is None and not field.has_class("-invalid")


def nap(item: int) -> int:
    time.sleep(0.05)
    if item % 10 == 3:
        raise ValueError(f"item {item} is odd")
    return item


def slow_run(ctx, params) -> Report:
    report = Report("slow_walk", params)
    done = 0
    for outcome in ctx.map(nap, range(2000), label="napping"):
        if outcome.ok:
            done += 1
        else:
            report.add_failure(outcome.error)
    report.summary = {"finished": done}
    return report


def slow_walk_app(folder, kind: WorkKind = WorkKind.IO) -> ForgeApp:
    """The app with one more action, `slow_walk`: 2,000 items of 50 ms, every tenth one failing."""
    slow = Action("slow_walk", Family.ANALYSIS, "sleep on every item", slow_run, (INPUT,), kind)
    return make_app(folder, actions={**all_actions(), "slow_walk": slow})


async def start_slow_walk(pilot) -> RunScreen:
    """Open slow_walk's form, start it, and return its run screen."""
    pilot.app.open_action("slow_walk")
    await wait_for(pilot, lambda: form_ready(pilot.app))
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunScreen))
    return pilot.app.screen


async def test_escape_cancels_a_running_job_and_reports_what_finished(dataset, isolated_settings):
    isolated_settings.write_text(isolated_settings.read_text() + "\n[parallel]\nmax_workers = 2\n")
    app = slow_walk_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        run_screen = await start_slow_walk(pilot)
        await wait_for(pilot, lambda: run_screen.failures >= 1)    # live failures list
        assert run_screen.query_one("#failures", DataTable).row_count >= 1
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=10)
        report = app.screen.report
        assert "cancelled after" in str(app.screen.query_one("#outcome").render())
    assert report.cancelled and 0 < report.run.total < 2000
    data = json.loads(Path(report.files["report"]).read_text())
    assert data["cancelled"] is True and data["summary"]["finished"] == report.run.ok


async def test_settings_screen_saves_to_the_file_keeping_comments(dataset, isolated_settings):
    isolated_settings.write_text("# my own note about this machine\n" + isolated_settings.read_text())
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        workers = screen.query_one("#" + field_id("parallel.max_workers"), FormField)
        await set_input(pilot, workers, "-1")
        assert "must be an integer >= 0" in workers.error
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "max_workers" not in isolated_settings.read_text()            # nothing saved
        await set_input(pilot, workers, "1")
        screen.query_one("#" + field_id("ui.bell"), FormField).query_one(Switch).value = False
        screen.query_one("#" + field_id("parallel.processing_type"), FormField) \
            .query_one(Select).value = "serial"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        text = isolated_settings.read_text()
        assert text.startswith("# my own note about this machine\n")
        settings = load_settings(isolated_settings).settings
        assert (settings.parallel.max_workers, settings.parallel.processing_type,
                settings.ui.bell) == (1, "serial", False)
        await pilot.press("escape")
        # the next run uses the saved settings
        app.open_action("inventory")
        await wait_for(pilot, lambda: form_ready(app))
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert (app.screen.report.run.processing_type, app.screen.report.run.workers) == ("serial", 1)


async def test_command_palette_help_and_system_screens(dataset):
    app = make_app(dataset)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"inventory")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: form_ready(app))
        assert app.screen.action_def.name == "inventory"
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await pilot.press(str(([g.key for g in app.screen.groups].index(SYSTEM_GROUP) + 1) % 10))
        app.screen.query_one("#entries", OptionList).highlighted = 1          # System information
        await pilot.press("enter")
        await wait_for(pilot, lambda: "95%" in str(app.screen.query_one("#sysinfo").render()))


async def test_action_form_shows_the_declared_examples(dataset):
    app = make_app(dataset)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_action("tile")
        await wait_for(pilot, lambda: form_ready(app))
        text = str(app.screen.query_one("#form-examples").render())
        assert all(example in text for example in all_actions()["tile"].examples)
