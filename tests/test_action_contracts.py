"""Contracts every registered action keeps, checked across all families at once: inputs are never
modified, a report is always written, an empty folder is a one-line usage error, and every
parameter explains itself (it feeds --help and the app's forms)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from action_params import ACTION_PARAMS, DEMO
from dataset_forge.actions.registry import all_actions
from dataset_forge.cli import main as cli_main
from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action

from conftest import tree_digest


def params_for(name: str, demo: Path, out: Path) -> dict:
    """The shared demo parameters, pointed at a private copy of the demo and at `out`."""
    def place(value):
        if value == "OUT":
            return str(out)
        if isinstance(value, Path) and DEMO in (value, *value.parents):
            return demo / value.relative_to(DEMO)
        if isinstance(value, list):   # a list of folders travels as one comma-separated flag
            return ",".join(str(place(v)) for v in value)
        return value
    return {k: place(v) for k, v in ACTION_PARAMS[name].items()}


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(DEMO, copy)
    return copy


@pytest.mark.parametrize("name", sorted(ACTION_PARAMS))
def test_inputs_untouched_and_report_written(name, demo_copy, tmp_path):
    before = tree_digest(demo_copy)
    out = tmp_path / "out"
    report = run_action(all_actions()[name], params_for(name, demo_copy, out),
                        config=ParallelConfig(processing_type="thread", max_workers=2),
                        report_dir=out)
    assert tree_digest(demo_copy) == before, f"{name} modified its inputs"
    written = json.loads((out / f"{name}_report.json").read_text())
    assert written["action"] == name and written["run"]["total"] >= 0
    assert report.summary, f"{name} reported no summary"


@pytest.mark.parametrize("name", sorted(ACTION_PARAMS))
def test_empty_folder_is_a_one_line_usage_error(name, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "hq").mkdir(parents=True)
    (empty / "lq_x2").mkdir()
    (empty / "mixed").mkdir()
    args = ["--action", name, "--report-dir", str(tmp_path / "r"),
            *cli_args(params_for(name, empty, tmp_path / "out"))]
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err


def cli_args(params: dict) -> list[str]:
    args = []
    for key, value in params.items():
        args += [f"--{key.replace('_', '-')}", "true" if value is True else str(value)]
    return [a for a in args if a != "true"]  # booleans are bare flags


WRITTEN_FOLDERS = sorted((name, param.name) for name, action in all_actions().items()
                         for param in action.params if param.type == "path")


@pytest.mark.parametrize("name,folder", WRITTEN_FOLDERS)
def test_a_folder_that_cannot_be_created_is_one_line_naming_it(name, folder, demo_copy,
                                                              tmp_path, capsys):
    params = {**params_for(name, demo_copy, tmp_path / "out"), folder: "/proc/forge-none/out"}
    flag = f"--{folder.replace('_', '-')}"
    assert cli_main(["--action", name, "--report-dir", str(tmp_path / "r"),
                     *cli_args(params)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {flag} /proc/forge-none/out: cannot create it in /proc: "
                   "No such file or directory"], err
    assert not (tmp_path / "r").exists()                 # refused before anything ran


def test_a_report_folder_that_cannot_be_created_is_one_line_naming_it(tmp_path, capsys):
    assert cli_main(["--action", "inventory", "--input", str(DEMO / "hq"),
                     "--report-dir", "/proc/forge-none/r"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --report-dir /proc/forge-none/r: cannot create it in /proc: "
        "No such file or directory"]


@pytest.mark.parametrize("name", sorted(all_actions()))
def test_every_action_and_parameter_explains_itself(name):
    action = all_actions()[name]
    assert action.help and action.description, f"{name} lacks help or a description"
    for param in action.params:
        assert param.help.strip(), f"{name} --{param.name} has no help text"
        if param.default is not None and not param.required:
            assert param.parse(param.default) == param.default or param.type in ("path", "dir", "file")


@pytest.mark.parametrize("name", sorted(n for n, a in all_actions().items()
                                        if {"hq", "lq"} <= {p.name for p in a.params}))
def test_hq_and_lq_must_be_different_folders(name, tmp_path):
    params = {k: v for k, v in params_for(name, DEMO, tmp_path / "out").items() if k != "input"}
    params.update(hq=DEMO / "hq", lq=DEMO / "hq")
    with pytest.raises(UsageError, match="same folder"):
        run_action(all_actions()[name], params, config=ParallelConfig(processing_type="serial"),
                   report_dir=tmp_path / "r")
    assert not (tmp_path / "out").exists()


def test_every_action_shows_examples_that_its_own_parser_accepts():
    """Examples are shown in --help (and the app's form), so they must stay runnable."""
    import shlex

    from dataset_forge.cli import _action_parser
    for action in all_actions().values():
        assert action.examples, f"{action.name} declares no examples"
        parser = _action_parser(action)
        assert "examples:\n" in parser.format_help()
        for example in action.examples:
            argv = shlex.split(example)
            assert argv[:3] == ["dataset-forge", "--action", action.name], example
            ns = parser.parse_args(argv[1:])  # a stale flag is a UsageError here
            assert ns.action == action.name and action.examples[0] in parser.format_help()


def test_every_action_command_line_round_trips_through_its_parser(tmp_path):
    """The one writer of command lines (`Action.command_args` / `Field.flag_args`), as the
    recipe plan and the app's headless command use it: for every action, its defaults (and
    each switch flipped) read back by the CLI parser give the same parameters."""
    import shlex

    from dataset_forge.cli import parse_action_args
    from menus.commandline import headless_command
    for name, action in all_actions().items():
        given = params_for(name, DEMO, tmp_path / "out")
        for flip in (False, True):
            values = {p.name: (not p.default if flip and p.type == "bool" else p.default)
                      for p in action.params if p.default is not None}
            values.update(given)
            expected = action.parse_params(values)
            _, raw = parse_action_args(action, action.command_args(values))
            assert action.parse_params(raw) == expected, (name, action.command_args(values))
            shown = shlex.split(headless_command(action, values))
            assert shown[:3] == ["dataset-forge", "--action", name]
            _, raw = parse_action_args(action, shown[1:])
            assert action.parse_params(raw) == expected, (name, shown)
