"""Typed settings for Dataset Forge, kept in a TOML file that people edit by hand.

Every key is declared once, as a dataclass field made with `setting()`. That declaration drives
validation, the commented default file, `dataset-forge settings show` and the TUI settings screen
(which iterates `SCHEMA` / `iter_keys()`).

    loaded = load_settings()                  # never raises; problems are in loaded.errors
    settings = loaded.settings.with_overrides({"parallel.max_workers": 4})   # one-run override
    loaded.notes                              # old key names read (RENAMED), one line each
    set_value(loaded.path, "gpu.use_gpu", "no")                              # keeps user comments
"""

import dataclasses
import difflib
import os
import shutil
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping

import platformdirs
import tomlkit

from .io.atomic import atomic_write
from .schema import Field, FieldError
from .schema import toml_text as format_value

APP_NAME = "dataset-forge"
ENV_VAR = "DATASET_FORGE_SETTINGS"
FILE_NAME = "settings.toml"


# --------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class SettingError:
    """One problem with one key (or the whole file when `key` is empty).

    `allowed` says what the key accepts; for unknown keys it holds the did-you-mean hint, for
    file problems (`kind == "file"`) the whole message.
    """

    key: str
    value: Any = None
    allowed: str = ""
    kind: str = "invalid"  # invalid | unknown | file

    def __str__(self) -> str:
        if self.kind == "file":
            return self.allowed
        if self.kind == "unknown":
            return f"unknown key {self.key!r}" + (f" ({self.allowed})" if self.allowed else "")
        shown = format_value(self.value) if isinstance(self.value, bool) else repr(self.value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{self.key} = {shown}: {self.allowed}"


class SettingsError(ValueError):
    """One or more settings problems; `errors` lists them, str() gives one line each."""

    def __init__(self, errors: list[SettingError]):
        self.errors = list(errors)
        super().__init__("\n".join(map(str, self.errors)))


class SettingsFileError(SettingsError):
    """The settings file cannot be read or safely changed (e.g. a TOML syntax error)."""

    @classmethod
    def of(cls, message: str) -> "SettingsFileError":
        return cls([SettingError("", None, message, kind="file")])


# --------------------------------------------------------------------------- schema

def setting(default: Any, help: str, *, choices: tuple[str, ...] = (), min: float | None = None,
            max: float | None = None, pattern: str | None = None, pattern_help: str = "") -> Any:
    """Declare one key: a dataclass field whose metadata carries help, choices and bounds."""
    meta = dict(help=help, choices=tuple(choices), min=min, max=max, pattern=pattern,
                pattern_help=pattern_help)
    return field(default=default, metadata=meta)


_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclass(frozen=True)
class KeySpec(Field):
    """The declaration of one key, as listed by `SCHEMA` / `iter_keys()`: a `schema.Field`
    named by its leaf, in a section, whose errors are `SettingsError`s naming the dotted key."""

    section: str | None = None

    @property
    def key(self) -> str:
        """Dotted: "parallel.max_workers", or "cpu_only" at top level."""
        return f"{self.section}.{self.name}" if self.section else self.name

    def validate(self, value: Any) -> Any:
        """Return `value` (ints widened to float for float keys) or raise SettingsError."""
        try:
            return super().validate(value)
        except FieldError as exc:
            raise SettingsError([SettingError(self.key, exc.value, exc.problem)]) from None

    def parse(self, raw: str) -> Any:
        """Parse a command-line string to this key's type (bool: the words in
        `schema.BOOL_WORDS`), then validate it."""
        return self.validate(self.from_text(raw))


@dataclass(frozen=True)
class _Section:
    """Base for the settings dataclasses: validates every declared field on creation."""

    def __post_init__(self) -> None:
        errors = []
        prefix = _PREFIX[type(self)]
        for f in fields(self):
            value = getattr(self, f.name)
            if "help" not in f.metadata:  # a nested section
                if not isinstance(value, f.type):
                    raise TypeError(f"{f.name} must be a {f.type.__name__}")
                continue
            try:
                object.__setattr__(self, f.name, SPEC_BY_KEY[prefix + f.name].validate(value))
            except SettingsError as e:
                errors += e.errors
        if errors:
            raise SettingsError(errors)


@dataclass(frozen=True)
class ParallelSettings(_Section):
    """How work is spread over workers on this machine."""

    max_workers: int = setting(0, "Worker threads or processes; 0 = auto (from the CPU count)", min=0)
    processing_type: str = setting(
        "auto", "Execution backend; auto = threads for I/O work, processes for CPU work",
        choices=("auto", "serial", "thread", "process", "dask"))
    chunk_size: int = setting(0, "Items handed to a worker per task; 0 = auto", min=0)
    timeout: float = setting(0.0, "Seconds allowed per item before it is reported as failed; 0 = none",
                             min=0)
    max_items_in_flight: int = setting(
        0, "Most items (not bytes) handed to workers and not yet returned, to keep memory "
        "flat; 0 = auto (bounded by workers)", min=0)


@dataclass(frozen=True)
class GpuSettings(_Section):
    """GPU use for model-based actions (embeddings, quality metrics)."""

    use_gpu: bool = setting(True, "Use a GPU when one is available")
    memory_fraction: float = setting(0.9, "Share of GPU memory that batches may use", min=0.1, max=1.0)
    device: str = setting("auto", "Device for models: auto, cpu, cuda, cuda:N (GPU number N) or mps",
                          pattern=r"auto|cpu|cuda(:\d+)?|mps",
                          pattern_help="auto, cpu, cuda, cuda:N or mps")


@dataclass(frozen=True)
class UiSettings(_Section):
    """The terminal app and headless progress output."""

    notify: bool = setting(True, "Show a notification when a long run finishes")
    bell: bool = setting(True, "Ring the terminal bell when a long run finishes")
    theme: str = setting("textual-dark", "Colour theme of the app (Ctrl+P, Theme saves a new one)",
                         pattern=r"[a-z0-9][a-z0-9-]*", pattern_help="a theme name like nord")


@dataclass(frozen=True)
class LoggingSettings(_Section):
    """Where run logs are written."""

    dir: str = setting("", "Log folder; empty = the platform's user log folder for dataset-forge")


@dataclass(frozen=True)
class ReportsSettings(_Section):
    """Where run reports (JSON and HTML) are written."""

    dir: str = setting("", "Report folder; empty = ./forge-reports in the current folder")


@dataclass(frozen=True)
class DaskSettings(_Section):
    """The Dask backend (processing_type = "dask"); needs the [dask] extra."""

    scheduler_address: str = setting(
        "", "Address of a running scheduler, e.g. tcp://host:8786; empty = start the cluster below")
    cluster: str = setting(
        "local", "Cluster to start when scheduler_address is empty (none = start nothing)",
        choices=("none", "local", "slurm", "pbs", "sge", "lsf"))
    cores: int = setting(1, "Cores per batch-scheduler job", min=1)
    memory: str = setting("4GB", "Memory per batch-scheduler job, e.g. 4GB or 16GiB",
                          pattern=r"(?i)\d+(\.\d+)?\s*([kmgtp]i?)?b",
                          pattern_help="a size such as 4GB or 16GiB")
    walltime: str = setting("01:00:00", "Time limit per batch-scheduler job, HH:MM:SS or D-HH:MM:SS",
                            pattern=r"(\d+-)?\d+(:\d\d){0,2}",
                            pattern_help="a time such as 01:00:00 or 2-00:00:00")
    workers: int = setting(0, "Workers (jobs) to start; 0 = auto (one on a local cluster)", min=0)
    queue: str = setting("", "Batch-scheduler queue or partition; empty = the scheduler's default")


@dataclass(frozen=True)
class Settings(_Section):
    """All settings. Build with load_settings(); change with replace() / with_overrides()."""

    cpu_only: bool = setting(False, "Never use a GPU, whatever the [gpu] section says")
    parallel: ParallelSettings = field(default_factory=ParallelSettings)
    gpu: GpuSettings = field(default_factory=GpuSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    dask: DaskSettings = field(default_factory=DaskSettings)

    def get(self, key: str) -> Any:
        """The value of a dotted key; SettingsError (with a did-you-mean) if unknown."""
        spec = spec_for(key)
        owner = getattr(self, spec.section) if spec.section else self
        return getattr(owner, spec.name)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Settings":
        """A new, validated Settings with {dotted_key: value} applied; SettingsError lists all problems."""
        values, errors = _check_flat({**self.to_flat(), **overrides})
        if errors:
            raise SettingsError(errors)
        return Settings.from_flat(values)

    def replace(self, **overrides: Any) -> "Settings":
        """Like with_overrides: `s.replace(**{"parallel.max_workers": 4}, cpu_only=True)`."""
        return self.with_overrides(overrides)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict shaped like the TOML file."""
        return dataclasses.asdict(self)

    def to_flat(self) -> dict[str, Any]:
        """{dotted_key: value} in schema order."""
        return {spec.key: self.get(spec.key) for spec in SCHEMA}

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> "Settings":
        """Build from {dotted_key: value}; missing keys take their defaults."""
        unknown = [_unknown(k, v) for k, v in values.items() if k not in SPEC_BY_KEY]
        if unknown:
            raise SettingsError(unknown)
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if "help" in f.metadata:
                if f.name in values:
                    kwargs[f.name] = values[f.name]
            else:
                sub = {s.name: values[s.key] for s in SCHEMA if s.section == f.name and s.key in values}
                kwargs[f.name] = f.type(**sub)
        return cls(**kwargs)

    def log_dir(self) -> Path:
        """logging.dir, or the platform's user log folder when empty."""
        if self.logging.dir:
            return Path.cwd() / Path(self.logging.dir).expanduser()
        return platformdirs.user_log_path(APP_NAME, appauthor=False)

    def reports_dir(self) -> Path:
        """reports.dir (relative paths from the cwd), or ./forge-reports when empty."""
        return Path.cwd() / Path(self.reports.dir or "forge-reports").expanduser()


SECTIONS: tuple[tuple[str, type], ...] = tuple(
    (f.name, f.type) for f in fields(Settings) if "help" not in f.metadata)
_PREFIX: dict[type, str] = {Settings: "", **{cls: name + "." for name, cls in SECTIONS}}
SCHEMA: tuple[KeySpec, ...] = tuple(
    KeySpec(f.name, _TYPE_NAMES[f.type], f.default, section=prefix.rstrip(".") or None,
            **f.metadata)
    for cls, prefix in _PREFIX.items() for f in fields(cls) if "help" in f.metadata)
SPEC_BY_KEY: dict[str, KeySpec] = {spec.key: spec for spec in SCHEMA}
#: old key -> new key: the old name is still read (file, `settings get/set`, overrides), with a
#: one-line note asking for the new one
RENAMED: dict[str, str] = {"parallel.max_in_flight": "parallel.max_items_in_flight"}
_SECTION_CLASSES = dict(SECTIONS)


def iter_keys() -> Iterator[KeySpec]:
    """Every key in file order: top-level keys, then each section's keys."""
    return iter(SCHEMA)


def _unknown(key: str, value: Any = None) -> SettingError:
    """An unknown-key error with the likeliest meant key: a near name in the same section,
    the same name in another section, or a near dotted key."""
    section, _, leaf = key.rpartition(".")
    siblings = {s.name: s.key for s in SCHEMA if (s.section or "") == section}
    if not section:
        siblings.update({name: name for name in _SECTION_CLASSES})
    near = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
    guess = siblings[near[0]] if near else next(
        (s.key for s in SCHEMA if s.name == leaf),
        next(iter(difflib.get_close_matches(key, SPEC_BY_KEY, n=1, cutoff=0.6)), None))
    if key in _SECTION_CLASSES:
        keys = ", ".join(spec.key for spec in SCHEMA if spec.section == key)
        return SettingError(key, value, f"{key!r} is a section; its keys: {keys}", kind="unknown")
    hint = f"did you mean {guess!r}?" if guess else ""
    if guess == leaf and section:
        hint += " top-level keys go above the first [section]"
    return SettingError(key, value, hint, kind="unknown")


def renamed_note(old: str) -> str:
    """The one-line deprecation note for a renamed key."""
    return f"{old} is now called {RENAMED[old]}; the old name still works for now"


def spec_for(key: str) -> KeySpec:
    """The declaration of a dotted key (an old name in `RENAMED` gives the new key's);
    SettingsError with a did-you-mean if unknown."""
    try:
        return SPEC_BY_KEY[RENAMED.get(key, key)]
    except KeyError:
        raise SettingsError([_unknown(key)]) from None


def parse_value(key: str, raw: str) -> Any:
    """Parse and validate a command-line string for `key` (for `--set KEY=VALUE` style flags)."""
    return spec_for(key).parse(raw)


def _check_flat(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[SettingError]]:
    """Split {dotted_key: value} into the valid values and the errors for the rest (in order)."""
    good, errors = {}, []
    for key, value in values.items():
        key = RENAMED.get(key, key)
        if key in _SECTION_CLASSES:
            errors.append(SettingError(key, value, f"must be a section: [{key}]"))
            continue
        try:
            good[key] = spec_for(key).validate(value)
        except SettingsError as e:
            errors += [dataclasses.replace(err, value=value) for err in e.errors]  # spec_for errors lack it
    return good, errors


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Parsed TOML -> {dotted_key: value}, in file order."""
    flat = {}
    for name, value in data.items():
        if name in _SECTION_CLASSES and isinstance(value, dict):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat


def _rename_old_keys(flat: dict[str, Any]) -> tuple[dict[str, Any], list[str], frozenset[str]]:
    """Old key names (`RENAMED`) read as the new ones, with a note each; where the file has
    both, the new name wins. Also returns the new keys concerned."""
    notes, found = [], set()
    for old, new in RENAMED.items():
        if old not in flat:
            continue
        value = flat.pop(old)
        found.add(new)
        if new in flat:
            notes.append(f"{old} is now called {new}, which this file also sets: {old} is ignored")
        else:
            flat[new] = value
            notes.append(renamed_note(old))
    return flat, notes, frozenset(found)


# --------------------------------------------------------------------------- loading

def resolve_settings_path(explicit: str | Path | None = None) -> Path:
    """The settings file: `explicit` (--settings), else $DATASET_FORGE_SETTINGS, else the
    platform's user config folder (e.g. ~/.config/dataset-forge/settings.toml)."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return platformdirs.user_config_path(APP_NAME, appauthor=False) / FILE_NAME


@dataclass(frozen=True)
class LoadedSettings:
    """The result of load_settings(): usable settings plus every problem found in the file."""

    settings: Settings
    path: Path
    errors: list[SettingError] = field(default_factory=list)
    exists: bool = False
    from_file: frozenset[str] = frozenset()  # keys whose (valid) value came from the file
    notes: list[str] = field(default_factory=list)  # old key names read (see `RENAMED`)
    old_names: frozenset[str] = frozenset()  # the new keys the file still sets by an old name

    @property
    def ok(self) -> bool:
        return not self.errors

    def source(self, key: str) -> str:
        """'file' or 'default'."""
        return "file" if key in self.from_file else "default"


def _read_text(path: Path) -> str | None:
    """The file's text, None if missing; SettingsFileError if unreadable."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise SettingsFileError.of("not UTF-8 text") from None
    except OSError as e:
        raise SettingsFileError.of(f"cannot read: {e.strerror or e}") from None


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SettingsFileError.of(f"invalid TOML: {e}") from None


def load_settings(path: str | Path | None = None) -> LoadedSettings:
    """Read and validate the settings file. Never raises and never writes: a missing file gives
    defaults; a broken file gives defaults plus errors; an invalid key falls back to its default."""
    path = resolve_settings_path(path)
    try:
        text = _read_text(path)
        data = _parse_toml(text) if text is not None else None
    except SettingsFileError as e:
        return LoadedSettings(Settings(), path, e.errors, exists=True)
    if data is None:
        return LoadedSettings(Settings(), path)
    flat, notes, old_names = _rename_old_keys(_flatten(data))
    good, errors = _check_flat(flat)
    return LoadedSettings(Settings.from_flat(good), path, errors, True, frozenset(good), notes,
                          old_names)


# --------------------------------------------------------------------------- writing

_HEADER = """\
# Dataset Forge settings.
#
# Edit this file by hand, or with the `dataset-forge settings` command:
#   dataset-forge settings show            every key, its value and where it came from
#   dataset-forge settings set KEY VALUE   change one key (comments in this file are kept)
#   dataset-forge settings validate        check this file
#   dataset-forge settings reset           restore these defaults (the old file is kept as .bak)
# A key that is left out, or set to an invalid value, takes its default.
# Command-line flags (e.g. --workers) override this file for one run."""


def _key_lines(spec: KeySpec) -> list[str]:
    shown = spec.choices or spec.type in ("int", "float")
    hint = spec.allowed + "; " if shown else ""
    return [f"# {spec.help}. [{hint}default {format_value(spec.default)}]",
            f"{spec.name} = {format_value(spec.default)}", ""]


def default_toml() -> str:
    """The commented default settings file."""
    lines = [_HEADER, ""]
    for spec in SCHEMA:
        if spec.section is None:
            lines += _key_lines(spec)
    for name, cls in SECTIONS:
        lines += [f"# {cls.__doc__.strip().splitlines()[0]}", f"[{name}]"]
        lines += [line for spec in SCHEMA if spec.section == name for line in _key_lines(spec)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _atomic_write(path: Path, text: str) -> None:
    """Replace the file atomically (io.atomic); a symlinked settings file keeps its link and
    the file it points to is replaced."""
    with atomic_write(os.path.realpath(path), "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def write_default(path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the commented default file; FileExistsError if it exists and not `overwrite`."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")
    _atomic_write(path, default_toml())
    return path


def _put(doc: tomlkit.TOMLDocument, spec: KeySpec, value: Any) -> None:
    """Set one key in a tomlkit document, keeping everything else as the user wrote it."""
    if spec.section is None:
        doc[spec.name] = value
        return
    new_table = spec.section not in doc
    table = tomlkit.table() if new_table else doc[spec.section]
    if not isinstance(table, Mapping):
        raise SettingsFileError.of(f"{spec.section} must be a section: [{spec.section}]")
    if spec.name in table:
        table[spec.name] = value
        return
    if not any(isinstance(v, Mapping) for v in table.values()):  # comment lands above the key
        table.add(tomlkit.comment(spec.help))
    table.add(spec.name, value)
    if new_table:
        doc.add(spec.section, table)
    else:
        table.add(tomlkit.nl())


def _drop(doc: tomlkit.TOMLDocument, expected: dict[str, Any], dotted: str) -> None:
    """Remove a (renamed) key from the document and from the expected result."""
    section, _, name = dotted.rpartition(".")
    table, plain = (doc.get(section), expected.get(section)) if section else (doc, expected)
    if isinstance(table, Mapping) and name in table:
        del table[name]
        plain.pop(name, None)


def set_value(path: str | Path, key: str, raw_value: str) -> LoadedSettings:
    """Parse, validate and store one key, keeping the file's comments, order and formatting.

    Creates the file from defaults if missing. Raises SettingsError for an unknown key or invalid
    value, SettingsFileError (file untouched) if the file is broken. Returns the reloaded file.
    """
    path = Path(path)
    spec = spec_for(key)
    value = spec.parse(raw_value)
    try:
        text = _read_text(path)
        old = _parse_toml(text) if text is not None else None
    except SettingsFileError as e:
        raise SettingsFileError.of(f"{path}: {e}; file not changed (fix it by hand, "
                                   "or run `dataset-forge settings reset`)") from None
    if text is None:
        text = default_toml()
        old = tomllib.loads(text)
    doc = tomlkit.parse(text)
    expected = {k: dict(v) if isinstance(v, dict) else v for k, v in old.items()}
    for old_key in (k for k, new in RENAMED.items() if new == spec.key):
        _drop(doc, expected, old_key)   # the file ends up with the new name only
    _put(doc, spec, value)
    new_text = doc.as_string()
    (expected.setdefault(spec.section, {}) if spec.section else expected)[spec.name] = value
    try:
        unchanged_elsewhere = tomllib.loads(new_text) == expected
    except tomllib.TOMLDecodeError:
        unchanged_elsewhere = False
    if not unchanged_elsewhere:  # tomlkit could not edit this layout safely: do not write
        raise SettingsFileError.of(f"{path}: cannot update {key} safely in this file's layout; "
                                   "edit it by hand (`dataset-forge settings edit`)")
    _atomic_write(path, new_text)
    return load_settings(path)


def reset(path: str | Path) -> Path | None:
    """Rewrite the default file atomically; the previous file is copied to `<name>.bak`
    (returned, or None if there was no file)."""
    path = Path(path)
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    _atomic_write(path, default_toml())
    return backup
