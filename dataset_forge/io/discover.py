"""Finding images under a folder: one rule, used by every action family and by the runner.

The rule: a file is an image to read when

1. its extension names an image format (`IMAGE_EXTENSIONS`): taken without reading it, since
   the worker that opens it reports corruption or an extension that lies about the content; or
2. whatever its name, its first 64 bytes carry an image signature (`sniff.magic_format`): a
   PNG saved without an extension, a JPEG renamed `.dat`. Only files of rule 1's complement
   are read, one small read each.

Hidden files and folders (names starting with ".") are skipped unless asked for; the order is
deterministic (a folder's files by name, then its sub-folders by name); a folder reached twice
through symbolic links is walked once. What cannot be walked is a `WalkProblem`, never a
silent skip: a dangling symbolic link, a sub-folder that cannot be listed.

    for path in iter_images(root):                    # stream (writing actions)
        ...
    found = discover(root)                            # list + counts + problems (analysis)
    found.images, found.renamed, found.other_files, found.problems

Inside a run both continue the runner's walk of the same folder (`SharedWalks`) rather than
walking it again.

Cost on the 1,121 real photos (benchmarks/RESULTS.md, "discovery"): the walk alone and the walk
with rule 2 for every file differ by the reads of rule 2; rule 1 keeps image-named files free.
"""
from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .sniff import IMAGE_EXTENSIONS, sniff_format

__all__ = ["Discovery", "IMAGE_EXTENSIONS", "SharedWalks", "Walk", "WalkProblem", "discover",
           "first_image", "is_hidden", "iter_files", "iter_images"]


def is_hidden(name: str) -> bool:
    return name.startswith(".")


@dataclass(frozen=True)
class WalkProblem:
    """Something under the root that could not be walked: `dangling_symlink` or
    `unreadable_folder`, with the operating system's reason."""

    kind: str
    path: Path
    reason: str

    def finding(self) -> dict[str, str]:
        return {"kind": self.kind, "path": str(self.path), "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.path}: {self.kind.replace('_', ' ')} ({self.reason})"


def iter_files(root: str | Path, *, include_hidden: bool = False, follow_symlinks: bool = True,
               problems: list[WalkProblem] | None = None) -> Iterator[Path]:
    """Every regular file under `root` in a deterministic, depth-first order: a folder's files
    (by name) before its sub-folders (by name); each real folder is visited once. Dangling
    links and folders that cannot be listed are appended to `problems` when it is given."""
    root = Path(root)
    seen: set[tuple[int, int]] = set()
    stack = [root]
    note = problems.append if problems is not None else (lambda problem: None)
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue  # a symlink cycle or a folder linked twice
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            note(WalkProblem("unreadable_folder", folder, exc.strerror or str(exc)))
            continue
        subdirs = []
        for entry in entries:
            if not include_hidden and is_hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=follow_symlinks):
                    subdirs.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=follow_symlinks):
                    yield Path(entry.path)
                elif entry.is_symlink() and not os.path.exists(entry.path):
                    note(WalkProblem("dangling_symlink", Path(entry.path),
                                     "points to " + os.readlink(entry.path)))
            except OSError as exc:
                note(WalkProblem("unreadable_folder", Path(entry.path), exc.strerror or str(exc)))
        stack.extend(reversed(subdirs))


def image_format(path: Path) -> str | None:
    """The rule for one file: 'name' when its extension names an image format, the sniffed
    format when its content is an image, else None."""
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return "name"
    return sniff_format(path, identify=False)


class Walk:
    """One streaming walk of `root` by the rule: `images()` yields `(path, how)` (`how` is
    'name' or the sniffed format) for each image; other files are only counted
    (`other_files`); `problems` fills as the walk goes; `done` once it has run to the end."""

    def __init__(self, root: str | Path, include_hidden: bool = False,
                 problems: list[WalkProblem] | None = None) -> None:
        self.root = Path(root)
        self.problems: list[WalkProblem] = [] if problems is None else problems
        self.other_files = 0
        self.done = False
        self._files = iter_files(self.root, include_hidden=include_hidden, problems=self.problems)

    def images(self) -> Iterator[tuple[Path, str]]:
        for path in self._files:
            how = image_format(path)
            if how is None:
                self.other_files += 1
            else:
                yield path, how
        self.done = True


class SharedWalks:
    """A run's walks of its image folders, each taken once: the runner's emptiness check
    (`first_image`) stops at the first image and keeps the walk open; the action's own
    `iter_images` / `discover` of the same folder (same `include_hidden`, in the runner's
    thread) continues that walk instead of starting another, streaming as before. So each run
    walks each input once and holds no list the action would not hold itself.

        shared = SharedWalks()
        first, problems = shared.first_image(folder)      # runner: None means no images
        with shared.active():
            action.run(...)                               # its walks of `folder` continue
        shared.problems(finish=True)                      # every problem, once per folder

    A walk the action never finished (it walked another way, or stopped early) is finished by
    `problems(finish=True)`, so every problem is still reported (the old cost, only then)."""

    def __init__(self) -> None:
        self._folders: dict[tuple[str, bool], _Handover] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator["SharedWalks"]:
        token = _SHARED.set(self)
        try:
            yield self
        finally:
            _SHARED.reset(token)

    def first_image(self, root: str | Path,
                    include_hidden: bool = False) -> tuple[Path | None, list[WalkProblem]]:
        """The first image under `root` (None: the walk ran to the end and found none) and the
        problems met so far; the walk waits for the action."""
        key = _key(root, include_hidden)
        if key not in self._folders:
            walk = Walk(root, include_hidden)
            stream = walk.images()
            self._folders[key] = _Handover(walk, stream, next(stream, None))
        handover = self._folders[key]
        return (handover.first[0] if handover.first else None), handover.walk.problems

    def open(self, root: str | Path, include_hidden: bool) -> tuple[Walk, Iterator[tuple[Path, str]]]:
        """The waiting walk of `root`, the first time it is asked for; a fresh one otherwise."""
        handover = self._folders.get(_key(root, include_hidden))
        if handover is None or handover.taken:
            walk = Walk(root, include_hidden)
            if handover is not None:
                handover.others.append(walk)
            return walk, walk.images()
        handover.taken = True
        return handover.walk, _rebased(handover.resume(), handover.walk.root, Path(root))

    def problems(self, finish: bool) -> list[WalkProblem]:
        """What the run's walks of its folders could not read, once per folder; with `finish`,
        a walk nobody ran to the end is finished first."""
        found: list[WalkProblem] = []
        for handover in self._folders.values():
            complete = next((w for w in [handover.walk, *handover.others] if w.done), None)
            if complete is None and finish:
                for _ in handover.stream:
                    pass
                complete = handover.walk
            found.extend((complete or handover.walk).problems)
        return found


@dataclass
class _Handover:
    walk: Walk
    stream: Iterator[tuple[Path, str]]
    first: tuple[Path, str] | None
    taken: bool = False
    others: list[Walk] = field(default_factory=list)

    def resume(self) -> Iterator[tuple[Path, str]]:
        if self.first is not None:
            yield self.first
        for item in self.stream:   # not `yield from`: dropping this generator leaves the walk
            yield item             # open, so `SharedWalks.problems` can still finish it


_SHARED: ContextVar[SharedWalks | None] = ContextVar("dataset_forge_shared_walks", default=None)


def _key(root: str | Path, include_hidden: bool) -> tuple[str, bool]:
    return os.path.realpath(root), bool(include_hidden)


def _rebased(stream: Iterator[tuple[Path, str]], walked: Path,
             asked: Path) -> Iterator[tuple[Path, str]]:
    """Paths as the caller's spelling of the root would have given them."""
    if walked == asked:
        return stream
    return ((asked / path.relative_to(walked), how) for path, how in stream)


def _open(root: str | Path, include_hidden: bool) -> tuple[Walk, Iterator[tuple[Path, str]]]:
    shared = _SHARED.get()
    if shared is not None:
        return shared.open(root, include_hidden)
    walk = Walk(root, include_hidden)
    return walk, walk.images()


def iter_images(root: str | Path, *, include_hidden: bool = False,
                problems: list[WalkProblem] | None = None) -> Iterator[Path]:
    """Images under `root` by the rule above, in deterministic order (streamed). Inside a run,
    the runner's walk of `root` is continued rather than repeated (`SharedWalks`); asking
    for `problems` always walks afresh."""
    if problems is not None:
        walk = Walk(root, include_hidden, problems)
        stream = walk.images()
    else:
        walk, stream = _open(root, include_hidden)
    return (path for path, _ in stream)


def first_image(root: str | Path, *, include_hidden: bool = False) -> Path | None:
    """The first image by the rule, or None: however many other files come before it."""
    return next(iter(Walk(root, include_hidden).images()), (None,))[0]


@dataclass
class Discovery:
    """What `discover` found: `images` (every image by the rule), `renamed` (those found by
    content alone, with their real format), `other_files` (neither) and `problems`."""

    images: list[Path] = field(default_factory=list)
    renamed: list[tuple[Path, str]] = field(default_factory=list)
    other_files: int = 0
    problems: list[WalkProblem] = field(default_factory=list)


def discover(root: str | Path, include_hidden: bool = False) -> Discovery:
    """Walk `root` once by the rule and keep everything it learned (inside a run, the
    runner's walk continued)."""
    walk, stream = _open(root, include_hidden)
    found = Discovery()
    for path, how in stream:
        found.images.append(path)
        if how != "name":
            found.renamed.append((path, how))
    found.other_files, found.problems = walk.other_files, walk.problems
    return found
