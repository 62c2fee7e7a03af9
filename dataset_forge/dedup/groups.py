"""Pairs become groups (connected components); in each group a policy picks the file to keep.

    labels = connected_groups(n, pairs)          # list of row-index arrays, each 2+ members
    keep = choose_keep(members, "resolution")    # indices into members that are kept

Files marked `protected` (a reference folder, an --against collection) are always kept and
never acted upon; a group with any of them keeps all of them and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .index import Pairs

KEEP_POLICIES = ("resolution", "size", "newest", "oldest", "shortest-path")
SIZE_TIE_FRACTION = 0.05   # resolution policy: sizes this close count as a tie


def connected_groups(n: int, pairs: Pairs) -> list[np.ndarray]:
    """Connected components with two or more members, each sorted, ordered by first member."""
    if len(pairs) == 0:
        return []
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs.i, pairs.j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    groups = [g for g in np.split(order, starts[1:]) if len(g) > 1]
    return sorted(groups, key=lambda g: int(g[0]))


@dataclass
class Member:
    path: str            # as shown to users (relative to its root where possible)
    bytes: int
    mtime: float
    width: int
    height: int
    protected: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _rank(policy: str):
    """Sort key: the member that sorts first is kept. Ties fall to the next criterion, then the
    shorter and alphabetically first path, so the choice is deterministic."""
    tail = (lambda m: (len(m.path), m.path))
    keys = {
        "resolution": lambda m: (-m.pixels, -m.bytes, *tail(m)),
        "size": lambda m: (-m.bytes, -m.pixels, *tail(m)),
        "newest": lambda m: (-m.mtime, -m.pixels, *tail(m)),
        "oldest": lambda m: (m.mtime, -m.pixels, *tail(m)),
        "shortest-path": lambda m: (*tail(m), -m.pixels),
    }
    if policy not in keys:
        raise ValueError(f"unknown keep policy {policy!r}; one of {', '.join(KEEP_POLICIES)}")
    return keys[policy]


def choose_keep(members: list[Member], policy: str, preferred: set[str] = frozenset()) -> list[int]:
    """Indices of the members to keep: every protected one if any; else a member the user chose
    (in `preferred`); else the best under `policy`."""
    protected = [k for k, m in enumerate(members) if m.protected]
    if protected:
        return protected
    chosen = [k for k, m in enumerate(members) if m.path in preferred]
    if chosen:
        return chosen[:1]
    if policy == "resolution":
        return [_best_resolution(members)]
    key = _rank(policy)
    return [min(range(len(members)), key=lambda k: key(members[k]))]


def _best_resolution(members: list[Member]) -> int:
    """Most pixels; among those, files within `SIZE_TIE_FRACTION` of the largest count as the
    same size (a mirrored or re-saved copy differs by a few bytes), and the shortest path, then
    the alphabetically first, wins: `photo.jpg` over `photo_flipped.jpg`."""
    top = max(m.pixels for m in members)
    tied = [k for k, m in enumerate(members) if m.pixels == top]
    biggest = max(members[k].bytes for k in tied)
    near = [k for k in tied if members[k].bytes >= biggest * (1 - SIZE_TIE_FRACTION)]
    return min(near, key=lambda k: (len(members[k].path), members[k].path))
