"""Merging several folders (or HQ/LQ pair sets) into one, with a collision policy.

    merger = Merger("rename", taken_on_disk=lambda key: ..., pixels=lambda path: ...)
    for source, rel_key, path, partner in files: merger.offer(source, rel_key, path, partner)
    merger.placed      # [Placed]: what goes where, in offer order
    merger.skipped     # [Placed]: what a collision kept out, and why

Files collide when their relative paths without extension are the same (`sub/a.png` and
`sub/a.jpg` would make an ambiguous pair set). Policies: `skip` (the first source wins),
`rename` (the later file gets `_1`, `_2`, ... until the name is free), `keep-larger` (more
pixels, then more bytes, wins; a file already in the output always stays).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

POLICIES = ("skip", "rename", "keep-larger")


@dataclass
class Placed:
    source: str              # the input folder it came from
    key: str                 # output path without extension, relative to the output
    path: Path
    partner: Path | None
    status: str = "placed"   # placed | renamed | skipped: ... | replaced: ...


class Merger:
    def __init__(self, policy: str, taken_on_disk: Callable[[str], bool],
                 size: Callable[[Path], tuple[int, int]]) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown collision policy {policy!r}")
        self.policy, self.taken_on_disk, self.size = policy, taken_on_disk, size
        self._by_key: dict[str, Placed] = {}     # insertion-ordered: the output's order
        self.skipped: list[Placed] = []

    @property
    def placed(self) -> list[Placed]:
        return list(self._by_key.values())

    def _free(self, key: str) -> bool:
        return key not in self._by_key and not self.taken_on_disk(key)

    def offer(self, source: str, key: str, path: Path, partner: Path | None) -> Placed:
        item = Placed(source, key, path, partner)
        if self._free(key):
            return self._place(item)
        holder = self._by_key.get(key)
        where = "a file already in the output" if holder is None else str(holder.path)
        if self.policy == "rename":
            n = 1
            while not self._free(f"{key}_{n}"):
                n += 1
            item.key, item.status = f"{key}_{n}", "renamed"
            return self._place(item)
        if self.policy == "keep-larger" and holder is not None \
                and self.size(path) > self.size(holder.path):
            holder.status = f"skipped: smaller than {path}"
            self.skipped.append(holder)
            item.status = f"replaced: {holder.path}"
            return self._place(item)
        item.status = f"skipped: collides with {where}"
        self.skipped.append(item)
        return item

    def _place(self, item: Placed) -> Placed:
        self._by_key[item.key] = item
        return item
