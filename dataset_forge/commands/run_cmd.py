"""`dataset-forge run RECIPE.toml`: run a recipe's steps in order, resumably.

    dataset-forge run assets/recipes/sr-pairs.toml --set input=~/photos --set output=~/sr
    dataset-forge run my.toml --dry-run          # the resolved steps, and which would run
    dataset-forge run my.toml --from make-lq     # rerun from a step; --only STEP runs one

A rerun of the same command resumes at the first unfinished step. Exit codes: 0 every step
done, 1 a step failed, 2 the recipe is invalid, 130 cancelled.
"""
from __future__ import annotations

import argparse
import json
import shlex
import signal
from pathlib import Path

from ..errors import EXIT_OK
from ..recipes import load_recipe, parse_assignments, plan, run_recipe


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("run", help="run a recipe: several actions in order, resumable",
                              description="Run the steps of a recipe file in order. A rerun "
                              "resumes at the first unfinished step.")
    p.add_argument("recipe", metavar="RECIPE", help="recipe file (.toml); shipped ones are in "
                   "assets/recipes/")
    p.add_argument("--set", dest="assignments", action="append", metavar="KEY=VALUE",
                   help="set a recipe variable for this run (repeatable)")
    p.add_argument("--from", dest="start", metavar="STEP", help="rerun from this step on")
    p.add_argument("--only", metavar="STEP", help="run this step alone")
    p.add_argument("--dry-run", action="store_true", help="show the resolved steps and which "
                   "would run; run nothing")
    from ..cli import accept_global_options
    accept_global_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..cli import _cancel_on_ctrl_c, _console, _load_settings, parallel_config
    from ..parallel import CancelToken
    from ..reports.terminal import ProgressRenderer
    out, err = _console(), _console(stderr=True)
    recipe = load_recipe(args.recipe, parse_assignments(args.assignments))
    steps = plan(recipe, start=args.start, only=args.only)
    if args.dry_run:
        return _show_plan(recipe, steps, out, args.json)
    settings = _load_settings(args.settings, err)
    config = parallel_config(settings, args)
    cancel, renderer = CancelToken(), ProgressRenderer(err)

    def on_step(step, record) -> None:
        if record.status in ("running", "pending"):
            if record.status == "running":
                err.print(f"[{step.index}/{len(recipe.steps)}] {step.name} ({step.action.name})",
                          markup=False, highlight=False)
            return
        detail = f": {record.error}" if record.error else ""
        err.print(f"[{step.index}/{len(recipe.steps)}] {step.name}: {record.status}"
                  f"{f' in {record.elapsed:.1f} s' if record.status != 'pending' and record.elapsed else ''}"
                  f"{detail}", markup=False, highlight=False, soft_wrap=True)

    previous = _cancel_on_ctrl_c(cancel, err)
    try:
        result = run_recipe(recipe, config=config, settings=settings, sink=renderer,
                            cancel=cancel, start=args.start, only=args.only, on_step=on_step,
                            log_dir=settings.log_dir(), debug=args.debug)
    finally:
        renderer.stop()
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print(Path(result.files["report"]).read_text(encoding="utf-8"))
    else:
        done = sum(r.status in ("done", "skipped (already done)") for r in result.steps)
        out.print(f"recipe {recipe.name}: {done} of {len(recipe.steps)} steps done"
                  + (f", {len(result.failed)} failed" if result.failed else ""),
                  markup=False, highlight=False)
        out.print(f"report: {result.files['html']}", markup=False, highlight=False,
                  soft_wrap=True)
    return result.exit_code


def _show_plan(recipe, steps, out, as_json: bool) -> int:
    rows = [{"index": s.index, "name": s.name, "action": s.action.name, "will_run": will_run,
             "params": {k: str(v) if isinstance(v, Path) else v for k, v in s.params.items()},
             "report_dir": str(s.report_dir)} for s, will_run in steps]
    if as_json:
        print(json.dumps({"recipe": str(recipe.path), "workdir": str(recipe.workdir),
                          "variables": recipe.variables, "steps": rows}, indent=2, default=str))
        return EXIT_OK
    out.print(f"recipe {recipe.name} ({recipe.path}), workdir {recipe.workdir}", markup=False,
              highlight=False, soft_wrap=True)
    for row, (step, _) in zip(rows, steps):
        command = shlex.join(["dataset-forge", *step.action.command_args(step.params)])
        mark = "run " if row["will_run"] else "skip"
        out.print(f"  {mark} {row['index']:>2}. {row['name']}: {command}", markup=False,
                  highlight=False, soft_wrap=True)
    return EXIT_OK
