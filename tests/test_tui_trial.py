"""Findings of a new-user trial of the app, each driven through Pilot on real files: list
parameters in forms, a run that cannot start, HQ/LQ pre-fill, and keys that must not fire in
forms (with confirmations before losing a job or unsaved settings)."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import Button, Input, Label, Static

from dataset_forge.analysis import quality as q
from menus.screens.action_form import ActionForm
from menus.screens.confirm import Choice
from menus.screens.results import ResultsScreen
from menus.screens.run import RunScreen
from menus.widgets.form_field import FormField
from test_tui import (SIZE, form_ready, make_app, set_input, slow_walk_app, start_slow_walk,
                      wait_for)

ALL_CHECKS = ",".join(c.name for c in q.CHECKS)


@pytest.fixture
def paired(tmp_path, make_image) -> Path:
    """root/hq and root/lq_x2 with three pairs (LQ = HQ downscaled by 2)."""
    root = tmp_path / "pairs"
    for i in range(3):
        hq = make_image(root / "hq" / f"p{i}.png", size=(32, 32), seed=i)
        (root / "lq_x2").mkdir(parents=True, exist_ok=True)
        Image.open(hq).resize((16, 16)).save(root / "lq_x2" / f"p{i}.png")
    return root


def field(app, name: str) -> FormField:
    return app.screen.query_one(f"#field-{name}", FormField)


def command_line(app) -> str:
    return str(app.screen.query_one("#command-line", Static).render())


async def open_form(pilot, name: str) -> None:
    pilot.app.open_action(name)
    await wait_for(pilot, lambda: form_ready(pilot.app))


async def test_list_parameters_show_comma_text_and_run(paired, isolated_settings):
    app = make_app(paired / "hq")
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "make-lq")
        plugin = field(app, "plugin")
        assert plugin.query_one(Input).value == "" and plugin.error is None
        assert "--plugin" not in command_line(app) and "plugin" not in app.screen.run_values()
        await pilot.press("escape")

        await open_form(pilot, "quality")
        checks = field(app, "checks")
        assert checks.query_one(Input).value == ALL_CHECKS and checks.error is None
        assert "--checks" not in command_line(app)
        await set_input(pilot, checks, "dark, blurry")
        assert "--checks dark,blurry" in command_line(app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert app.screen.report.params["checks"] == ["dark", "blurry"]


async def test_a_run_that_cannot_start_says_why_and_escape_goes_back(paired, isolated_settings):
    app = make_app(paired / "hq")
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "quality")
        await set_input(pilot, field(app, "checks"), "dark,nosuch")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        run = app.screen
        await wait_for(pilot, lambda: run.error is not None)
        shown = str(run.query_one("#pass-label", Label).render())
        assert shown.startswith("Failed: --checks") and "nosuch" in shown
        assert "nosuch" in str(run.query_one("#run-status", Static).render())
        assert any("nosuch" in str(n.message) for n in app._notifications)
        assert app.active_bindings["escape"].binding.description == "Back to the form"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionForm))
        assert field(app, "checks").raw == "dark,nosuch"


async def test_pair_actions_get_hq_and_lq_prefilled_and_input_left_empty(paired, isolated_settings):
    app = make_app(paired)
    async with app.run_test(size=SIZE) as pilot:
        for name in ("pairs", "dedup", "validate", "tile", "augment", "crop", "compress", "convert"):
            await open_form(pilot, name)
            assert field(app, "hq").raw == str(paired / "hq"), name
            assert field(app, "lq").raw == str(paired / "lq_x2"), name
            if name != "pairs":
                assert field(app, "input").raw == "", name
            assert not [f.spec.key for f in app.screen.fields if f.error and f.spec.key in ("input", "hq", "lq")], name
            await pilot.press("escape")
        await open_form(pilot, "inventory")           # no pairs: the root is the input
        assert field(app, "input").raw == str(paired)
        await pilot.press("escape")

        await open_form(pilot, "dedup")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        report = app.screen.report
    assert not report.failed and report.params["input"] is None
    assert report.params["hq"] == paired / "hq"
    # HQ/LQ pairs are not duplicates of each other: nothing to remove
    assert not [f for f in report.findings if "lq_x2" in str(f) and "hq" in str(f)]


async def test_letters_do_not_fire_in_forms_and_quit_asks_while_a_job_runs(paired, isolated_settings):
    app = slow_walk_app(paired)
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, "dedup")
        field(app, "hq").query_one(Button).focus()
        await pilot.press("s", "q")
        assert isinstance(app.screen, ActionForm) and app.is_running
        await pilot.press("escape")
        await start_slow_walk(pilot)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("escape")                     # keep running
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        assert app.screen.running and app.is_running
        app.screen.cancel_token.cancel()
