"""The headless face: `dataset-forge --action NAME --input DIR [options]` and subcommands.

    dataset-forge --list-actions
    dataset-forge --action inventory --input photos/ --workers 4
    dataset-forge --action inventory --help        # flags generated from the declaration
    dataset-forge settings show | sysinfo | app [DIR] | run RECIPE | undo MANIFEST
    dataset-forge                                  # on a terminal: opens the app on this folder

Exit codes: 0 all items ok, 1 finished with failed items, 2 usage or configuration error,
3 unexpected internal error, 130 cancelled with Ctrl-C.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console

from . import __version__
from .actions.registry import Action, Family, all_actions, get_action
from .errors import (EXIT_CANCELLED, EXIT_INTERNAL, EXIT_ITEMS_FAILED, EXIT_OK, EXIT_USAGE,
                     UsageError)
from .parallel import CancelToken, ParallelConfig, ProcessingType
from .reports.terminal import ProgressRenderer, render_report

PIPE_WIDTH = 1000  # columns assumed when output is not a terminal


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line (exit 2) with a did-you-mean."""

    #: set on an action's parser: its name, for hints that know the action was given
    action_name: str | None = None

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            message += self._hint(message.split(":", 1)[1].split())
        raise UsageError(message)

    def _hint(self, words: list[str]) -> str:
        """A did-you-mean for the first unknown flag; on an action's parser never --action
        (it was given), and an --output the action lacks says where its report goes."""
        import difflib
        known = _option_strings(self)
        if self.action_name:
            known = [k for k in known if k not in ("--action", "--list-actions")]
            if "--output" in words and "--output" not in known:
                return (f"; {self.action_name} writes no files but its report: "
                        "--report-dir DIR sets where it goes")
        for word in words:
            close = difflib.get_close_matches(word.split("=")[0], known, n=1)
            if close:
                return f"; did you mean {close[0]}?"
        return ""


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every flag of `parser` and its subcommands (`run --form` is met by the top parser)."""
    known = []
    for a in parser._actions:
        known += a.option_strings
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                known += _option_strings(sub)
    return known


def _global_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("global options")
    g.add_argument("--settings", metavar="PATH", help="settings file (default: platform config "
                   "folder, or $DATASET_FORGE_SETTINGS)")
    g.add_argument("--debug", action="store_true", help="show tracebacks")
    g.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    g.add_argument("--report-dir", metavar="DIR", help="where the report goes (default: --output "
                   "if the action has one, else reports.dir/<action>-<time>)")
    p = parser.add_argument_group("parallel overrides (this run only)")
    p.add_argument("--workers", type=int, metavar="N", help="worker count (0 = auto)")
    p.add_argument("--processing-type", choices=[t.value for t in ProcessingType])
    p.add_argument("--chunk-size", type=int, metavar="N", help="items per task (0 = auto)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds per item (0 = none)")
    p.add_argument("--gpu-memory-fraction", type=float, metavar="F", help="0.1 to 1.0")
    p.add_argument("--cpu-only", action="store_true", default=None, help="never use a GPU")


def accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Let a subcommand take the global options after its name too (`run X --json`), without
    resetting the ones given before it."""
    known = {id(a) for a in parser._actions}
    _global_options(parser)
    for added in (a for a in parser._actions if id(a) not in known):
        added.default = argparse.SUPPRESS


def _base_parser(add_help: bool) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dataset-forge", add_help=add_help,
        description="Prepare image datasets for training: analyse, deduplicate, compress, "
                    "transform and augment, above all HQ/LQ super-resolution pairs.",
        epilog="Subcommands: " + ", ".join(sorted(_subcommands())) + ". Exit codes: 0 ok, "
               "1 some items failed, 2 usage error, 3 internal error, 130 cancelled.")
    parser.add_argument("--version", action="version", version=f"dataset-forge {__version__}")
    parser.add_argument("--list-actions", action="store_true", help="list every action")
    parser.add_argument("--action", metavar="NAME", help="the action to run (see --list-actions)")
    _global_options(parser)
    return parser


def _subcommands() -> dict[str, Any]:
    """Subcommand modules: every `dataset_forge/commands/*_cmd.py` with add_parser and run."""
    from . import commands
    found = {}
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.endswith("_cmd"):
            found[info.name[:-4]] = f"{commands.__name__}.{info.name}"
    return found


def _action_parser(action: Action) -> argparse.ArgumentParser:
    parser = _base_parser(add_help=True)
    parser.usage = f"dataset-forge --action {action.name} [options]"
    parser.action_name = action.name
    parser.description = f"{action.help}.\n\n{action.description}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if action.examples:
        parser.epilog = "examples:\n" + "".join(f"  {e}\n" for e in action.examples) + \
            "\n" + parser.epilog
    group = parser.add_argument_group(f"{action.name} options")
    for param in action.params:
        param.add_argument(group)
    return parser


def _load_settings(path: str | None, console: Console):
    from .settings import load_settings, resolve_settings_path
    loaded = load_settings(resolve_settings_path(path))
    for note in loaded.notes:
        console.print(f"note: settings file {loaded.path}: {note}",
                      markup=False, highlight=False, soft_wrap=True)
    for error in loaded.errors:
        console.print(f"warning: settings file {loaded.path}: {error} (using the default)",
                      markup=False, highlight=False, soft_wrap=True)
    return loaded.settings


def parallel_config(settings, ns: argparse.Namespace) -> ParallelConfig:
    """Settings first, then this run's command-line overrides."""
    config = ParallelConfig.from_settings(settings)
    overrides = {"max_workers": ns.workers, "processing_type": ns.processing_type,
                 "chunk_size": ns.chunk_size, "timeout": ns.timeout,
                 "gpu_memory_fraction": ns.gpu_memory_fraction}
    for flag, value in (("--workers", ns.workers), ("--chunk-size", ns.chunk_size),
                        ("--timeout", ns.timeout)):
        if value is not None and value < 0:
            raise UsageError(f"{flag} {value:g}: must be >= 0")
    if ns.gpu_memory_fraction is not None and not 0.1 <= ns.gpu_memory_fraction <= 1.0:
        raise UsageError(f"--gpu-memory-fraction {ns.gpu_memory_fraction:g}: must be from 0.1 to 1.0")
    if ns.cpu_only:
        overrides["device"] = "cpu"
    try:
        return config.with_(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _list_actions(console: Console) -> int:
    actions = all_actions()
    for family in Family:
        members = [a for a in actions.values() if a.family is family]
        if members:
            console.print(f"[bold]{family.title}[/bold]")
            for a in members:
                console.print(f"  {a.name:<22} {a.help}", highlight=False, soft_wrap=True)
    return EXIT_OK


def parse_action_args(action: Action, argv: Sequence[str]) -> tuple[argparse.Namespace,
                                                                    dict[str, Any]]:
    """The action's command line read by its parser: the namespace, and the raw values of the
    action's parameters that were given."""
    ns = _action_parser(action).parse_args(argv)
    return ns, {p.name: getattr(ns, p.name) for p in action.params
                if getattr(ns, p.name) is not None}


def _run_action(name: str, argv: Sequence[str], out: Console, err: Console) -> int:
    from .runner import ReportNotWritten, run_action
    action = get_action(name)
    ns, raw = parse_action_args(action, argv)
    settings = _load_settings(ns.settings, err)
    config = parallel_config(settings, ns)
    cancel = CancelToken()
    workers_note = config.worker_plan(action.kind)[1]
    if workers_note:  # said before the run starts: --workers was more than the machine holds
        _note(err, workers_note)
    renderer = ProgressRenderer(err)
    previous = _cancel_on_ctrl_c(cancel, err)
    try:
        report = run_action(action, raw, config=config, settings=settings, sink=renderer,
                            cancel=cancel, report_dir=Path(ns.report_dir) if ns.report_dir else None,
                            log_dir=settings.log_dir())
    except ReportNotWritten as exc:  # the run ended: show it, then the one-line error
        renderer.stop()
        _show(exc.report, ns.json, out)
        raise
    finally:
        renderer.stop()
        signal.signal(signal.SIGINT, previous)
    _show(report, ns.json, out)
    for note in report.notes:
        if note != workers_note:
            _note(err, note)
    if report.cancelled:
        err.print("cancelled: the report lists what was finished", markup=False)
        return EXIT_CANCELLED
    return EXIT_ITEMS_FAILED if report.failed else EXIT_OK


def _show(report, as_json: bool, out: Console) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        render_report(report, out)


def _note(err: Console, text: str) -> None:
    err.print(f"note: {text}", markup=False, highlight=False, soft_wrap=True)


def _os_error_line(exc: OSError) -> str:
    """`path: reason` for an environment failure (disk full, folder gone, no permission)."""
    reason = exc.strerror or str(exc)
    if exc.filename:
        return f"{exc.filename}: {reason}"
    return f"{reason} (rerun with --debug to see where)"


def _cancel_on_ctrl_c(cancel: CancelToken, err: Console):
    """First Ctrl-C asks the run to stop cleanly; a second one interrupts at once."""
    def handler(signum, frame):
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        err.print("stopping... (Ctrl-C again to interrupt at once)", markup=False)
    return signal.signal(signal.SIGINT, handler)


def _console(stderr: bool = False) -> Console:
    """A terminal gets rich's own width; a pipe or file gets long lines, never mid-word wraps."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err = _console(), _console(stderr=True)
    debug = "--debug" in argv
    if not argv and sys.stdin.isatty() and sys.stdout.isatty():
        argv = ["app", "."]  # bare `dataset-forge` on a terminal opens the workbench
    try:
        ns, rest = _base_parser(add_help=False).parse_known_args(argv)
        subcommands = _subcommands()
        if rest and rest[0] in subcommands and not ns.action:
            module = importlib.import_module(subcommands[rest[0]])
            parser = _base_parser(add_help=True)
            module.add_parser(parser.add_subparsers(dest="command"))
            return module.run(parser.parse_args(argv))
        if ns.list_actions:
            return _list_actions(out)
        if ns.action:
            return _run_action(ns.action, argv, out, err)
        if rest and rest[0] in all_actions():
            raise UsageError(f"actions run with --action: dataset-forge --action {rest[0]} "
                             + " ".join(rest[1:]))
        _base_parser(add_help=True).parse_args(argv or ["--help"])
        return EXIT_USAGE
    except UsageError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        return EXIT_CANCELLED
    except OSError as exc:  # the machine, not the engine: disk full, unwritable folder
        if debug:
            raise
        err.print(f"error: {_os_error_line(exc)}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user without --debug
        if debug:
            raise
        err.print(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the "
                  "traceback)", markup=False, highlight=False, soft_wrap=True)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
