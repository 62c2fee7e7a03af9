"""Recipes through the real CLI: validation, variables and references, resume, --from/--only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO

RECIPES = REPO / "assets" / "recipes"


def write_recipe(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


@pytest.fixture
def photos(tmp_path, make_image) -> Path:
    folder = tmp_path / "photos"
    for i in range(6):
        make_image(folder / f"p{i}.png", size=(96, 64), seed=i)
    return folder


TWO_STEPS = """
[recipe]
name = "two"
workdir = "{output}"

[vars]
input = "unset"
output = "unset"
scale = 2

[[steps]]
name = "lq"
action = "make-lq"
input = "{input}"
output = "{workdir}/pairs"
scale = "{scale}"

[[steps]]
name = "check"
action = "pairs"
hq = "{steps.lq.output}/hq"
lq = "{steps.lq.output}/lq"
"""


def test_variables_and_step_references_resolve(tmp_path, photos, run_cli):
    recipe = write_recipe(tmp_path / "two.toml", TWO_STEPS)
    out = tmp_path / "out"
    r = run_cli("run", recipe, "--set", f"input={photos}", "--set", f"output={out}",
                "--set", "scale=4", "--dry-run", "--json")
    assert r.returncode == 0, r
    plan = r.json()
    first, second = plan["steps"]
    assert first["params"]["scale"] == "4"            # --set gives text; the step converts it
    assert first["params"]["output"] == str(out / "pairs")
    assert second["params"]["hq"] == str(out / "pairs" / "hq")
    assert all(s["will_run"] for s in plan["steps"])
    assert not out.exists(), "a dry run writes nothing"


def test_typed_variable_keeps_its_type(tmp_path, photos, run_cli):
    recipe = write_recipe(tmp_path / "two.toml", TWO_STEPS)
    r = run_cli("run", recipe, "--set", f"input={photos}", "--set", f"output={tmp_path / 'o'}",
                "--dry-run", "--json")
    assert r.json()["steps"][0]["params"]["scale"] == 2


@pytest.mark.parametrize("body, message", [
    ('[[steps]]\naction = "nosuch"\ninput = "x"', "step 1: unknown action 'nosuch'"),
    ('[[steps]]\naction = "inventory"\ninputt = "x"',
     "step 1 (inventory): inventory has no parameter 'inputt'; did you mean 'input'?"),
    ('[[steps]]\nname = "d"\naction = "dedup"\ninput = "{here}"\nthreshold = "abc"',
     "step 1 (d): --threshold 'abc': must be"),
    ('[[steps]]\naction = "inventory"\ninput = "{nope}"', "unknown variable {nope}"),
    ('[[steps]]\naction = "pairs"\nhq = "{steps.later.output}"\nlq = "{here}"',
     "names no earlier step"),
    ('[[steps]]\naction = "inventory"\ninput = "{here}"\n[[steps]]\naction = "inventory"\n'
     'input = "{here}"', "another step is already named 'inventory'"),
    ('[vars]\nx = 1', "needs at least one [[steps]]"),
])
def test_invalid_recipes_are_one_line_errors_naming_the_step(tmp_path, run_cli, body, message):
    header = ('[recipe]\nworkdir = "{output}"\n[vars]\noutput = "' + str(tmp_path / "o")
              + '"\nhere = "' + str(tmp_path) + '"\n')
    if body.startswith("[vars]"):
        header = '[recipe]\nworkdir = "' + str(tmp_path / "o") + '"\n'
    recipe = write_recipe(tmp_path / "bad.toml", header + body)
    r = run_cli("run", recipe)
    assert r.returncode == 2, r
    assert message in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists(), "nothing ran"


def test_unknown_set_variable_is_refused(tmp_path, run_cli):
    recipe = write_recipe(tmp_path / "two.toml", TWO_STEPS)
    r = run_cli("run", recipe, "--set", "inptu=x")
    assert r.returncode == 2 and "no variable 'inptu'" in r.stderr, r


def test_run_writes_index_and_resumes_without_rerunning(tmp_path, photos, run_cli):
    recipe = write_recipe(tmp_path / "two.toml", TWO_STEPS)
    out = tmp_path / "out"
    args = ("run", recipe, "--set", f"input={photos}", "--set", f"output={out}")
    r = run_cli(*args)
    assert r.returncode == 0, r
    index = json.loads((out / "recipe-report.json").read_text())
    assert [s["status"] for s in index["steps"]] == ["done", "done"]
    assert index["steps"][0]["summary"]["files_written"] == 12
    assert Path(index["steps"][1]["report"]).is_file()
    html = (out / "recipe-report.html").read_text()
    assert "make-lq" in html and "<a href=" in html
    lq_files = sorted((out / "pairs" / "lq").iterdir())
    stamp = [p.stat().st_mtime_ns for p in lq_files]

    again = run_cli(*args)
    assert again.returncode == 0, again
    index = json.loads((out / "recipe-report.json").read_text())
    assert [s["status"] for s in index["steps"]] == ["skipped (already done)"] * 2
    assert [p.stat().st_mtime_ns for p in lq_files] == stamp

    only = run_cli(*args, "--only", "check")
    assert only.returncode == 0, only
    statuses = [s["status"] for s in json.loads((out / "recipe-report.json").read_text())["steps"]]
    assert statuses == ["skipped (already done)", "done"]

    changed = run_cli("run", recipe, "--set", f"input={photos}", "--set", f"output={out}",
                      "--set", "scale=4")
    assert changed.returncode == 0, changed
    statuses = [s["status"] for s in json.loads((out / "recipe-report.json").read_text())["steps"]]
    assert statuses == ["done", "done"], "a changed step reruns, and every step after it"


def test_from_reruns_a_step_and_the_rest(tmp_path, photos, run_cli):
    recipe = write_recipe(tmp_path / "two.toml", TWO_STEPS)
    out = tmp_path / "out"
    args = ("run", recipe, "--set", f"input={photos}", "--set", f"output={out}")
    assert run_cli(*args).returncode == 0
    plan = run_cli(*args, "--from", "check", "--dry-run", "--json").json()
    assert [s["will_run"] for s in plan["steps"]] == [False, True]
    r = run_cli(*args, "--from", "nosuch")
    assert r.returncode == 2 and "no step named 'nosuch'" in r.stderr


def test_failed_step_stops_unless_it_continues(tmp_path, photos, run_cli):
    body = """
[recipe]
workdir = "{output}"
[vars]
input = "x"
broken = "x"
output = "x"
go_on = false
[[steps]]
name = "first"
action = "integrity"
input = "{broken}"
continue_on_failure = "{go_on}"
[[steps]]
name = "second"
action = "inventory"
input = "{input}"
"""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    recipe = write_recipe(tmp_path / "r.toml", body)
    out = tmp_path / "out"
    args = ("run", recipe, "--set", f"input={photos}", "--set", f"broken={broken}", "--set",
            f"output={out}")
    r = run_cli(*args)
    assert r.returncode == 1, r
    steps = json.loads((out / "recipe-report.json").read_text())["steps"]
    assert [s["status"] for s in steps] == ["failed", "pending"]
    assert "1 item(s) failed, first: " in steps[0]["error"]
    assert f"{broken / 'broken.png'}: " in r.stderr, "the step's line names the failed file"
    assert "report: " in steps[0]["error"]
    # continue_on_failure: the step's failed items are what it reports; it is done (exit 0),
    # its line still names them, and a rerun does not redo it or anything after it
    r = run_cli(*args, "--set", "go_on=true")
    assert r.returncode == 0, r
    steps = json.loads((out / "recipe-report.json").read_text())["steps"]
    assert [s["status"] for s in steps] == ["done", "done"], r
    assert "1 item(s) failed, first: " in steps[0]["error"]
    r = run_cli(*args, "--set", "go_on=true")
    steps = json.loads((out / "recipe-report.json").read_text())["steps"]
    assert r.returncode == 0 and [s["status"] for s in steps] == ["skipped (already done)"] * 2


def _state(out: Path) -> dict:
    try:
        return json.loads((out / "recipe-state.json").read_text())["steps"]
    except (FileNotFoundError, ValueError):
        return {}


def test_kill_9_in_a_middle_step_resumes_to_the_same_result(tmp_path, make_image, run_cli):
    photos = tmp_path / "photos"
    for i in range(16):
        make_image(photos / f"p{i:02d}.png", size=(256, 192), seed=i)
    body = TWO_STEPS.replace('name = "lq"', 'name = "first"\naction = "inventory"\ninput = '
                             '"{input}"\n\n[[steps]]\nname = "lq"', 1)
    recipe = write_recipe(tmp_path / "three.toml", body)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "dataset_forge", "run", str(recipe), "--set",
           f"input={photos}", "--set", f"output={killed}", "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while _state(killed).get("first", {}).get("status") != "done" and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first_report = Path(_state(killed)["first"]["report"])
    stamp = first_report.stat().st_mtime_ns

    r = run_cli("run", recipe, "--set", f"input={photos}", "--set", f"output={killed}")
    assert r.returncode == 0, r
    steps = json.loads((killed / "recipe-report.json").read_text())["steps"]
    assert steps[0]["status"] == "skipped (already done)"
    assert first_report.stat().st_mtime_ns == stamp, "the finished step was not rerun"
    assert run_cli("run", recipe, "--set", f"input={photos}", "--set",
                   f"output={clean}").returncode == 0
    for side in ("hq", "lq"):
        a = sorted(p.name for p in (killed / "pairs" / side).iterdir())
        b = sorted(p.name for p in (clean / "pairs" / side).iterdir())
        assert a == b and len(a) == 16
        assert all((killed / "pairs" / side / n).read_bytes() == (clean / "pairs" / side / n).read_bytes()
                   for n in a)


@pytest.mark.parametrize("name", ["clean", "web-ready", "sr-pairs"])
def test_shipped_recipes_run_end_to_end(tmp_path, make_image, run_cli, name):
    photos = tmp_path / "photos"
    for i in range(5):
        make_image(photos / f"p{i}.png", size=(256, 192), seed=i)
    make_image(photos / "dup.png", size=(256, 192), seed=0)
    whole = make_image(photos / "cut.jpg", size=(256, 192), seed=5, quality=90).read_bytes()
    (photos / "cut.jpg").write_bytes(whole[:len(whole) // 2])   # every recipe gets past it
    if name == "sr-pairs":  # smaller than one tile (128), smaller than the scale (4)
        make_image(photos / "small.png", size=(120, 200), seed=7)
        make_image(photos / "dot.png", size=(1, 1), seed=8)
        make_image(photos / "named.jpg", size=(256, 192), seed=9, format="PNG")  # wrong extension
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    out = tmp_path / "out"
    extra = {"web-ready": ["--set", "width=128", "--set", "target_ssim=0.9"],
             "sr-pairs": ["--set", "subsets=val=1,train=rest"]}.get(name, [])
    r = run_cli("run", RECIPES / f"{name}.toml", "--set", f"input={photos}", "--set",
                f"output={out}", *extra)
    assert r.returncode == 0, r
    steps = json.loads((out / "recipe-report.json").read_text())["steps"]
    assert steps and all(s["status"] == "done" for s in steps), steps
    assert all(Path(s["report"]).is_file() for s in steps)
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before, "input untouched"
    if name == "sr-pairs":
        broken = sorted(p.name for p in (out / "rejected" / "broken").rglob("*"))
        assert broken == ["cut.jpg"], "only broken files are set aside, not a misnamed photo"
        rejected = [p.name for p in (out / "rejected" / "duplicates").rglob("*.png")]
        assert len(rejected) == 1 and rejected[0] in ("p0.png", "dup.png")
        small = sorted(p.name for p in (out / "rejected" / "quality").rglob("*.png"))
        assert {"small.png", "dot.png"} <= set(small), small
        val = list((out / "split" / "val").iterdir())
        train_names = {p.name for p in (out / "split" / "train").iterdir()}
        assert len(val) == 1 and val[0].name not in train_names
        for subset in ("train", "val"):
            assert (out / "export" / subset / "hq.lmdb" / "meta_info.txt").is_file() or \
                (out / "export" / subset / "hq.lmdb").is_dir()
            assert (out / "export" / subset / "manifest.parquet").is_file()


def test_bare_command_opens_the_app_in_a_terminal(tmp_path):
    """In a pseudo-terminal, `dataset-forge` with no arguments starts the Textual app."""
    import pty
    import select
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real entry point, as a user's shell would start it
        os.chdir(REPO)
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"})
        os.execv(sys.executable, [sys.executable, "-m", "dataset_forge"])
    seen, deadline = b"", time.monotonic() + 60
    try:
        while b"Main menu" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
        assert b"Main menu" in seen, seen[-500:]
        os.write(fd, b"\x11")  # Ctrl+Q quits
        end = time.monotonic() + 20
        while time.monotonic() < end:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:
                select.select([fd], [], [], 0.2) and os.read(fd, 65536)
            except OSError:
                pass
        else:
            raise AssertionError("the app did not quit on Ctrl+Q")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_bare_command_piped_prints_help(run_cli):
    r = run_cli()
    assert r.returncode == 0 and "usage: dataset-forge" in r.stdout, r


async def test_app_recipe_screen_runs_a_two_step_recipe(tmp_path, make_image):
    """Main menu -> Recipes -> a recipe in the dataset folder -> change a variable -> run."""
    from textual.widgets import DataTable, Input, OptionList

    from dataset_forge.sysinfo import LiveSample
    from menus.app import ForgeApp
    from menus.catalog import RECIPES_GROUP
    from menus.screens.recipe import RecipeForm, RecipeRunScreen

    photos = tmp_path / "photos"
    for i in range(4):
        make_image(photos / f"p{i}.png", size=(96, 64), seed=i)
    out = tmp_path / "out"
    write_recipe(photos / "mine.toml", TWO_STEPS.replace('name = "two"', 'name = "mine"')
                 .replace('input = "unset"', f'input = "{photos}"'))
    sample = LiveSample(cpu_percent=(10.0,), ram_used_bytes=1, ram_total_bytes=2,
                        disk_free_bytes=3)
    app = ForgeApp(str(photos), sample_source=lambda: sample, pictures=False)

    async def until(predicate, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out; screen is {app.screen!r}"
            await pilot.pause(0.05)

    async with app.run_test(size=(100, 35)) as pilot:
        menu = app.screen
        number = [g.key for g in menu.groups].index(RECIPES_GROUP) + 1
        await pilot.press(str(number % 10))
        titles = [e.title for e in menu.current_group.entries]
        assert {"clean", "web-ready", "sr-pairs", "mine"} <= set(titles)
        menu.query_one("#entries", OptionList).highlighted = titles.index("mine")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, RecipeForm))
        form = app.screen
        form.query_one("#var-output", Input).value = str(out)
        await pilot.pause()
        assert f"--set 'output={out}'" in str(form.query_one("#command-line").render()) or \
            f"--set output={out}" in str(form.query_one("#command-line").render())
        form.query_one("#var-scale", Input).value = "x"
        await pilot.pause()
        await pilot.press("ctrl+r")
        assert "scale" in str(form.query_one("#recipe-error").render())
        form.query_one("#var-scale", Input).value = "2"
        await pilot.press("ctrl+r")
        await until(lambda: isinstance(app.screen, RecipeRunScreen))
        run = app.screen
        await until(lambda: not run.running and run.records.get(2) is not None
                    and run.records[2].status == "done")
        table = run.query_one(DataTable)
        assert [table.get_cell(str(i), "status") for i in (1, 2)] == ["done", "done"]
        assert (out / "recipe-report.html").is_file()
        assert len(list((out / "pairs" / "lq").iterdir())) == 4
        table.move_cursor(row=0)
        await pilot.press("enter")
        from menus.screens.results import ResultsScreen
        await until(lambda: isinstance(app.screen, ResultsScreen))
        assert app.screen.report.action == "make-lq"


def test_missing_input_is_a_usage_error_before_anything_is_written(tmp_path, run_cli):
    """`--set input=/typo`: one line naming the step and the folder, exit 2, no output folder
    (it ran the recipe, wrote OUTPUT/recipe-state.json and exited 1)."""
    out = tmp_path / "out"
    r = run_cli("run", RECIPES / "sr-pairs.toml", "--set", f"input={tmp_path / 'typo'}", "--set",
                f"output={out}")
    assert r.returncode == 2, r
    assert f"step 1 (stage): --inputs {tmp_path / 'typo'}: no such folder" in r.stderr, r
    assert not out.exists()


async def test_app_recipe_that_cannot_start_marks_its_step_failed(tmp_path, make_image):
    """run_recipe refuses a first step that cannot start after it said 'running': the row
    stayed 'running' under 'The recipe did not run'."""
    from textual.widgets import DataTable

    from dataset_forge.recipes.recipe import load_recipe
    from dataset_forge.sysinfo import LiveSample
    from menus.app import ForgeApp
    from menus.screens.recipe import RecipeRunScreen

    photos = tmp_path / "photos"
    make_image(photos / "p0.png", size=(96, 64))
    stage = '[[steps]]\nname = "stage"\naction = "combine"\ninputs = ["{input}"]\n' \
            'output = "{workdir}/photos"\napply = true\n\n[[steps]]\nname = "lq"'
    # a list of folders is checked when its step starts, not when the recipe loads
    body = TWO_STEPS.replace('input = "{input}"', 'input = "{steps.stage.output}"')
    write_recipe(tmp_path / "three.toml", body.replace('[[steps]]\nname = "lq"', stage))
    recipe = load_recipe(tmp_path / "three.toml", {"input": str(tmp_path / "typo"),
                                                    "output": str(tmp_path / "out")})
    sample = LiveSample(cpu_percent=(10.0,), ram_used_bytes=1, ram_total_bytes=2,
                        disk_free_bytes=3)
    app = ForgeApp(str(photos), sample_source=lambda: sample, pictures=False)
    async with app.run_test(size=(100, 35)) as pilot:
        run = RecipeRunScreen(recipe)
        await app.push_screen(run)
        deadline = time.monotonic() + 30
        while run.running or not str(run.query_one("#run-status").render()):
            assert time.monotonic() < deadline, "the recipe screen never ended"
            await pilot.pause(0.05)
        table = run.query_one(DataTable)
        assert "did not run" in str(run.query_one("#run-status").render())
        assert [table.get_cell(str(i), "status") for i in (1, 2, 3)] == \
            ["failed", "pending", "pending"]
