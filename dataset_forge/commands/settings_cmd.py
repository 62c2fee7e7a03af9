"""``dataset-forge settings``: inspect and change the settings file.

    dataset-forge settings path                 # where the file is
    dataset-forge settings show [--json]        # every key, its value and source
    dataset-forge settings get parallel.max_workers
    dataset-forge settings set gpu.use_gpu no   # keeps the file's comments
    dataset-forge settings reset                # defaults again (old file kept as .bak)
    dataset-forge settings edit                 # $VISUAL / $EDITOR, then validate
    dataset-forge settings validate             # exit 2 if the file has errors

Exit codes: 0 ok, 2 usage or settings error (one ``error: ...`` line each on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dataset_forge.settings import (RENAMED, SCHEMA, LoadedSettings, SettingsError,
                                    format_value, load_settings, renamed_note, reset,
                                    resolve_settings_path, set_value, write_default)


def _key_list() -> str:
    rows = [f"  {s.key:<26} {s.allowed.removeprefix('must be ')}; default {format_value(s.default)}"
            for s in SCHEMA]
    return "keys:\n" + "\n".join(rows)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``settings`` and its subcommands; ``run`` is set as the handler default."""
    raw = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser("settings", help="show or change the settings file",
                              description="Inspect and change the settings file.",
                              epilog="examples:\n" + __doc__.split("\n\n")[1], formatter_class=raw)
    sub = p.add_subparsers(dest="settings_command", metavar="COMMAND")
    sub.add_parser("path", help="print the settings file's path")
    show = sub.add_parser("show", help="every key with its value and source (file or default)")
    show.add_argument("--json", dest="settings_json", action="store_true", help="print JSON")
    get = sub.add_parser("get", help="print one key's value", epilog=_key_list(), formatter_class=raw)
    get.add_argument("settings_key", metavar="KEY")
    put = sub.add_parser("set", help="change one key, keeping the file's comments",
                         epilog=_key_list(), formatter_class=raw)
    put.add_argument("settings_key", metavar="KEY")
    put.add_argument("settings_value", metavar="VALUE")
    sub.add_parser("reset", help="rewrite the commented defaults (the old file is kept as .bak)")
    sub.add_parser("edit", help="open the file in $VISUAL / $EDITOR (default vi), then validate")
    sub.add_parser("validate", help="check the file; exit 2 if it has errors")
    p.set_defaults(func=run)
    return p


def _error(message: object) -> None:
    print(f"error: {message}", file=sys.stderr)


def _report(loaded: LoadedSettings, level: str = "error") -> int:
    """Print the file's notes (old key names) and problems one per line; 2 if there were
    any problems."""
    for note in loaded.notes:
        print(f"note: {loaded.path}: {note}", file=sys.stderr)
    for err in loaded.errors:
        print(f"{level}: {loaded.path}: {err}", file=sys.stderr)
    return 2 if loaded.errors and level == "error" else 0


def _plain(value: object) -> str:
    return format_value(value) if isinstance(value, bool) else str(value)


def _path(path: Path, args: argparse.Namespace) -> int:
    print(path)
    return 0


def _show(path: Path, args: argparse.Namespace) -> int:
    loaded = load_settings(path)
    if getattr(args, "settings_json", False) or getattr(args, "json", False):
        print(json.dumps({
            "path": str(path), "exists": loaded.exists,
            "settings": loaded.settings.to_dict(),
            "sources": {s.key: loaded.source(s.key) for s in SCHEMA},
            "errors": [str(e) for e in loaded.errors],
        }, indent=2))
        return _report(loaded)
    console = Console(highlight=False)
    note = "" if loaded.exists else "  (no file yet: defaults in use)"
    console.print(Text(f"Settings file: {path}{note}"), soft_wrap=True)
    table = Table("key", "value", "source", box=box.SIMPLE_HEAD)
    for spec in SCHEMA:
        source = loaded.source(spec.key)
        table.add_row(spec.key, Text(format_value(loaded.settings.get(spec.key))),
                      Text(source, style="bold" if source == "file" else "dim"))
    console.print(table)
    return _report(loaded)


def _named(key: str) -> str:
    """The key as it is called now; a note on stderr when an old name was given."""
    if key in RENAMED:
        print(f"note: {renamed_note(key)}", file=sys.stderr)
    return RENAMED.get(key, key)


def _get(path: Path, args: argparse.Namespace) -> int:
    _named(args.settings_key)
    loaded = load_settings(path)
    value = loaded.settings.get(args.settings_key)
    _report(loaded, "warning")
    print(_plain(value))
    return 0


def _set(path: Path, args: argparse.Namespace) -> int:
    key = _named(args.settings_key)
    loaded = set_value(path, key, args.settings_value)
    print(f"{key} = {format_value(loaded.settings.get(key))}  ({path})")
    return _report(loaded, "warning")


def _reset(path: Path, args: argparse.Namespace) -> int:
    backup = reset(path)
    print(f"wrote defaults to {path}" + (f" (previous file saved as {backup})" if backup else ""))
    return 0


def _validate(path: Path, args: argparse.Namespace) -> int:
    loaded = load_settings(path)
    if loaded.errors:
        return _report(loaded)
    _report(loaded)
    print(f"{path}: ok" if loaded.exists else f"{path}: no file; defaults in use")
    return 0


def _edit(path: Path, args: argparse.Namespace) -> int:
    if not path.exists():
        write_default(path)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        status = subprocess.call([*shlex.split(editor), str(path)])
    except OSError as e:
        _error(f"cannot run editor {editor!r}: {e.strerror or e} (set $VISUAL or $EDITOR)")
        return 2
    if status != 0:
        _error(f"editor {editor!r} exited with status {status}")
    return max(_validate(path, args), 2 if status else 0)


_COMMANDS = {"path": _path, "show": _show, "get": _get, "set": _set, "reset": _reset,
             "edit": _edit, "validate": _validate}


def run(args: argparse.Namespace) -> int:
    """Run ``dataset-forge settings ...``; reads ``args.settings`` (the global --settings PATH)."""
    path = resolve_settings_path(getattr(args, "settings", None))
    try:
        return _COMMANDS[getattr(args, "settings_command", None) or "show"](path, args)
    except SettingsError as e:
        for err in e.errors:
            _error(err)
    except OSError as e:
        _error(f"{path}: {e.strerror or e}")
    return 2
