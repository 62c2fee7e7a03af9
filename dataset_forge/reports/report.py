"""Every run ends in a report: JSON-serialisable counts, timings, findings and failures.

The engine fills a `Report`; the faces render it (rich tables headless, Textual in the app).
Per-item rows stream to CSV so a million-image run never holds them all in memory.
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from ..io.atomic import atomic_write
from ..parallel import Failure, RunSummary

MAX_FAILURES_IN_JSON = 10_000


@dataclass
class Table:
    """A titled table for the terminal and the app; cells are plain values."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    action: str
    params: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)   # headline counts and figures
    findings: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)     # name -> path of written outputs
    run: RunSummary | None = None
    cancelled: bool = False
    notes: list[str] = field(default_factory=list)          # one-line remarks on the run itself

    @property
    def failed(self) -> int:
        return self.run.failed if self.run else len(self.failures)

    def add_failure(self, failure: Failure) -> None:
        self.failures.append(failure)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "params": {k: str(v) if isinstance(v, Path) else v for k, v in self.params.items()},
            "summary": self.summary,
            "run": self.run.to_dict() if self.run else None,
            "cancelled": self.cancelled,
            "findings": self.findings,
            "failures": [asdict(f) for f in self.failures[:MAX_FAILURES_IN_JSON]],
            "failures_total": len(self.failures),
            "tables": [asdict(t) for t in self.tables],
            "files": self.files,
            "notes": self.notes,
        }

    @classmethod
    def read_json(cls, path: str | Path) -> "Report":
        """A report as `write_json` wrote it (for faces that show an earlier run)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        run = data.get("run")
        if run:
            run = RunSummary(**{f.name: run[f.name] for f in fields(RunSummary) if f.name in run})
        return cls(data["action"], data.get("params", {}), data.get("summary", {}),
                   data.get("findings", []), [Failure(**f) for f in data.get("failures", [])],
                   [Table(**t) for t in data.get("tables", [])], data.get("files", {}), run,
                   data.get("cancelled", False))

    def write_json(self, folder: Path) -> Path:
        """Write `<action>_report.json` atomically into `folder` and remember its path."""
        path = folder / f"{self.action}_report.json"
        self.files["report"] = str(path.resolve())
        with atomic_write(path, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2, default=str)
        return path


class RowWriter:
    """Streams per-item rows to a CSV file, atomically renamed into place on close."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path, self.columns, self.count = path, columns, 0
        self._ctx = atomic_write(path, "w", newline="")
        self._writer = csv.DictWriter(self._ctx.__enter__(), columns, extrasaction="ignore")
        self._writer.writeheader()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow(row)
        self.count += 1

    def write_many(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def close(self, ok: bool = True) -> None:
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "RowWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)
