"""Run a recipe's steps in order, resumably, and write one index report for the whole run.

    recipe = load_recipe("assets/recipes/clean.toml", {"input": "photos"})
    result = run_recipe(recipe, config=config, settings=settings)

The run's state (`WORKDIR/recipe-state.json`, written atomically after every step) records each
finished step with a fingerprint of its action and parameters. A rerun starts at the first step
that is not finished with the same fingerprint and runs every step after it (their own journals
make them resume inside the step). `start` reruns from a named step, `only` runs one step.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from ..io.atomic import atomic_write
from ..parallel import CancelToken, ParallelConfig, Sink
from ..parallel.events import null_sink
from ..reports import html as hr
from .recipe import Recipe, RecipeError, Step

STATE_FILE = "recipe-state.json"
INDEX_JSON = "recipe-report.json"
INDEX_HTML = "recipe-report.html"

DONE, FAILED, SKIPPED, PENDING, RUNNING, CANCELLED = (
    "done", "failed", "skipped (already done)", "pending", "running", "cancelled")


@dataclass
class StepResult:
    name: str
    action: str
    status: str = PENDING
    elapsed: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    failed_items: int = 0
    report: str | None = None
    html: str | None = None
    error: str | None = None


@dataclass
class RecipeResult:
    recipe: Recipe
    steps: list[StepResult]
    cancelled: bool = False
    files: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps if s.status == FAILED]

    @property
    def exit_code(self) -> int:
        from ..errors import EXIT_CANCELLED, EXIT_ITEMS_FAILED, EXIT_OK
        if self.cancelled:
            return EXIT_CANCELLED
        return EXIT_ITEMS_FAILED if self.failed else EXIT_OK


#: called with (step, status) when a step starts, finishes, fails or is skipped
StepListener = Callable[[Step, StepResult], None]


def plan(recipe: Recipe, *, start: str | None = None, only: str | None = None) -> list[tuple[Step, bool]]:
    """(step, will_run) for every step, from the saved state and the --from/--only choice."""
    if start and only:
        raise UsageError("give --from or --only, not both")
    state = _read_state(recipe)
    if only:
        chosen = recipe.step(only)
        return [(s, s is chosen) for s in recipe.steps]
    first = recipe.step(start).index if start else next(
        (s.index for s in recipe.steps if state.get(s.name, {}).get("fingerprint") != s.fingerprint
         or state.get(s.name, {}).get("status") != DONE), len(recipe.steps) + 1)
    return [(s, s.index >= first) for s in recipe.steps]


def run_recipe(recipe: Recipe, *, config: ParallelConfig, settings: Any = None,
               sink: Sink = null_sink, cancel: CancelToken | None = None,
               start: str | None = None, only: str | None = None,
               on_step: StepListener | None = None, log_dir: Path | None = None,
               debug: bool = False) -> RecipeResult:
    """Run the planned steps; a failed step stops the run unless it continues on failure."""
    from ..runner import run_action
    cancel = cancel or CancelToken()
    steps = plan(recipe, start=start, only=only)
    first = next((s for s, will_run in steps if will_run), None)
    created = not recipe.workdir.exists()
    recipe.workdir.mkdir(parents=True, exist_ok=True)
    state = _read_state(recipe)
    result = RecipeResult(recipe, [StepResult(s.name, s.action.name) for s, _ in steps])
    stopped = False
    for (step, will_run), record in zip(steps, result.steps):
        if not will_run or stopped:
            saved = state.get(step.name, {})
            if saved.get("fingerprint") == step.fingerprint and saved.get("status") == DONE:
                record.status, record.report = SKIPPED, saved.get("report")
                record.html = saved.get("html")
                record.summary, record.elapsed = saved.get("summary", {}), saved.get("elapsed", 0)
            _notify(on_step, step, record)
            continue
        record.status = RUNNING
        _notify(on_step, step, record)
        t0 = time.perf_counter()
        try:
            _check_inputs(step)
            report = run_action(step.action, dict(step.params), config=config, settings=settings,
                                sink=sink, cancel=cancel, report_dir=step.report_dir,
                                log_dir=log_dir)
        except UsageError as exc:
            if step is first:  # nothing ran (a missing input folder): the run is refused
                _remove_if_empty(recipe.workdir if created else None)
                raise UsageError(f"step {step.index} ({step.name}): {exc}") from None
            record.status, record.error = FAILED, str(exc)
        except Exception as exc:  # noqa: BLE001 - one step's crash is one line in the index
            if debug:
                raise
            record.status, record.error = FAILED, f"unexpected {type(exc).__name__}: {exc}"
        else:
            record.summary = _plain(report.summary)
            record.failed_items = report.failed
            record.report, record.html = report.files.get("report"), report.files.get("html")
            if report.cancelled:
                record.status = CANCELLED
            elif report.failed:
                # a step that continues on failure finished what it was for: its failed items
                # are findings (integrity's broken files); it is done and a resume skips it
                record.status = DONE if step.continue_on_failure else FAILED
                record.error = _failed_items(report)
            else:
                record.status = DONE
        record.elapsed = round(time.perf_counter() - t0, 3)
        state[step.name] = {"fingerprint": step.fingerprint, "status": record.status,
                            "report": record.report, "html": record.html,
                            "summary": record.summary,
                            "elapsed": record.elapsed}
        _write_state(recipe, state)
        _notify(on_step, step, record)
        if record.status == CANCELLED or cancel.cancelled:
            result.cancelled, stopped = True, True
        elif record.status == FAILED and not step.continue_on_failure:
            stopped = True
    result.files = write_index(result)
    return result


def _failed_items(report: Any) -> str:
    """'N item(s) failed, first: ITEM: TYPE: MESSAGE; report: PATH' (the step line says why)."""
    text = f"{report.failed} item(s) failed"
    if report.failures:
        text += f", first: {report.failures[0]}"
    where = report.files.get("report")
    return text + (f"; report: {where}" if where else "; see the step's report")


def _check_inputs(step: Step) -> None:
    """Folders made by earlier steps must exist by now (load time could not check them)."""
    for p in step.action.params:
        value = step.params.get(p.name)
        if value is not None and p.type in ("dir", "file"):
            p.parse(value)


def _remove_if_empty(folder: Path | None) -> None:
    """Remove a folder this run created if it holds no file (only empty folders)."""
    if folder is None or any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        return
    for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    folder.rmdir()


def _notify(listener: StepListener | None, step: Step, record: StepResult) -> None:
    if listener is not None:
        listener(step, record)


def _plain(value: Any) -> Any:
    """JSON-safe copy (paths and other objects as text)."""
    return json.loads(json.dumps(value, default=str))


def _state_path(recipe: Recipe) -> Path:
    return recipe.workdir / STATE_FILE


def _read_state(recipe: Recipe) -> dict[str, dict]:
    path = _state_path(recipe)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        raise RecipeError(f"{path}: unreadable recipe state; delete it to start over") from None
    return data.get("steps", {}) if data.get("recipe") == str(recipe.path) else {}


def _write_state(recipe: Recipe, steps: dict[str, dict]) -> None:
    with atomic_write(_state_path(recipe), "w", encoding="utf-8") as fh:
        json.dump({"recipe": str(recipe.path), "steps": steps}, fh, indent=2)


def write_index(result: RecipeResult) -> dict[str, str]:
    """One JSON and one HTML page for the run, linking each step's report."""
    recipe = result.recipe
    data = {"recipe": str(recipe.path), "name": recipe.name, "workdir": str(recipe.workdir),
            "variables": _plain(recipe.variables), "cancelled": result.cancelled,
            "exit_code": result.exit_code,
            "steps": [{"index": s.index, **_plain(vars(r))} for s, r in
                      zip(recipe.steps, result.steps)]}
    json_path = recipe.workdir / INDEX_JSON
    with atomic_write(json_path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
    rows = []
    for step, r in zip(recipe.steps, result.steps):
        page = r.html or r.report
        link = hr.link(os.path.relpath(page, recipe.workdir), Path(page).name) if page else "-"
        counts = ", ".join(f"{k}: {v}" for k, v in r.summary.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool))
        rows.append([step.index, step.name, step.action.name, r.status, f"{r.elapsed:.1f} s",
                     counts or "-", r.error or "", link])
    table = hr.table_html(["#", "step", "action", "status", "time", "counts", "error",
                           "report"], rows)
    html_path = hr.write_html(recipe.workdir / INDEX_HTML, f"Recipe {recipe.name}",
                              [hr.section("Steps", table, note=recipe.description)])
    return {"report": str(json_path), "html": str(html_path), "state": str(_state_path(recipe))}
