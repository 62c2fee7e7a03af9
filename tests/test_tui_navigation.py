"""Navigation rules of the app, driven through Pilot: palette screens replace instead of
stacking, Home / `g h` from anywhere, the breadcrumb, `?` everywhere but in text, dialogs with
arrows and y/n, j/k in lists, the theme saved to the settings."""
from __future__ import annotations

from textual.widgets import Button, Input, OptionList

from dataset_forge.settings import load_settings
from menus.screens.action_form import ActionForm
from menus.screens.confirm import Choice
from menus.screens.help import HelpScreen
from menus.screens.main_menu import MainMenu
from menus.screens.settings import SettingsScreen
from menus.widgets.form_field import FormField
from tests.test_tui import (SIZE, form_ready, make_app, slow_walk_app, start_slow_walk,
                            wait_for)


async def palette_open(pilot, text: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(0.4)
    await pilot.press("enter")


async def test_palette_screens_replace_each_other_and_one_escape_reaches_the_menu(image_folder):
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        for name in ("inventory", "resize", "inventory", "resize"):
            await palette_open(pilot, name)
            await wait_for(pilot, lambda: form_ready(app) and app.screen.action_def.name == name)
        assert [type(s) for s in app.screen_stack[1:]] == [MainMenu, ActionForm]
        bar = str(app.screen.query_one("#title-bar").render())
        assert "Dataset Forge › Main menu › Action: resize" in bar
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenu))


async def test_home_and_g_h_return_to_the_menu_from_a_form_and_from_settings(image_folder):
    app = make_app(image_folder)
    app.LEADER_SECONDS = 60.0   # under load the two presses can land over 1.5 s apart
    async with app.run_test(size=SIZE) as pilot:
        app.open_action("inventory")
        await wait_for(pilot, lambda: form_ready(app))
        home = app.screen.active_bindings["home"].binding
        assert home.show and home.description == "Menu (g h)"    # shown in the footer
        app.screen.query_one("#run", Button).focus()
        await pilot.press("home")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenu))
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        app.screen.query_one("#back", Button).focus()
        await pilot.press("g", "h")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenu))
        assert len(app.screen_stack) == 2


async def test_question_mark_opens_help_on_a_form_but_is_text_in_an_input(image_folder):
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        app.open_action("resize")
        await wait_for(pilot, lambda: form_ready(app))
        field = app.screen.query_one("#field-output", FormField).query_one(Input)
        field.focus()
        await pilot.press("question_mark", "g", "h", "j")
        await pilot.pause()
        assert isinstance(app.screen, ActionForm) and field.value.endswith("?ghj")
        app.screen.query_one("#run", Button).focus()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionForm))


async def test_dialogs_take_arrows_and_y_n(image_folder):
    app = make_app(image_folder)
    answers = []
    async with app.run_test(size=SIZE) as pilot:
        for keys in (["right", "enter"], ["right", "left", "enter"], ["y"], ["n"], ["escape"]):
            app.push_screen(Choice("Go?", [("stay", "Stay"), ("go", "Go"), ("later", "Later")],
                                   yes="go", no="stay"), answers.append)
            await wait_for(pilot, lambda: isinstance(app.screen, Choice))
            await pilot.press(*keys)
            await wait_for(pilot, lambda: not isinstance(app.screen, Choice))
    assert answers == ["go", "stay", "go", "stay", None]


async def test_j_k_move_in_lists(image_folder):
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        groups = app.screen.query_one("#groups", OptionList)
        await pilot.press("j", "j", "j", "k")
        assert groups.highlighted == 2


async def test_the_chosen_theme_is_saved_and_used_at_the_next_start(image_folder, isolated_settings):
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert load_settings(isolated_settings).settings.ui.theme == "nord"
    assert 'theme = "nord"' in isolated_settings.read_text()
    again = make_app(image_folder)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_stop_and_quit_during_a_process_run_exits_within_two_seconds(image_folder,
                                                                           isolated_settings):
    import multiprocessing
    import time

    from dataset_forge.parallel import WorkKind
    isolated_settings.write_text(isolated_settings.read_text() +
                                 '\n[parallel]\nprocessing_type = "process"\nmax_workers = 2\n')
    app = slow_walk_app(image_folder, WorkKind.CPU)
    async with app.run_test(size=SIZE) as pilot:
        run_screen = await start_slow_walk(pilot)
        await wait_for(pilot, lambda: run_screen.failures >= 1, timeout=60)   # workers are up
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("y")
        started = time.monotonic()
        await pilot.pause(0.05)
        title = str(run_screen.query_one("#run-title").render())
        assert "quitting" in title and " done, " in title              # progress shown
        await wait_for(pilot, lambda: app._exit, timeout=10)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"took {elapsed:.1f} s to exit"
    assert not run_screen.running and not multiprocessing.active_children()


async def test_an_apply_run_asks_first_showing_what_will_change(image_folder, tmp_path):
    from textual.widgets import Switch

    from menus.screens.results import ResultsScreen
    before = sorted(p.name for p in image_folder.iterdir())
    app = make_app(image_folder)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_action("rename")
        await wait_for(pilot, lambda: form_ready(app))
        form = app.screen
        form.query_one("#field-pattern", FormField).query_one(Input).value = "photo_{index:03d}"
        form.query_one("#field-apply", FormField).query_one(Switch).value = True
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        question = str(app.screen.query_one("#choice-question").render())
        assert "rename will change files on disk (--apply)" in question
        assert "--pattern 'photo_{index:03d}'" in question and "undo" in question
        await pilot.press("n")                                   # back to the form, nothing run
        await wait_for(pilot, lambda: isinstance(app.screen, ActionForm))
        assert sorted(p.name for p in image_folder.iterdir()) == before
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen), timeout=60)
    assert any(p.name.startswith("photo_") for p in image_folder.rglob("*"))


async def test_required_fields_are_marked_in_their_labels(image_folder):
    app = make_app(image_folder)
    async with app.run_test(size=SIZE) as pilot:
        app.open_action("resize")
        await wait_for(pilot, lambda: form_ready(app))
        labels = {f.spec.key: str(f.query_one(".field-label").render()) for f in
                  app.screen.query(FormField)}
    assert "(required)" in labels["output"]
    assert "(required)" not in labels["input"] and "(required)" not in labels["width"]
