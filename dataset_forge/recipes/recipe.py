"""Recipe files: an ordered list of action steps in TOML, with shared variables.

    [recipe]
    name = "clean"
    description = "integrity, duplicates and a quality report"
    workdir = "{output}"              # the run's state and its index report live here

    [vars]
    input = "photos"                  # overridable: dataset-forge run clean.toml --set input=~/p
    output = "clean-report"

    [[steps]]
    name = "dedup"                    # unique; defaults to the action's name
    action = "dedup"
    input = "{input}"
    output = "{workdir}/dedup"
    continue_on_failure = false       # a failed step stops the recipe (the default)

A string value may hold `{var}` (a variable), `{workdir}`, `{recipe_dir}` (the folder holding
the recipe file), or `{steps.NAME.output}` /
`{steps.NAME.report_dir}` (an earlier step's output folder and report folder). Relative paths
are relative to the current folder, as on the command line. A value that is
exactly one `{var}` keeps the variable's type (`threshold = "{threshold}"` stays an int). Every
reference resolves when the recipe loads, so a mistake is found before anything runs, and its
message names the step and the field.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..actions.registry import Action, all_actions
from ..errors import UsageError
from ..io.journal import fingerprint

STEP_KEYS = {"name", "action", "continue_on_failure"}
RESERVED = {"workdir", "recipe_dir", "steps"}
_REF = re.compile(r"\{([^{}]+)\}")


class RecipeError(UsageError):
    """A recipe that cannot run: the message names the file, the step and the field."""


@dataclass(frozen=True)
class Step:
    index: int                  # 1-based position in the recipe
    name: str
    action: Action
    params: dict[str, Any]      # resolved raw values, as the CLI would pass them
    report_dir: Path
    continue_on_failure: bool = False

    @property
    def output(self) -> Path | None:
        value = self.params.get("output")
        return Path(value) if value else None

    @property
    def fingerprint(self) -> str:
        """Changes whenever the step would do something else."""
        return fingerprint({"action": self.action.name, "params": self.params})

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.name})"


@dataclass(frozen=True)
class Recipe:
    path: Path
    name: str
    description: str
    workdir: Path
    variables: dict[str, Any]
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise RecipeError(f"{self.path.name}: no step named {name!r}; steps: "
                          + ", ".join(s.name for s in self.steps))


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`--set key=value` pairs as a dict (values stay text; steps convert them)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"--set {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def read_recipe_header(path: str | Path) -> tuple[dict[str, Any], dict[str, Any], list[dict]]:
    """The raw [recipe] table, [vars] and [[steps]] of a file (for forms that show them)."""
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path.name}: not valid TOML ({exc})") from None
    unknown = set(data) - {"recipe", "vars", "steps"}
    if unknown:
        raise RecipeError(f"{path.name}: unknown table {sorted(unknown)[0]!r} "
                          "(allowed: recipe, vars, steps)")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        raise RecipeError(f"{path.name}: a recipe needs at least one [[steps]] table")
    return dict(data.get("recipe", {})), dict(data.get("vars", {})), steps


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read, resolve and validate a recipe; raises RecipeError naming the step and field."""
    path = Path(path).expanduser().resolve()
    header, variables, raw_steps = read_recipe_header(path)
    for key, value in (overrides or {}).items():
        if key not in variables:
            raise RecipeError(f"--set {key}: the recipe has no variable {key!r}; variables: "
                              + (", ".join(variables) or "none"))
        variables[key] = value
    for key in RESERVED & set(variables):
        raise RecipeError(f"{path.name}: [vars] {key!r} is reserved")
    here = {"recipe_dir": str(path.parent)}
    variables = {k: _resolve(v, here, f"[vars] {k}", path) for k, v in variables.items()}
    scope: dict[str, Any] = {**variables, **here}
    workdir = _resolve(header.get("workdir", "{output}" if "output" in variables else None),
                       scope, "[recipe] workdir", path)
    if not workdir:
        raise RecipeError(f"{path.name}: [recipe] workdir is required (where the run's state "
                          "and index report go), or a variable named output")
    workdir = _absolute(workdir, Path.cwd())
    scope["workdir"] = str(workdir)
    actions, steps, seen = all_actions(), [], {}
    for index, raw in enumerate(raw_steps, 1):
        step = _build_step(index, dict(raw), actions, scope, seen, workdir, path)
        seen[step.name] = step
        steps.append(step)
    return Recipe(path, str(header.get("name", path.stem)), str(header.get("description", "")),
                  workdir, variables, tuple(steps))


def _build_step(index: int, raw: dict[str, Any], actions: dict[str, Action], scope: dict,
                seen: dict[str, Step], workdir: Path, path: Path) -> Step:
    where = f"{path.name} step {index}"
    action_name = raw.pop("action", None)
    if not action_name:
        raise RecipeError(f"{where}: missing 'action'")
    if action_name not in actions:
        import difflib
        close = difflib.get_close_matches(str(action_name), actions, n=1)
        raise RecipeError(f"{where}: unknown action {action_name!r}"
                          + (f"; did you mean {close[0]!r}?" if close else ""))
    action = actions[action_name]
    name = str(raw.pop("name", action_name))
    where = f"{path.name} step {index} ({name})"
    if name in seen:
        raise RecipeError(f"{where}: another step is already named {name!r}; give each a name")
    go_on = _resolve(raw.pop("continue_on_failure", False), scope, f"{where} field "
                     "'continue_on_failure'", path)
    if str(go_on).lower() not in ("true", "false"):
        raise RecipeError(f"{where}: continue_on_failure {go_on!r}: must be true or false")
    continue_on_failure = str(go_on).lower() == "true"
    declared = {p.name: p for p in action.params}
    refs = {"steps": {n: {"output": str(s.output) if s.output else None,
                          "report_dir": str(s.report_dir)} for n, s in seen.items()}}
    params = {}
    for key, value in raw.items():
        field_name = key.replace("-", "_")
        if field_name not in declared:
            import difflib
            close = difflib.get_close_matches(field_name, declared, n=1)
            raise RecipeError(f"{where}: {action_name} has no parameter {key!r}"
                              + (f"; did you mean {close[0]!r}?" if close else ""))
        value = _resolve(value, {**scope, **refs}, f"{where} field {key!r}", path)
        if declared[field_name].type in ("path", "dir", "file") and isinstance(value, str):
            value = str(_absolute(value, Path.cwd()))
        params[field_name] = value
    _check_values(action, params, seen, workdir, where)
    report_dir = Path(params["output"]) if params.get("output") else \
        workdir / "reports" / f"{index:02d}-{name}"
    return Step(index, name, action, params, report_dir, continue_on_failure)


def _check_values(action: Action, params: dict[str, Any], seen: dict[str, Step],
                  workdir: Path, where: str) -> None:
    """Type, range and choice checks now; folders that earlier steps may create (inside the
    workdir or an earlier step's output) are checked when the step runs."""
    made = [s.output for s in seen.values() if s.output] + [workdir]
    for p in action.params:
        value = params.get(p.name)
        if value is None:
            if p.required:
                raise RecipeError(f"{where}: {p.name!r} is required ({p.help})")
            continue
        if p.type in ("dir", "file") and any(_related(Path(value), m) for m in made):
            continue
        try:
            p.parse(value)
        except UsageError as exc:
            raise RecipeError(f"{where}: {exc}") from None


def _related(path: Path, made: Path) -> bool:
    return path == made or made in path.parents or path in made.parents


def _resolve(value: Any, scope: dict[str, Any], where: str, path: Path) -> Any:
    """Substitute `{name}` and `{steps.NAME.field}` references in strings (lists too)."""
    if isinstance(value, list):
        return [_resolve(v, scope, where, path) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REF.fullmatch(value)
    if whole:
        return _lookup(whole.group(1), scope, where, path)
    return _REF.sub(lambda m: str(_lookup(m.group(1), scope, where, path)), value)


def _lookup(ref: str, scope: dict[str, Any], where: str, path: Path) -> Any:
    node: Any = scope
    for part in ref.strip().split("."):
        if not isinstance(node, dict) or part not in node:
            if ref.startswith("steps."):
                raise RecipeError(f"{where}: {{{ref}}} names no earlier step's field (steps "
                                  "can refer to steps before them: output, report_dir)")
            raise RecipeError(f"{where}: unknown variable {{{ref}}}; [vars] has: "
                              + ", ".join(k for k in scope if k != "steps"))
        node = node[part]
    if node is None:
        raise RecipeError(f"{where}: {{{ref}}} has no value (that step has no output)")
    return node


def _absolute(value: str | Path, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()
