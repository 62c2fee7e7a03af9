"""`dataset-forge app [DIR]`: open the terminal workbench on a dataset folder.

Runs `menus.app.run_app` (docs/app.md). Where the app's package is missing (an engine-only
install), it runs the headless inventory of DIR instead.
"""
from __future__ import annotations

import importlib.util


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("app", help="open the terminal workbench")
    parser.add_argument("folder", nargs="?", default=".", help="dataset folder to open")


def run(args) -> int:
    if importlib.util.find_spec("menus.app") is not None:
        from menus.app import run_app
        return run_app(args.folder, settings_path=args.settings)
    from ..cli import main
    return main(["--action", "inventory", "--input", args.folder] +
                (["--settings", args.settings] if args.settings else []))
