"""Settings file: schema, loading, comment-keeping writes, and the `settings` subcommand."""

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dataset_forge import settings as st
from dataset_forge.commands import settings_cmd

REPO = Path(__file__).resolve().parents[1]

HAND_WRITTEN = """\
# My laptop: keep the worker count low, it overheats!
[parallel]
max_workers = 2  # was 8 before the fan died
processing_type = "thread"

[gpu]
use_gpu = false
"""


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(st.ENV_VAR, raising=False)


def messages(loaded):
    return [str(e) for e in loaded.errors]


# --------------------------------------------------------------------------- schema and loading

def test_schema_lists_every_key_once_with_metadata():
    keys = [spec.key for spec in st.iter_keys()]
    assert len(keys) == len(set(keys)) == 21
    assert keys[0] == "cpu_only" and "dask.queue" in keys
    spec = st.SPEC_BY_KEY["gpu.memory_fraction"]
    assert (spec.type, spec.default, spec.min, spec.max) == ("float", 0.9, 0.1, 1.0)
    assert st.SPEC_BY_KEY["parallel.processing_type"].choices == ("auto", "serial", "thread", "process", "dask")
    assert all(spec.help for spec in st.SCHEMA)


def test_missing_file_gives_defaults_without_errors(tmp_path):
    loaded = st.load_settings(tmp_path / "none.toml")
    assert loaded.settings == st.Settings() and loaded.errors == [] and not loaded.exists
    assert not (tmp_path / "none.toml").exists()
    s = loaded.settings
    assert (s.parallel.max_workers, s.parallel.processing_type, s.gpu.memory_fraction) == (0, "auto", 0.9)
    assert (s.cpu_only, s.dask.cluster, s.dask.memory, s.ui.bell) == (False, "local", "4GB", True)


def test_default_file_is_commented_and_round_trips(tmp_path):
    path = st.write_default(tmp_path / "settings.toml")
    text = path.read_text()
    assert text.startswith("# Dataset Forge settings") and "dataset-forge settings set" in text
    lines = text.splitlines()
    for spec in st.SCHEMA:  # one help comment right above each key
        i = lines.index(f"{spec.name} = {st.format_value(spec.default)}",
                        lines.index(f"[{spec.section}]") if spec.section else 0)
        assert lines[i - 1].startswith(f"# {spec.help}")
    assert tomllib.loads(text) == st.Settings().to_dict()
    loaded = st.load_settings(path)
    assert loaded.settings == st.Settings() and loaded.errors == [] and loaded.exists
    assert loaded.source("parallel.max_workers") == "file"
    with pytest.raises(FileExistsError):
        st.write_default(path)


def test_invalid_values_name_key_value_and_allowed(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[parallel]\nmax_workers = -3\nprocessing_type = "fast"\nchunk_size = 7\n'
                    '[gpu]\nmemory_fraction = 1.5\nuse_gpu = "yes"\ndevice = "cuda:1"\n')
    loaded = st.load_settings(path)
    assert messages(loaded) == [
        "parallel.max_workers = -3: must be an integer >= 0",
        "parallel.processing_type = 'fast': must be one of auto, serial, thread, process, dask",
        "gpu.memory_fraction = 1.5: must be a number from 0.1 to 1",
        "gpu.use_gpu = 'yes': must be true or false",
    ]
    err = loaded.errors[0]
    assert (err.key, err.value, err.allowed) == ("parallel.max_workers", -3, "must be an integer >= 0")
    s = loaded.settings  # invalid keys fall back, valid keys are kept
    assert (s.parallel.max_workers, s.parallel.processing_type, s.parallel.chunk_size) == (0, "auto", 7)
    assert (s.gpu.memory_fraction, s.gpu.use_gpu, s.gpu.device) == (0.9, True, "cuda:1")
    assert loaded.source("parallel.chunk_size") == "file"
    assert loaded.source("parallel.max_workers") == "default"


def test_unknown_keys_get_did_you_mean(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[parallel]\nwokers = 4\n[paralel]\nx = 1\n[dask]\ncpu_only = true\n")
    assert messages(st.load_settings(path)) == [
        "unknown key 'parallel.wokers' (did you mean 'parallel.max_workers'?)",
        "unknown key 'paralel' (did you mean 'parallel'?)",
        "unknown key 'dask.cpu_only' (did you mean 'cpu_only'? top-level keys go above the first [section])",
    ]


def test_broken_toml_reports_error_and_is_never_overwritten(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b"[parallel\nmax_workers = 4\n")
    before = path.read_bytes()
    loaded = st.load_settings(path)
    assert loaded.settings == st.Settings() and loaded.exists
    assert len(loaded.errors) == 1 and str(loaded.errors[0]).startswith("invalid TOML: ")
    assert path.read_bytes() == before
    with pytest.raises(st.SettingsFileError, match="invalid TOML.*file not changed"):
        st.set_value(path, "parallel.max_workers", "8")
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_settings_path_precedence(tmp_path, monkeypatch):
    default = st.resolve_settings_path()
    assert default.name == "settings.toml" and "dataset-forge" in str(default)
    monkeypatch.setenv(st.ENV_VAR, str(tmp_path / "env.toml"))
    assert st.resolve_settings_path() == tmp_path / "env.toml"
    assert st.resolve_settings_path(tmp_path / "cli.toml") == tmp_path / "cli.toml"
    assert st.resolve_settings_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"
    (tmp_path / "env.toml").write_text("cpu_only = true\n")
    assert st.load_settings().settings.cpu_only is True


def test_overrides_return_new_validated_settings():
    base = st.Settings()
    s = base.with_overrides({"parallel.max_workers": 4, "parallel.timeout": 2, "cpu_only": True})
    assert (s.parallel.max_workers, s.parallel.timeout, s.cpu_only) == (4, 2.0, True)
    assert isinstance(s.parallel.timeout, float) and base.parallel.max_workers == 0
    assert s.replace(**{"gpu.device": "cpu"}).get("gpu.device") == "cpu"
    with pytest.raises(st.SettingsError) as exc:
        base.with_overrides({"parallel.max_workers": -1, "gpu.memory_fraction": True, "x.y": 1})
    assert [str(e) for e in exc.value.errors] == [
        "parallel.max_workers = -1: must be an integer >= 0",
        "gpu.memory_fraction = true: must be a number from 0.1 to 1",
        "unknown key 'x.y'",
    ]
    with pytest.raises(st.SettingsError, match="did you mean 'parallel.max_workers'"):
        base.get("parallel.workers")
    with pytest.raises(st.SettingsError):  # direct construction validates too
        st.ParallelSettings(max_workers=-1)
    assert st.Settings.from_flat(s.to_flat()) == s


def test_dirs_resolve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = st.Settings()
    assert s.reports_dir() == tmp_path / "forge-reports"
    assert s.log_dir().is_absolute() and "dataset-forge" in str(s.log_dir())
    s = s.replace(**{"reports.dir": "out/reports", "logging.dir": str(tmp_path / "logs")})
    assert (s.reports_dir(), s.log_dir()) == (tmp_path / "out/reports", tmp_path / "logs")


# --------------------------------------------------------------------------- writing

def test_set_value_keeps_comments_and_order(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(HAND_WRITTEN)
    st.set_value(path, "parallel.max_workers", "6")
    st.set_value(path, "gpu.use_gpu", "on")
    st.set_value(path, "parallel.timeout", "2.5")
    text = path.read_text()
    assert "# My laptop: keep the worker count low, it overheats!" in text
    assert "max_workers = 6  # was 8 before the fan died" in text
    assert text.index("max_workers") < text.index("processing_type") < text.index("[gpu]")
    assert "# Seconds allowed per item" in text  # a new key gets its help comment
    loaded = st.load_settings(path)
    assert loaded.errors == []
    s = loaded.settings
    assert (s.parallel.max_workers, s.parallel.processing_type, s.gpu.use_gpu, s.parallel.timeout) == \
        (6, "thread", True, 2.5)


def test_set_value_through_a_symlink_keeps_the_link_and_the_files_mode(tmp_path):
    real = tmp_path / "dotfiles" / "forge.toml"
    real.parent.mkdir()
    real.write_text(HAND_WRITTEN)
    real.chmod(0o640)
    link = tmp_path / "s.toml"
    link.symlink_to(real)
    st.set_value(link, "parallel.max_workers", "3")
    assert link.is_symlink() and link.resolve() == real
    assert real.stat().st_mode & 0o777 == 0o640
    assert st.load_settings(link).settings.parallel.max_workers == 3
    assert [p.name for p in real.parent.iterdir()] == ["forge.toml"]   # no temporary left


def test_set_value_creates_missing_file_and_adds_sections(tmp_path):
    path = tmp_path / "deep" / "s.toml"
    st.set_value(path, "dask.cluster", "slurm")
    assert "# Dataset Forge settings" in path.read_text()
    (tmp_path / "small.toml").write_text("[parallel]\nmax_workers = 1\n")
    st.set_value(tmp_path / "small.toml", "cpu_only", "yes")
    st.set_value(tmp_path / "small.toml", "ui.bell", "no")
    assert tomllib.loads((tmp_path / "small.toml").read_text()) == {
        "cpu_only": True, "parallel": {"max_workers": 1}, "ui": {"bell": False}}
    assert st.load_settings(path).settings.dask.cluster == "slurm"


@pytest.mark.parametrize("key, raw, message", [
    ("parallel.max_workers", "-3", "parallel.max_workers = -3: must be an integer >= 0"),
    ("parallel.max_workers", "many", "parallel.max_workers = 'many': must be an integer >= 0"),
    ("parallel.processing_type", "fast",
     "parallel.processing_type = 'fast': must be one of auto, serial, thread, process, dask"),
    ("gpu.use_gpu", "maybe", "gpu.use_gpu = 'maybe': must be true or false"),
    ("gpu.device", "cuda1", "gpu.device = 'cuda1': must be auto, cpu, cuda, cuda:N or mps"),
    ("dask.cores", "0", "dask.cores = 0: must be an integer >= 1"),
    ("gpu.memory_fraction", "2", "gpu.memory_fraction = 2: must be a number from 0.1 to 1"),
    ("parallel.timeout", "inf", "parallel.timeout = inf: must be a number >= 0"),
    ("parallel.wokers", "1", "unknown key 'parallel.wokers' (did you mean 'parallel.max_workers'?)"),
])
def test_set_value_rejects_bad_input_without_writing(tmp_path, key, raw, message):
    path = tmp_path / "s.toml"
    path.write_text(HAND_WRITTEN)
    with pytest.raises(st.SettingsError) as exc:
        st.set_value(path, key, raw)
    assert str(exc.value) == message
    assert path.read_text() == HAND_WRITTEN


@pytest.mark.parametrize("raw, expected", [("true", True), ("Yes", True), ("1", True), ("on", True),
                                           ("false", False), ("no", False), ("0", False), ("OFF", False)])
def test_bool_words(raw, expected):
    assert st.parse_value("ui.notify", raw) is expected


def test_reset_keeps_backup(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(HAND_WRITTEN)
    backup = st.reset(path)
    assert backup == tmp_path / "s.toml.bak" and backup.read_text() == HAND_WRITTEN
    assert path.read_text() == st.default_toml()
    assert st.reset(tmp_path / "new.toml") is None


# --------------------------------------------------------------------------- the subcommand

def cli(path, *argv):
    parser = argparse.ArgumentParser(prog="dataset-forge")
    parser.add_argument("--settings")
    settings_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args([*(["--settings", str(path)] if path else []), "settings", *argv])
    return args.func(args)


def test_cmd_path_and_set_get(tmp_path, capsys):
    path = tmp_path / "s.toml"
    assert cli(path, "path") == 0
    assert capsys.readouterr().out.strip() == str(path)
    assert cli(path, "set", "parallel.max_workers", "4") == 0
    assert "parallel.max_workers = 4" in capsys.readouterr().out
    assert cli(path, "get", "parallel.max_workers") == 0
    assert capsys.readouterr().out == "4\n"
    assert cli(path, "get", "gpu.use_gpu") == 0 and capsys.readouterr().out == "true\n"
    assert cli(path, "get", "parallel.wokers") == 2
    assert capsys.readouterr().err == \
        "error: unknown key 'parallel.wokers' (did you mean 'parallel.max_workers'?)\n"
    assert cli(path, "set", "parallel.max_workers", "-3") == 2
    assert capsys.readouterr().err == "error: parallel.max_workers = -3: must be an integer >= 0\n"


def test_cmd_show_table_and_json(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text("[parallel]\nmax_workers = 3\nchunk_size = -1\n")
    assert cli(path, "show") == 2
    out, err = capsys.readouterr()
    assert str(path) in out
    row = next(line for line in out.splitlines() if "parallel.max_workers" in line)
    assert row.split() == ["parallel.max_workers", "3", "file"]
    row = next(line for line in out.splitlines() if "parallel.chunk_size" in line)
    assert row.split() == ["parallel.chunk_size", "0", "default"]
    assert err == f"error: {path}: parallel.chunk_size = -1: must be an integer >= 0\n"
    assert cli(path, "show", "--json") == 2
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["parallel"]["max_workers"] == 3
    assert data["sources"]["parallel.max_workers"] == "file"
    assert data["sources"]["gpu.use_gpu"] == "default"
    assert data["errors"] == ["parallel.chunk_size = -1: must be an integer >= 0"]


def test_cmd_validate_and_reset(tmp_path, capsys):
    path = tmp_path / "s.toml"
    assert cli(path, "validate") == 0
    assert "defaults in use" in capsys.readouterr().out
    path.write_text("[parallel]\nmax_workers = -3\nwokers = 1\n")
    assert cli(path, "validate") == 2
    assert capsys.readouterr().err.splitlines() == [  # one line per error, in file order
        f"error: {path}: parallel.max_workers = -3: must be an integer >= 0",
        f"error: {path}: unknown key 'parallel.wokers' (did you mean 'parallel.max_workers'?)",
    ]
    assert cli(path, "reset") == 0
    assert "s.toml.bak" in capsys.readouterr().out
    assert cli(path, "validate") == 0 and capsys.readouterr().out.strip() == f"{path}: ok"
    path.write_text("not toml [")
    assert cli(path, "set", "cpu_only", "true") == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: invalid TOML")
    assert path.read_text() == "not toml ["


def test_cmd_edit_runs_editor_then_validates(tmp_path, capsys, monkeypatch):
    path = tmp_path / "s.toml"
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "p.write_text(p.read_text().replace('cpu_only = false', 'cpu_only = true'))\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    assert cli(path, "edit") == 0  # created from defaults, edited, valid
    assert st.load_settings(path).settings.cpu_only is True
    assert f"{path}: ok" in capsys.readouterr().out
    # appending below the last section puts the key in [dask]: edit reports it, exit 2
    monkeypatch.setenv("VISUAL", """sh -c 'echo "cpu_only = true" >> "$0"'""")
    assert cli(path, "edit") == 2
    assert "unknown key 'dask.cpu_only' (did you mean 'cpu_only'?" in capsys.readouterr().err
    monkeypatch.setenv("VISUAL", "sh -c 'exit 3'")
    assert cli(path, "edit") == 2
    assert "exited with status 3" in capsys.readouterr().err


def test_cmd_env_var_and_default_subcommand_in_subprocess(tmp_path):
    path = tmp_path / "env.toml"
    code = ("import argparse, sys; from dataset_forge.commands import settings_cmd as c; "
            "p = argparse.ArgumentParser(); p.add_argument('--settings'); "
            "c.add_parser(p.add_subparsers(dest='command')); a = p.parse_args(sys.argv[1:]); "
            "sys.exit(c.run(a))")
    env = {"PATH": "/usr/bin:/bin", st.ENV_VAR: str(path), "HOME": str(tmp_path)}
    run = lambda *argv: subprocess.run([sys.executable, "-c", code, *argv], cwd=REPO, env=env,
                                       capture_output=True, text=True)
    assert run("settings", "set", "dask.cores", "8").returncode == 0
    done = run("settings", "get", "dask.cores")
    assert (done.returncode, done.stdout) == (0, "8\n")
    done = run("settings")  # no subcommand = show
    assert done.returncode == 0 and "dask.cores" in done.stdout and done.stderr == ""
    other = tmp_path / "other.toml"  # --settings beats the env var
    done = run("--settings", str(other), "settings", "get", "dask.cores")
    assert (done.returncode, done.stdout) == (0, "1\n")


def test_docs_cover_every_key():
    text = (REPO / "docs" / "settings.md").read_text()
    missing = [spec.key for spec in st.SCHEMA if f"`{spec.key}`" not in text]
    assert missing == []


# parallel.max_in_flight was renamed parallel.max_items_in_flight (it counts items, not bytes)

def test_the_old_name_max_in_flight_is_read_with_a_one_line_note(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[parallel]\n# my bound\nmax_in_flight = 12\n")
    loaded = st.load_settings(path)
    assert loaded.ok and loaded.settings.parallel.max_items_in_flight == 12
    assert loaded.notes == ["parallel.max_in_flight is now called parallel.max_items_in_flight; "
                            "the old name still works for now"]
    assert loaded.source("parallel.max_items_in_flight") == "file"
    assert loaded.settings.get("parallel.max_in_flight") == 12
    assert loaded.settings.with_overrides({"parallel.max_in_flight": 3}).parallel \
        .max_items_in_flight == 3
    from dataset_forge.parallel import ParallelConfig
    assert ParallelConfig.from_settings(loaded.settings).max_items_in_flight == 12
    path.write_text("[parallel]\nmax_in_flight = 12\nmax_items_in_flight = 7\n")
    both = st.load_settings(path)
    assert both.settings.parallel.max_items_in_flight == 7 and "is ignored" in both.notes[0]


def test_settings_commands_take_the_old_name_and_write_the_new_one(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("# mine\n[parallel]\nmax_in_flight = 12\nmax_workers = 2\n")
    env = {**os.environ, st.ENV_VAR: str(path)}
    cli = lambda *argv: subprocess.run([sys.executable, "-m", "dataset_forge", *argv], env=env,
                                       capture_output=True, text=True, cwd=REPO)
    got = cli("settings", "get", "parallel.max_items_in_flight")
    assert (got.returncode, got.stdout) == (0, "12\n")
    assert got.stderr.count("\n") == 1 and got.stderr.startswith("note: ")
    put = cli("settings", "set", "parallel.max_in_flight", "5")
    assert put.returncode == 0 and put.stdout.startswith("parallel.max_items_in_flight = 5")
    assert "note: parallel.max_in_flight is now called parallel.max_items_in_flight" in put.stderr
    text = path.read_text()
    assert "max_items_in_flight = 5" in text and "max_in_flight =" not in text
    assert "# mine" in text and "max_workers = 2" in text
    shown = cli("settings", "show")
    assert shown.returncode == 0 and "note:" not in shown.stderr
    assert "parallel.max_items_in_flight" in shown.stdout and "max_in_flight " not in shown.stdout
