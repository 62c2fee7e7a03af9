"""What happens to the files that are not kept: move, copy, hardlink, symlink, or trash.

    ops = plan_ops([(src, Path("sub/a.jpg")), ...], mode="move", dest=Path("dupes"))
    perform(op, manifest, sha256)      # logs to the undo manifest first, then acts

Nothing is ever overwritten and nothing is unlinked: removal goes to the system trash
(`io.trash.to_trash`: send2trash, one file at a time) or, when a destination is given, into that quarantine folder. Each operation is
idempotent, so rerunning an interrupted command finishes the job: a moved or trashed file is no
longer found, a copy or link already in place is recognised and skipped, and a move killed
half-way (the file linked at its destination, the old name not yet removed) is completed.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from ..io import atomic_copy
from ..io.trash import to_trash
from ..io.undo import UndoManifest, sha256_of
from .plan import Plan

MODES = ("report", "move", "copy", "hardlink", "symlink", "remove")


@dataclass(frozen=True)
class FileOp:
    op: str              # move | copy | hardlink | symlink | trash
    src: Path
    dst: Path | None


class AlreadyDone(Exception):
    """The operation's result is already in place (a resumed run)."""


def plan_ops(files: list[tuple[Path, Path]], mode: str, dest: Path | None) -> list[FileOp]:
    """(source, relative destination) pairs to operations; `remove` with a destination is a
    move into that quarantine folder."""
    if mode == "report":
        return []
    if mode == "remove" and dest is None:
        return [FileOp("trash", src, None) for src, _ in files]
    if dest is None:
        raise ValueError(f"--mode {mode} needs --dest")
    op = "move" if mode in ("move", "remove") else mode
    return [FileOp(op, src, dest / rel) for src, rel in files]


@dataclass
class Planned:
    """Operations for a plan: each op's (group id, member index; -1 for an LQ partner), and
    the large groups left alone."""
    ops: list[FileOp]
    owners: list[tuple[int, int]]
    withheld: list[int]

    def by_member(self) -> dict[tuple[int, int], tuple[str, str]]:
        return {o: (op.op, str(op.dst or "system trash"))
                for op, o in zip(self.ops, self.owners) if o[1] >= 0}


def plan_file_ops(plan: Plan, mode: str, dest: Path | None, *, allow_large: bool) -> Planned:
    """The operations on every dropped member (and its LQ partner) of the plan's groups; groups
    flagged large are withheld unless `allow_large`."""
    files: list[tuple[Path, Path]] = []
    owners: list[tuple[int, int]] = []
    withheld = []
    for g in plan.groups:
        if g.large and not allow_large:
            withheld.append(g.id)
            continue
        for k in g.dropped:
            m = g.members[k]
            files.append((Path(m.file), Path(m.dest)))
            owners.append((g.id, k))
            if m.lq:
                files.append((Path(m.lq), Path(m.lq_dest)))
                owners.append((g.id, -1))
    ops = plan_ops(files, mode, dest)
    return Planned(ops, owners if ops else [], withheld)


def _check_free(op: FileOp, sha256: str) -> None:
    """Raise AlreadyDone if the destination already holds this result, FileExistsError if it
    holds something else."""
    dst = op.dst
    if dst is None or not os.path.lexists(dst):
        return
    if op.op == "symlink" and dst.is_symlink() and os.readlink(dst) == os.path.abspath(op.src):
        raise AlreadyDone
    if op.op == "hardlink" and dst.exists() and os.path.samefile(op.src, dst):
        raise AlreadyDone
    if op.op == "move" and dst.is_file() and not dst.is_symlink() and \
            os.path.samefile(op.src, dst):
        os.unlink(op.src)       # a move killed between link and unlink (logged already)
        raise AlreadyDone
    if op.op == "copy" and dst.is_file() and not dst.is_symlink() and sha256_of(dst) == sha256:
        raise AlreadyDone
    raise FileExistsError(errno.EEXIST, "destination exists (not overwritten)", str(dst))


def _move(src: Path, dst: Path, sha256: str) -> None:
    try:
        os.link(src, dst)       # atomic and never replaces an existing file
        os.unlink(src)          # src now has a second name; no data is lost
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
    atomic_copy(src, dst)       # another file system: verified copy, then the original goes
    if sha256_of(dst) != sha256:
        raise OSError(errno.EIO, "copy does not match the original; original kept", str(dst))
    os.unlink(src)


def perform(op: FileOp, manifest: UndoManifest, sha256: str, size: int) -> str:
    """Record `op` in the manifest, then do it. Returns "done" or "already done"."""
    if op.op == "trash":
        manifest.record("trash", op.src, None, sha256=sha256, size=size)
        to_trash(op.src)        # serialised: two files of one name never race for a trash name
        return "done"
    try:
        _check_free(op, sha256)
    except AlreadyDone:
        return "already done"
    op.dst.parent.mkdir(parents=True, exist_ok=True)
    manifest.record(op.op, op.src, op.dst, sha256=sha256, size=size)
    if op.op == "move":
        _move(op.src, op.dst, sha256)
    elif op.op == "copy":
        atomic_copy(op.src, op.dst)
    elif op.op == "hardlink":
        os.link(op.src, op.dst)
    elif op.op == "symlink":
        os.symlink(os.path.abspath(op.src), op.dst)
    else:
        raise ValueError(f"unknown file operation {op.op!r}")
    return "done"
