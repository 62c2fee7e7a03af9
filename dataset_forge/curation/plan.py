"""A plan of file operations, stored on disk (SQLite) so a million moves never sit in memory.

    with Plan.create(path, "quarantine", fingerprint) as plan:
        plan.add("move", src, dst, unit="sub/a", info={"rule": "dark"})
        problems = plan.problems(protected=[input_root])   # collisions, before anything moves
        for op in plan.pending(): ...                      # in the order they were added
        plan.mark_done(op.seq)

Every operation belongs to a `unit` (a file, or an HQ file with its LQ partner): units move
together, and a unit whose first operation fails has the rest skipped. `done` marks make the plan
its own journal: an applied run killed half way resumes from the first operation not marked
(see `curation.apply`). Marks are committed in batches; an operation whose mark was lost to a
kill is redone, and every operation recognises its own finished result.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..io.undo import sha256_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY, op TEXT NOT NULL, src TEXT NOT NULL, dst TEXT,
    unit TEXT NOT NULL, info TEXT, done INTEGER NOT NULL DEFAULT 0);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS ops_dst ON ops(dst);
CREATE INDEX IF NOT EXISTS ops_src ON ops(src);
"""
COMMIT_EVERY = 200      # done marks per transaction while applying
INSERT_BATCH = 2000     # planned operations per insert while building
MAX_PROBLEMS = 1000     # problems listed in full; the count is always exact


@dataclass(frozen=True)
class PlannedOp:
    seq: int
    op: str              # move | copy | hardlink | symlink | trash
    src: Path
    dst: Path | None
    unit: str
    info: dict[str, Any]


@dataclass(frozen=True)
class Problem:
    kind: str            # duplicate_destination | destination_exists | planned_twice | missing
    path: str
    detail: str


class Plan:
    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path, self._conn, self._uncommitted = path, conn, 0
        self._pending: list[tuple] = []

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, action: str, fingerprint: str) -> "Plan":
        """A new, empty plan at `path` (an older one there is replaced)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        plan = cls(path, cls._connect(path))
        plan._conn.executescript(SCHEMA)
        plan.set_meta(action=action, fingerprint=fingerprint, state="planning")
        return plan

    @classmethod
    def open_existing(cls, path: str | Path) -> "Plan | None":
        """The plan stored at `path`, or None when there is none (or it is unreadable)."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            plan = cls(path, cls._connect(path))
            plan.meta("state")
            return plan
        except sqlite3.DatabaseError:
            return None

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), isolation_level="DEFERRED")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    # -- metadata ---------------------------------------------------------------------------
    def set_meta(self, **values: Any) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [(k, json.dumps(v, default=str)) for k, v in values.items()])
        self._conn.commit()

    def meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # -- building ---------------------------------------------------------------------------
    def add(self, op: str, src: str | Path, dst: str | Path | None, *, unit: str,
            info: dict[str, Any] | None = None) -> None:
        self._pending.append((op, os.path.abspath(src),
                              None if dst is None else os.path.abspath(dst), unit,
                              json.dumps(info or {}, default=str)))
        if len(self._pending) >= INSERT_BATCH:
            self._flush()

    def _flush(self) -> None:
        self._conn.executemany("INSERT INTO ops (op, src, dst, unit, info) VALUES (?, ?, ?, ?, ?)",
                               self._pending)
        self._pending = []

    def finish_building(self) -> None:
        self._flush()
        self._conn.executescript(INDEXES)
        self._conn.commit()
        self.set_meta(state="planned")

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM ops").fetchone()[0]

    def units(self) -> int:
        return self._conn.execute("SELECT COUNT(DISTINCT unit) FROM ops").fetchone()[0]

    # -- checking ---------------------------------------------------------------------------
    def problems(self) -> tuple[int, list[Problem]]:
        """(count, first MAX_PROBLEMS) of what would make the plan unsafe: two files planned to
        one destination, a destination that already exists (and is not itself moved away
        earlier in the plan), a file planned twice, a source that is gone, hard links that
        would cross filesystems."""
        found: list[Problem] = []
        count = 0

        def note(problem: Problem) -> None:
            nonlocal count
            count += 1
            if len(found) < MAX_PROBLEMS:
                found.append(problem)

        for dst, n in self._conn.execute(
                "SELECT dst, COUNT(*) FROM ops WHERE dst IS NOT NULL GROUP BY dst "
                "HAVING COUNT(*) > 1"):
            note(Problem("duplicate_destination", dst, f"{n} files would land here"))
        for src, n in self._conn.execute(
                "SELECT src, COUNT(*) FROM ops GROUP BY src HAVING COUNT(*) > 1"):
            note(Problem("planned_twice", src, f"planned {n} times"))
        # a source an earlier operation makes (two-phase renames), a destination an earlier
        # operation moves away: few, found by two joins instead of a query per operation
        made = {r[0] for r in self._conn.execute(
            "SELECT o.seq FROM ops o JOIN ops p ON p.dst = o.src AND p.seq < o.seq")}
        vacated = {r[0] for r in self._conn.execute(
            "SELECT o.seq FROM ops o JOIN ops p ON p.src = o.dst AND p.seq < o.seq "
            "AND p.op IN ('move', 'trash')")}
        for seq, op, src, dst in self._conn.execute("SELECT seq, op, src, dst FROM ops"):
            if seq not in made and not os.path.lexists(src):
                note(Problem("missing", src, "the file is gone"))
            if dst is None or seq in vacated or not os.path.lexists(dst) \
                    or _already_made(op, src, dst):
                continue
            note(Problem("destination_exists", dst, f"exists; {src} would not be moved over it"))
        for problem in self._cross_device_links():
            note(problem)
        return count, found

    def _cross_device_links(self) -> Iterator[Problem]:
        """One problem per pair of filesystems that hard links would have to cross (each file
        failed on its own with 'Invalid cross-device link')."""
        seen: set[tuple[int, int]] = set()
        for src, dst in self._conn.execute("SELECT src, dst FROM ops WHERE op = 'hardlink'"):
            where = Path(dst).parent
            while not where.exists() and where != where.parent:
                where = where.parent
            try:
                devices = (os.stat(src).st_dev, os.stat(where).st_dev)
            except OSError:
                continue   # a missing source is its own problem
            if devices[0] != devices[1] and devices not in seen:
                seen.add(devices)
                yield Problem("cross_device", src, "hard links cannot cross filesystems: "
                              f"{where} is on another one than {Path(src).parent}; use --mode copy")

    # -- applying ---------------------------------------------------------------------------
    def pending(self) -> Iterator[PlannedOp]:
        """Operations not marked done, in plan order, read in pages (flat memory)."""
        last = -1
        while True:
            rows = self._conn.execute(
                "SELECT seq, op, src, dst, unit, info FROM ops WHERE done = 0 AND seq > ? "
                "ORDER BY seq LIMIT 1000", (last,)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _op(row)
            last = rows[-1][0]

    def all(self) -> Iterator[PlannedOp]:
        last = -1
        while True:
            rows = self._conn.execute(
                "SELECT seq, op, src, dst, unit, info FROM ops WHERE seq > ? ORDER BY seq "
                "LIMIT 1000", (last,)).fetchall()
            if not rows:
                return
            yield from map(_op, rows)
            last = rows[-1][0]

    def made_by_plan(self, op: PlannedOp) -> bool:
        """Whether an earlier operation of the plan puts a file at `op`'s source."""
        return self._conn.execute("SELECT 1 FROM ops WHERE dst = ? AND seq < ?",
                                  (str(op.src), op.seq)).fetchone() is not None

    def done_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM ops WHERE done = 1").fetchone()[0]

    def mark_done(self, seq: int) -> None:
        self._conn.execute("UPDATE ops SET done = 1 WHERE seq = ?", (seq,))
        self._uncommitted += 1
        if self._uncommitted >= COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self._conn.commit()
        self._uncommitted = 0

    def close(self) -> None:
        try:
            self._conn.commit()
        finally:
            self._conn.close()

    def remove(self) -> None:
        """Close and delete the plan's files (a finished plan)."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def __enter__(self) -> "Plan":
        return self

    def __exit__(self, *exc) -> None:
        if self._conn is not None:
            try:
                self.close()
            except sqlite3.ProgrammingError:  # already closed
                pass


def _already_made(op: str, src: str, dst: str) -> bool:
    """The destination already is what the operation would make (a finished earlier run)."""
    try:
        if op == "symlink":
            return os.path.islink(dst) and os.readlink(dst) == src
        if op == "hardlink":
            return os.path.samefile(src, dst)
        if op == "copy" and not os.path.islink(dst) and \
                os.path.getsize(src) == os.path.getsize(dst):
            return sha256_of(src) == sha256_of(dst)
    except OSError:
        pass
    return False


def _op(row: Iterable[Any]) -> PlannedOp:
    seq, op, src, dst, unit, info = row
    return PlannedOp(seq, op, Path(src), None if dst is None else Path(dst), unit,
                     json.loads(info) if info else {})
