"""Columns from earlier reports (a quality CSV's scores, a dedup CSV's group) joined onto the
manifest by file path.

    extra = ExtraColumns.load([Path("reports/quality.csv")])
    extra.columns                 # {"sharpness": "float64", "group": "int64", ...}
    extra.lookup(record, root)    # {"sharpness": 12.5, ...} or {} when the file is not listed

A CSV row's file is its `path` (or `file`, `hq`, `source`) column, absolute or relative to the
folder the report was made on. Values are typed per column (int, float, bool, else text). A
name that clashes with a manifest column gets the CSV's stem as a prefix; the same name in
several CSVs is one column (split's `train.csv` and `val.csv` both fill `group`).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

PATH_COLUMNS = ("path", "file", "hq", "source")


def _fits(kind: str, value: str) -> bool:
    if kind == "bool":
        return value in ("True", "False", "true", "false")
    try:
        {"int64": int, "float64": float}[kind](value)
    except ValueError:
        return False
    return True


def _typed(values: list[str]) -> str:
    present = [v for v in values if v != ""]
    for kind in ("bool", "int64", "float64"):
        if present and all(_fits(kind, v) for v in present):
            return kind
    return "string"


def _read(path: Path) -> tuple[list[dict[str, str]], str]:
    """A CSV's rows and the name of its path column (one-line usage errors otherwise)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            table = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"--columns-from {path}: cannot read ({exc})") from None
    key_col = next((c for c in PATH_COLUMNS if c in header), None)
    if key_col is None:
        raise UsageError(f"--columns-from {path}: no path column (one of "
                         f"{', '.join(PATH_COLUMNS)})")
    return table, key_col


def _convert(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "bool":
        return value.lower() == "true"
    return {"int64": int, "float64": float}.get(kind, str)(value)


@dataclass
class ExtraColumns:
    columns: dict[str, str] = field(default_factory=dict)      # name -> type
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    lq_rows: dict[str, dict[str, Any]] = field(default_factory=dict)   # by a row's `lq` file

    @classmethod
    def load(cls, paths: list[Path], taken: tuple[str, ...] = ()) -> "ExtraColumns":
        raw: dict[str, dict[str, str]] = {}
        values: dict[str, list[str]] = {}
        lq_keys: dict[str, str] = {}
        for path in map(Path, paths):
            table, key_col = _read(path)
            names = {col: f"{path.stem}.{col}" if col in taken else col
                     for col in (table[0] if table else {}) if col != key_col}
            for row in table:
                merged = raw.setdefault(row[key_col], {})
                for col, name in names.items():
                    merged[name] = row[col] or ""
                    values.setdefault(name, []).append(row[col] or "")
                if key_col == "path" and row.get("lq"):   # a pair listed by HQ, LQ named
                    lq_keys[row["lq"]] = row[key_col]
        extra = cls({name: _typed(vals) for name, vals in values.items()})
        extra.rows = {key: {n: _convert(v, extra.columns[n]) for n, v in row.items()}
                      for key, row in raw.items()}
        extra.lq_rows = {lq: extra.rows[key] for lq, key in lq_keys.items()}
        return extra

    def lookup(self, record: dict[str, Any], root: Path) -> dict[str, Any]:
        """The joined values for a manifest record (file `record["path"]` under `root`). An LQ
        file named in a row's `lq` column (split's lists) takes that row's values. A relative
        path matches a file of that name on either side."""
        if not self.rows:
            return {}
        rel = record["path"]
        if record["role"] == "lq" and rel in self.lq_rows:
            return self.lq_rows[rel]
        for candidate in (rel, f"{record['role']}/{rel}", str(root / rel)):
            if candidate in self.rows:
                return self.rows[candidate]
        return self.rows.get(str((root / rel).resolve()), {})
