"""Model scores from an earlier `score` run, as facts for rules: `--scores score.csv`.

    table = read_scores(Path("reports/score.csv"))
    table.columns                  # ["niqe", "topiq_nr"]
    table.row_for(root, path)      # {"niqe": 5.2, "topiq_nr": 0.61} or {}

The CSV's `path` column is relative to the folder the score run read; rules evaluated on the
same folder (quarantine's --input or --hq, validate's) find each file's scores by it.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

NOT_SCORES = ("path", "width", "height")


@dataclass
class ScoreTable:
    columns: list[str]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    def row_for(self, root: Path, path: Path) -> dict[str, Any]:
        try:
            return self.rows.get(path.relative_to(root).as_posix(), {})
        except ValueError:
            return {}


def _number(text: str) -> float | None:
    try:
        return float(text) if text not in ("", None) else None
    except ValueError:
        return None


def read_scores(path: Path, flag: str = "--scores") -> ScoreTable:
    """A score run's CSV; a one-line UsageError when it is not one."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            names = reader.fieldnames or []
            if "path" not in names:
                raise UsageError(f"{flag} {path}: not a score.csv (no path column)")
            columns = [c for c in names if c not in NOT_SCORES]
            table = ScoreTable(columns)
            for row in reader:
                table.rows[row["path"]] = {c: _number(row[c]) for c in columns}
    except OSError as exc:
        raise UsageError(f"{flag} {path}: {exc.strerror or exc}") from None
    return table
