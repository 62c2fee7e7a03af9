"""Forms that lead somewhere, through Pilot: fields pre-filled from what the action reads and
the demo dataset's layout, and before/after previews of make-lq, augment and compress on one
sample that never write into the user's output."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from textual.widgets import Input

from menus.screens.action_form import ActionForm
from menus.screens.preview import PreviewScreen
from test_tui import SIZE, form_ready, make_app, wait_for

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo"


def field_value(app, name: str):
    return app.screen.query_one(f"#field-{name}").raw


async def open_form(pilot, name: str) -> None:
    pilot.app.open_action(name)
    await wait_for(pilot, lambda: form_ready(pilot.app))


async def test_demo_forms_are_prefilled_with_the_folders_each_action_reads():
    app = make_app(DEMO)
    async with app.run_test(size=SIZE) as pilot:
        expected = {"dedup": {"input": DEMO / "mixed", "hq": "", "lq": ""},
                    "make-lq": {"input": DEMO / "hq"},
                    "upscale": {"input": DEMO / "lq_x2"},
                    "pairs": {"hq": DEMO / "hq", "lq": DEMO / "lq_x2"},
                    "quality": {"input": DEMO}}
        for name, values in expected.items():
            await open_form(pilot, name)
            assert {k: field_value(app, k) for k in values} == \
                {k: str(v) for k, v in values.items()}, name
            await pilot.press("escape")
        await open_form(pilot, "make-lq")
        output = app.screen.query_one("#field-output Input", Input)
        assert output.value == "" and output.placeholder.startswith("required: new folder")


async def preview_of(pilot, name: str, values: dict[str, str]) -> PreviewScreen:
    await open_form(pilot, name)
    for key, text in values.items():
        pilot.app.screen.query_one(f"#field-{key}").set_raw(text)
    await pilot.pause()
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PreviewScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.shot is not None or screen.error is not None)
    assert screen.error is None, screen.error
    return screen


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


async def test_previews_run_one_sample_beside_the_original_and_write_no_output(tmp_path,
                                                                                make_image):
    for i in range(3):
        make_image(tmp_path / "hq" / f"p{i}.png", size=(64, 48), seed=i)
    out = tmp_path / "out"
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await preview_of(pilot, "make-lq", {"output": str(out), "scale": "4"})
        shot, work = screen.shot, screen.work_dir
        largest = max((tmp_path / "hq").iterdir(), key=lambda p: p.stat().st_size)
        assert shot.source == largest
        assert (size_of(shot.before), size_of(shot.after)) == ((64, 48), (16, 12))
        assert len(screen.query(".preview-pane")) == 2
        assert "64x48 PNG" in str(screen.query(".preview-caption").first().render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionForm))
        assert not work.exists()                          # the temporary folder is gone

        flip = json.dumps([{"op": "flip", "direction": "horizontal"}])
        screen = await preview_of(pilot, "augment", {"output": str(out), "pipeline": flip,
                                                     "hq": "", "lq": ""})
        before, after = np.asarray(Image.open(screen.shot.before)), np.asarray(Image.open(
            screen.shot.after))
        assert np.array_equal(after, before[:, ::-1])
        await pilot.press("escape")

        screen = await preview_of(pilot, "compress", {"output": str(out), "format": "webp",
                                                      "quality": "50", "hq": "", "lq": ""})
        assert screen.shot.after.suffix == ".webp" and size_of(screen.shot.after) == (64, 48)
    assert not out.exists()
    assert sorted(p.name for p in (tmp_path / "hq").iterdir()) == ["p0.png", "p1.png", "p2.png"]
