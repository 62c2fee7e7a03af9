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
QUALITY_TIE = 5            # ... JPEG qualities this close (estimated) count as a tie
MTIME_TIE_S = 2.0          # ... modification times this close too (FAT's resolution)


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
    """Most pixels; among files with as many, the most faithful encoding (`_most_faithful`),
    then the largest file (sizes within `SIZE_TIE_FRACTION` of the largest tie: a mirrored or
    re-saved copy differs by a few bytes), then the oldest (times within `MTIME_TIE_S` tie),
    then the shortest, alphabetically first path: `photo.jpg` over `photo_flipped.jpg`."""
    top = max(m.pixels for m in members)
    tied = _most_faithful(members, [k for k, m in enumerate(members) if m.pixels == top])
    biggest = max(members[k].bytes for k in tied)
    tied = [k for k in tied if members[k].bytes >= biggest * (1 - SIZE_TIE_FRACTION)]
    oldest = min(members[k].mtime for k in tied)
    tied = [k for k in tied if members[k].mtime <= oldest + MTIME_TIE_S]
    return min(tied, key=lambda k: (len(members[k].path), members[k].path))


def _most_faithful(members: Sequence[Any], rows: list[int]) -> list[int]:
    """True-colour files if there are any (a palette-quantised or animated copy of a photo is
    exact only to its palette); among them, lossless files if there are any (a PNG original
    over its JPEG re-save, however small the PNG); else the JPEGs within `QUALITY_TIE` of the
    best estimated quality, with the files whose quality is not known."""
    full_colour = [k for k in rows if not getattr(members[k], "reduced", False)]
    rows = full_colour or rows
    lossless = [k for k in rows if getattr(members[k], "lossless", None)]
    if lossless:
        return lossless
    known = [members[k].quality for k in rows if getattr(members[k], "quality", None)]
    if not known:
        return rows
    return [k for k in rows if not getattr(members[k], "quality", None) or
            members[k].quality >= max(known) - QUALITY_TIE]


@dataclass
class Star:
    """One group: its keeper's row, every member's row (keeper first) and, for each member
    after the keeper, the index of its pair with the keeper (-1 when it joined by `absorb`,
    with the verifier's score in `checked`)."""
    keeper: int
    rows: list[int]
    edges: list[int] = field(default_factory=list)
    checked: dict[int, float] = field(default_factory=dict)


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
    return stars, related_pairs(stars, pairs)


def related_pairs(stars: list[Star], pairs: Pairs) -> np.ndarray:
    """Indices of the pairs whose files are not in one group."""
    placed = {r: g for g, s in enumerate(stars) for r in s.rows}
    gi = np.array([placed.get(int(a), -1) for a in pairs.i], np.int64)
    gj = np.array([placed.get(int(b), -2) for b in pairs.j], np.int64)
    return np.flatnonzero(gi != gj)


Confirm = Callable[[list[tuple[int, int]]], list[float | None]]


def absorb(stars: list[Star], pairs: Pairs, related: np.ndarray,
           confirm: Confirm) -> list[Star]:
    """A group (or a file left alone) that a related pair links to a better-ranked group joins
    it when `confirm` (the verifier, keeper against file) accepts every one of its files; so a
    copy that is a duplicate of the keeper but was no hash candidate of it is not split off.
    Nothing chains: each file that joins is checked against the keeper itself."""
    where = {r: g for g, s in enumerate(stars) for r in s.rows}
    gone: set[int] = set()
    targets: dict[tuple, set[int]] = {}       # unit -> groups it is linked to
    for n in related.tolist():
        a, b = int(pairs.i[n]), int(pairs.j[n])
        for x, y in ((a, b), (b, a)):
            unit = ("g", where[x]) if x in where else ("r", x)
            if y in where:
                targets.setdefault(unit, set()).add(where[y])
    order = sorted(targets, key=lambda u: (u[0] == "r", u[1]))
    rows_of = {u: stars[u[1]].rows[:] if u[0] == "g" else [u[1]] for u in order}
    checks = sorted({(stars[t].keeper, r) for u in order for t in targets[u]
                     if u[0] == "r" or t < u[1] for r in rows_of[u]})
    verdict = dict(zip(checks, confirm(checks))) if checks else {}   # one verifier pass
    for unit in order:
        rows = rows_of[unit]
        for t in sorted(targets[unit]):
            if t in gone or (unit[0] == "g" and t >= unit[1]):
                continue
            scores = [verdict[(stars[t].keeper, r)] for r in rows]
            if all(v is not None for v in scores):
                stars[t].rows.extend(rows)
                stars[t].edges.extend([-1] * len(rows))
                stars[t].checked.update(zip(rows, scores))
                if unit[0] == "g":
                    gone.add(unit[1])
                break
    return [s for g, s in enumerate(stars) if g not in gone]


def inner_pairs(stars: list[Star], pairs: Pairs) -> list[list[int]]:
    """For each group, the indices of the pairs with both files inside it."""
    where = {r: g for g, s in enumerate(stars) for r in s.rows}
    out: list[list[int]] = [[] for _ in stars]
    for n, (a, b) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist())):
        g = where.get(a)
        if g is not None and where.get(b) == g:
            out[g].append(n)
    return out
