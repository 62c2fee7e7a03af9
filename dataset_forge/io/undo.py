"""Undo manifests: every applied destructive action writes one; `dataset-forge undo` replays it.

    with UndoManifest(report_dir / "dedup_undo.jsonl", "dedup", params) as manifest:
        manifest.record("move", src, dst, sha256=digest)    # written BEFORE the move happens
        os.rename(src, dst)
    append_record(manifest.path, "copy", src, dst, sha256=digest)   # from a worker process

    for step in plan_undo(path): print(step.status, step.describe())
    results = replay(path)                                  # restores, newest first

A manifest is JSON lines: a header, then one line per operation, flushed before the operation
runs (write-ahead), so even a killed run leaves a manifest that covers everything it touched.
Replay looks at the files as they are now, so an operation that never happened, or was already
undone, is simply skipped; nothing is ever overwritten.

Operations and how they are undone:
- `move` (src -> dst): moved back from dst to src, checked against the recorded SHA-256.
- `trash` (src -> system trash): found in the freedesktop trash (Linux) by its original path and
  digest, and moved back. On macOS and Windows, restore from the system trash by hand.
- `copy`, `hardlink`, `symlink` (dst created from src): dst is removed if it still is exactly
  what was made (same digest, same inode, same link target); the original was never touched.
  A copy is never removed while its original is gone (trash emptied, file deleted): it is then
  the last copy of the picture, and stays ("kept").
- `replace` (src replaced in place by a new file, the original sent to the trash): the new
  file (checked against `new_sha256`) makes way for the original found in the trash; when the
  original is not there, the new file stays.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

MANIFEST_VERSION = 1
CREATED_OPS = ("copy", "hardlink", "symlink")
OPS = ("move", "trash", "replace", *CREATED_OPS)


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class UndoManifest:
    """Write-ahead log of file operations, one JSON line each."""

    def __init__(self, path: str | Path, action: str, params: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._fh = open(self.path, "a", encoding="utf-8")
        if self.path.stat().st_size == 0:
            self._write({"manifest": "dataset-forge undo", "version": MANIFEST_VERSION,
                         "action": action, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                         "cwd": os.getcwd(),
                         "params": json.loads(json.dumps(params or {}, default=str))})

    def _write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def record(self, op: str, src: str | Path, dst: str | Path | None = None, *,
               sha256: str | None = None, size: int | None = None,
               new_sha256: str | None = None) -> None:
        """Log an operation before performing it (`new_sha256`: what replaces src)."""
        self._write(_entry(op, src, dst, sha256, size, new_sha256))
        self.count += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "UndoManifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _entry(op: str, src: str | Path, dst: str | Path | None, sha256: str | None,
           size: int | None, new_sha256: str | None) -> dict[str, Any]:
    if op not in OPS:
        raise ValueError(f"unknown undo operation {op!r}")
    entry = {"op": op, "src": os.path.abspath(src),
             "dst": os.path.abspath(dst) if dst is not None else None,
             "sha256": sha256, "size": size, "time": time.time()}
    if new_sha256 is not None:
        entry["new_sha256"] = new_sha256
    return entry


def append_record(path: str | Path, op: str, src: str | Path, dst: str | Path | None = None,
                  *, sha256: str | None = None) -> None:
    """Log one operation in an existing manifest from any process (a worker, just before it
    writes `dst`): one line appended and fsynced; O_APPEND keeps lines from several workers
    whole."""
    line = (json.dumps(_entry(op, src, dst, sha256, None, None)) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


class ManifestError(ValueError):
    """Not an undo manifest, or an unreadable one (the message says which)."""


def read_manifest(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, operations). A torn last line (power loss) is ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ManifestError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not an undo manifest (not text)") from None
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entries.append((number, json.loads(line)))
        except json.JSONDecodeError:
            continue
    if not entries or not isinstance(entries[0][1], dict) or \
            entries[0][1].get("manifest") != "dataset-forge undo":
        raise ManifestError(f"{path}: not a dataset-forge undo manifest")
    for number, entry in entries[1:]:
        problem = _malformed(entry)
        if problem:
            raise ManifestError(f"{path} line {number}: {problem}; fix or remove that line")
    return entries[0][1], [e for _, e in entries[1:] if e.get("op") in OPS]


def _malformed(entry: Any) -> str:
    """Why a parsed manifest line cannot be replayed ('' when it can, or is not an operation)."""
    if not isinstance(entry, dict):
        return "not an undo operation (expected a JSON object)"
    if entry.get("op") not in OPS:
        return ""  # another kind of line: skipped
    needed = ("src",) if entry["op"] in ("trash", "replace") else ("src", "dst")
    for key in needed:
        if not isinstance(entry.get(key), str) or not entry[key]:
            return f"{entry['op']} without a {key} path"
    if entry.get("sha256") is not None and not isinstance(entry["sha256"], str):
        return f"{entry['op']} with a sha256 that is not text"
    return ""


@dataclass
class UndoStep:
    op: dict[str, Any]
    status: str  # "restore", "remove-created", "done", "skip", "conflict", "missing", "kept"
    reason: str = ""
    source: Path | None = None   # where the file to restore is now (trash restores)

    def describe(self) -> str:
        op = self.op
        if op["op"] in CREATED_OPS:
            text = f"remove {op['op']} {op['dst']}"
        elif op["op"] in ("trash", "replace"):
            text = f"restore {op['src']} from the trash"
        else:
            text = f"move {op['dst']} back to {op['src']}"
        return text + (f" ({self.reason})" if self.reason else "")


def _digest_matches(path: Path, sha256: str | None) -> bool:
    return sha256 is None or sha256_of(path) == sha256


# -- trash (freedesktop.org trash specification, as send2trash writes it) ----------------------
def _trash_dirs(original: Path) -> list[Path]:
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    dirs = [data_home / "Trash"]
    mount = original.parent
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    uid = os.getuid() if hasattr(os, "getuid") else 0
    dirs += [mount / ".Trash" / str(uid), mount / f".Trash-{uid}"]
    return [d for d in dirs if (d / "info").is_dir()]


class TrashIndex:
    """Trashed files by original path, read once per trash folder (each `.trashinfo` is read
    once however many files an undo plan looks up)."""

    def __init__(self) -> None:
        self._by_trash: dict[Path, dict[Path, list[tuple[str, Path]]]] = {}

    def _index(self, trash: Path) -> dict[Path, list[tuple[str, Path]]]:
        if trash in self._by_trash:
            return self._by_trash[trash]
        topdir = trash.parent if trash.name == "Trash" else trash.parent.parent
        index: dict[Path, list[tuple[str, Path]]] = {}
        for info in (trash / "info").glob("*.trashinfo"):
            try:
                text = info.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            where = Path(urllib.parse.unquote(fields.get("Path", "")))
            if not where.is_absolute():
                where = topdir / where
            stored = trash / "files" / info.name[: -len(".trashinfo")]
            index.setdefault(where, []).append((fields.get("DeletionDate", ""), stored))
        self._by_trash[trash] = index
        return index

    def find(self, original: str | Path, sha256: str | None) -> Path | None:
        """The trashed file that was at `original` and has the recorded digest, newest first."""
        original = Path(original)
        hits = [hit for trash in _trash_dirs(original)
                for hit in self._index(trash).get(original, [])]
        for _, stored in sorted(hits, reverse=True):
            if stored.is_file() and _digest_matches(stored, sha256):
                return stored
        return None


# -- planning and replay -----------------------------------------------------------------------
def _plan_one(op: dict[str, Any], trash: TrashIndex) -> UndoStep:
    src = Path(op["src"])
    dst = Path(op["dst"]) if op.get("dst") else None
    kind = op["op"]
    if kind in CREATED_OPS:
        if dst is None or not os.path.lexists(dst):
            return UndoStep(op, "skip", "nothing was created, or it is already gone")
        if kind == "symlink":
            ok = dst.is_symlink() and os.readlink(dst) == str(src)
        elif kind == "hardlink":
            ok = src.exists() and not dst.is_symlink() and os.path.samefile(src, dst)
        else:
            ok = not dst.is_symlink() and dst.is_file() and _digest_matches(dst, op.get("sha256"))
        return UndoStep(op, "remove-created") if ok else \
            UndoStep(op, "conflict", f"{dst} changed since it was made; left alone")
    if os.path.lexists(src):
        if src.is_file() and _digest_matches(src, op.get("sha256")):
            return UndoStep(op, "done", "already in place")
        if kind != "replace":
            return UndoStep(op, "conflict", f"another file now exists at {src}; left alone")
        if src.is_symlink() or not src.is_file() or \
                not _digest_matches(src, op.get("new_sha256")):
            return UndoStep(op, "conflict", f"{src} changed since it was replaced; left alone")
    if kind == "move":
        if dst is None or not dst.is_file():
            return UndoStep(op, "missing", f"{dst} is gone; cannot restore")
        if not _digest_matches(dst, op.get("sha256")):
            return UndoStep(op, "conflict", f"{dst} changed since it was moved; left alone")
        return UndoStep(op, "restore", source=dst)
    if not sys.platform.startswith("linux"):
        return UndoStep(op, "missing", "restore it from the system trash")
    found = trash.find(src, op.get("sha256"))
    if found is None:
        kept = f"; the file now at {src} is the last copy and stays" if kind == "replace" else ""
        return UndoStep(op, "missing", "not found in the trash (emptied?)" + kept)
    return UndoStep(op, "restore", source=found)


def last_copy_kept(step: UndoStep) -> UndoStep:
    """A created copy is removed only while its original exists: otherwise it is the last."""
    return UndoStep(step.op, "kept", f"the original {step.op['src']} is gone, so this is the "
                    "last copy of the picture; kept")


def plan_undo(path: str | Path) -> list[UndoStep]:
    """What replaying the manifest would do, newest operation first."""
    _, ops = read_manifest(path)
    trash = TrashIndex()
    steps, restored = [], set()
    for op in reversed(ops):
        step = _plan_one(op, trash)
        if step.status == "restore":
            restored.add(op["src"])
        if step.status == "remove-created" and op["op"] == "copy" and \
                op["src"] not in restored and not os.path.lexists(op["src"]):
            step = last_copy_kept(step)
        steps.append(step)
    return steps


def _restore(step: UndoStep) -> None:
    src = Path(step.op["src"])
    src.parent.mkdir(parents=True, exist_ok=True)
    if step.op["op"] == "replace" and os.path.lexists(src):
        os.unlink(src)    # the new file, checked against new_sha256 when planned
    if os.path.lexists(src):
        raise FileExistsError(f"{src} exists")
    try:
        os.link(step.source, src)   # never replaces an existing file, unlike rename
        os.unlink(step.source)
    except OSError:
        shutil.move(str(step.source), str(src))
    if step.op["op"] in ("trash", "replace"):
        info = step.source.parent.parent / "info" / (step.source.name + ".trashinfo")
        info.unlink(missing_ok=True)


def _remove_created(step: UndoStep) -> None:
    os.unlink(step.op["dst"])


def _prune_empty_parents(path: Path, stop: Path | None, keep_stop: bool = False) -> None:
    """Remove the folders a run created for `path` once they are empty, innermost first, never
    above `stop` (the run's --dest; with `keep_stop`, the folder a run sorted in place or into
    --output, which itself stays) and never a folder that still holds anything."""
    folder = path.parent
    while folder != folder.parent and (stop is None or folder != stop.parent):
        if keep_stop and folder == stop:
            return
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def replay(path: str | Path, *, apply: bool = True) -> Iterator[tuple[UndoStep, str | None]]:
    """Undo every operation (newest first); yields (step, error or None). Dry run unless apply."""
    header, ops = read_manifest(path)
    params = header.get("params") or {}
    dest = params.get("dest")
    stop = Path(dest).resolve() if dest else None
    # files moved within a tree (organise in place, or into --output): the folders the move
    # made below that root are pruned as they empty; the root stays
    root = params.get("output") or params.get("input")
    tree = ((Path(header.get("cwd") or ".") / root).resolve()
            if stop is None and isinstance(root, str) and root else None)
    trash = TrashIndex()
    for op in reversed(ops):
        # planned as the files are now, after the newer steps: a run killed between logging
        # and doing an operation, then rerun, logs it twice; the older entry is then "done"
        step = _plan_one(op, trash)
        if not apply or step.status not in ("restore", "remove-created"):
            yield step, None
            continue
        if step.status == "remove-created" and step.op["op"] == "copy" and \
                not os.path.lexists(step.op["src"]):   # its restore failed just now
            yield last_copy_kept(step), None
            continue
        try:
            (_restore if step.status == "restore" else _remove_created)(step)
            if step.op.get("dst") and stop is not None:
                _prune_empty_parents(Path(step.op["dst"]).resolve(), stop)
            elif step.op.get("dst") and tree is not None and step.op["op"] == "move" and \
                    tree in Path(step.op["dst"]).resolve().parents:
                _prune_empty_parents(Path(step.op["dst"]).resolve(), tree, keep_stop=True)
            yield step, None
        except OSError as exc:
            yield step, f"{type(exc).__name__}: {exc.strerror or exc}"
