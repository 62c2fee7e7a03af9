"""Confirmed pairs become keeper-centred groups; a policy says which file is kept.

    stars, related = keeper_groups(pairs, members_of, "resolution")
    keep = choose_keep(members, "resolution")    # indices into members that are kept

Groups never chain. Pairs are not joined transitively (one borderline pair would link two
clusters, and a family of look-alike pictures would collapse into one group). Instead the best
file not yet placed (by the keep policy; protected files first) becomes a keeper, and only the
files confirmed as duplicates *of that keeper* join its group. Then the next best file left,
and so on. Every file a group drops is therefore a confirmed duplicate of the file it keeps.
Confirmed pairs that join files of two different groups (or a file of a group and one left
alone) are returned as `related`: reported, never acted on.

Files marked `protected` (a reference folder, an --against collection) are always kept and
never acted upon; they become keepers before any other file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .index import Pairs

KEEP_POLICIES = ("resolution", "size", "newest", "oldest", "shortest-path")
SIZE_TIE_FRACTION = 0.05   # resolution policy: sizes this close count as a tie


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


def choose_keep(members: Sequence[Any], policy: str) -> list[int]:
    """Indices of the members to keep: every protected one if any; else the best under
    `policy`. Members need path, bytes, mtime, pixels and protected."""
    protected = [k for k, m in enumerate(members) if m.protected]
    if protected:
        return protected
    if policy == "resolution":
        return [_best_resolution(members)]
    key = _rank(policy)
    return [min(range(len(members)), key=lambda k: key(members[k]))]


def _best_resolution(members: Sequence[Any]) -> int:
    """Most pixels; among those, files within `SIZE_TIE_FRACTION` of the largest count as the
    same size (a mirrored or re-saved copy differs by a few bytes), and the shortest path, then
    the alphabetically first, wins: `photo.jpg` over `photo_flipped.jpg`."""
    top = max(m.pixels for m in members)
    tied = [k for k, m in enumerate(members) if m.pixels == top]
    biggest = max(members[k].bytes for k in tied)
    near = [k for k in tied if members[k].bytes >= biggest * (1 - SIZE_TIE_FRACTION)]
    return min(near, key=lambda k: (len(members[k].path), members[k].path))


@dataclass
class Star:
    """One group: its keeper's row, every member's row (keeper first) and, for each member
    after the keeper, the index of its pair with the keeper."""
    keeper: int
    rows: list[int]
    edges: list[int] = field(default_factory=list)


def _adjacency(pairs: Pairs) -> dict[int, list[tuple[int, int]]]:
    adj: dict[int, list[tuple[int, int]]] = {}
    for n, (a, b) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist())):
        adj.setdefault(a, []).append((b, n))
        adj.setdefault(b, []).append((a, n))
    return adj


def keeper_groups(pairs: Pairs, member: Callable[[int], Any],
                  policy: str) -> tuple[list[Star], np.ndarray]:
    """(groups, indices of the related pairs). `member(row)` gives a row's facts for the keep
    policy (path, bytes, mtime, pixels, protected)."""
    adj = _adjacency(pairs)
    key = _rank(policy)
    order = sorted(adj, key=lambda r: (not member(r).protected, key(member(r))))
    placed: dict[int, int] = {}          # row -> group number
    stars: list[Star] = []
    for row in order:
        if row in placed:
            continue
        free = [(r, n) for r, n in adj[row] if r not in placed]
        if not free:
            continue
        candidates = [row] + [r for r, _ in free]
        keeper = candidates[choose_keep([member(r) for r in candidates], policy)[0]]
        if keeper != row:                # a tie the policy breaks differently (same pixels)
            free = [(r, n) for r, n in adj[keeper] if r not in placed]
        star = Star(keeper, [keeper] + [r for r, _ in free], [n for _, n in free])
        for r in star.rows:
            placed[r] = len(stars)
        stars.append(star)
    gi = np.array([placed.get(int(a), -1) for a in pairs.i], np.int64)
    gj = np.array([placed.get(int(b), -2) for b in pairs.j], np.int64)
    related = np.flatnonzero(gi != gj)
    return stars, related


def inner_pairs(stars: list[Star], pairs: Pairs) -> list[list[int]]:
    """For each group, the indices of the pairs with both files inside it."""
    where = {r: g for g, s in enumerate(stars) for r in s.rows}
    out: list[list[int]] = [[] for _ in stars]
    for n, (a, b) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist())):
        g = where.get(a)
        if g is not None and where.get(b) == g:
            out[g].append(n)
    return out
