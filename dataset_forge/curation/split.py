"""Train/val/test splits that keep near-duplicates and HQ/LQ partners together.

    subsets = parse_subsets(["train=0.8", "val=0.1", "test=0.1"])     # or counts: val=100,...
    groups = near_duplicate_groups(ctx, paths, "phash")               # [[0, 7], [3, 12, 40]]
    labels = link(len(paths), groups)                                 # file -> its group's id
    names = assign(keys, labels, strata, subsets, by="seed", seed=0)  # file -> subset name

A split's unit is a *group*: a file with every file it is a near-duplicate of (connected
components of the duplicate pairs), with their LQ partners. A whole group lands in one subset, so
no picture leaks from train into validation.

- `by="name"`: each group by a hash of its first member's relative path (and the seed). Stable
  as the dataset grows: adding files never moves the others. Sizes are near the ratios.
- `by="seed"`: groups in an order shuffled by the seed, then dealt out to exact sizes (ratios
  or counts, per stratum when stratified by a folder level).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

REST = "rest"


@dataclass(frozen=True)
class Subsets:
    names: tuple[str, ...]
    ratios: tuple[float, ...] | None = None        # normalised; ratio mode
    counts: tuple[int | None, ...] | None = None   # count mode; None = the rest

    def targets(self, total: int) -> list[int]:
        """How many files each subset should get out of `total` (largest remainders)."""
        if self.counts is not None:
            fixed = sum(c for c in self.counts if c is not None)
            rest = max(0, total - fixed)
            return [rest if c is None else c for c in self.counts]
        raw = [r * total for r in self.ratios]
        out = [math.floor(x) for x in raw]
        order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - out[k]), k))
        for k in order[: total - sum(out)]:
            out[k] += 1
        return out


def parse_subsets(items: Sequence[str]) -> Subsets:
    """'train=0.8' ratios (weights, normalised), or counts with exactly one subset taking the
    rest ('val=100,test=100,train=rest'); ValueError with one line."""
    names, values = [], []
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip().lower()
        if not sep or not name or not value:
            raise ValueError(f"{item!r} is not NAME=RATIO, NAME=COUNT or NAME=rest")
        if name in names:
            raise ValueError(f"subset {name!r} named twice")
        names.append(name)
        values.append(value)
    if len(names) < 2:
        raise ValueError("give at least two subsets, e.g. train=0.9,val=0.1")
    if REST in values:   # counts: every subset but one has a size, that one takes the rest
        if values.count(REST) > 1:
            raise ValueError("only one subset can take the rest")
        counts = []
        for name, value in zip(names, values):
            if value != REST and not value.isdigit():
                raise ValueError(f"{name}={value}: with a 'rest' subset the others are counts")
            counts.append(None if value == REST else int(value))
        return Subsets(tuple(names), counts=tuple(counts))
    try:
        ratios = [float(v) for v in values]
    except ValueError:
        raise ValueError("ratios must be numbers (train=0.8,val=0.2), or give counts with one "
                         "subset taking the rest (val=100,train=rest)") from None
    if any(r < 0 or not math.isfinite(r) for r in ratios) or sum(ratios) <= 0:
        raise ValueError("ratios must be non-negative and not all zero")
    total = sum(ratios)
    return Subsets(tuple(names), ratios=tuple(r / total for r in ratios))


def link(n: int, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Group id per file (the smallest index in its group), merging groups that share files."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for group in groups:
        members = [int(m) for m in group]
        for m in members[1:]:
            a, b = find(members[0]), find(m)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)])


def _fraction(text: str) -> float:
    """A stable number in [0, 1) from text (SHA-256)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0 ** 64


def assign(keys: Sequence[str], labels: np.ndarray, strata: Sequence[str], subsets: Subsets,
           *, by: str = "name", seed: int = 0) -> list[str]:
    """The subset of each file; every member of a group gets the same one."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(labels):
        members.setdefault(int(g), []).append(i)
    chosen: dict[int, str] = {}
    if by == "name":
        if subsets.ratios is None:
            raise ValueError("counts need --by seed (exact sizes); --by name splits by ratios")
        edges = np.cumsum(subsets.ratios)
        for g, idx in members.items():
            u = _fraction(f"{seed}:{keys[idx[0]]}")
            k = min(int(np.searchsorted(edges, u, side="right")), len(subsets.names) - 1)
            chosen[g] = subsets.names[k]
    else:
        by_stratum: dict[str, list[int]] = {}
        for g, idx in members.items():
            by_stratum.setdefault(strata[idx[0]], []).append(g)
        for stratum in sorted(by_stratum):
            groups = sorted(by_stratum[stratum],
                            key=lambda g: (_fraction(f"{seed}:{keys[members[g][0]]}"), g))
            total = sum(len(members[g]) for g in groups)
            left = subsets.targets(total)
            for g in groups:
                size = len(members[g])
                fits = [k for k, n in enumerate(left) if n >= size]
                k = fits[0] if fits else max(range(len(left)), key=lambda k: (left[k], -k))
                left[k] -= size
                chosen[g] = subsets.names[k]
    return [chosen[int(g)] for g in labels]


def stratum(rel: str, level: int) -> str:
    """The folder at `level` (1 = the first folder) of a relative path; "" above it or at 0."""
    if level <= 0:
        return ""
    parts = Path(rel).parts[:-1]
    return parts[level - 1] if len(parts) >= level else ""


def near_duplicate_groups(ctx: Any, paths: list[Path], method: str, threshold: float | None,
                          cache: str = "") -> tuple[list[list[int]], list[Any]]:
    """Near-duplicate pairs among `paths` (indices) found with the dedup engine's hashes (flip,
    rotation and crop invariant; no verifier: for a split, a false pair only ties two files
    together, a missed one leaks a picture), and the files that could not be read. `link`
    joins the pairs into groups."""
    from ..dedup.cache import FeatureCache
    from ..dedup.exact import ExactHash
    from ..dedup.features import encode_all
    from ..dedup.perceptual import PerceptualHash
    if method == "exact":
        hasher = ExactHash()
    else:
        hasher = PerceptualHash(method, 8, None if threshold is None else int(threshold),
                                invariant=True, crops=True)
    with FeatureCache.open(cache) as store:
        enc = encode_all(hasher, ctx, paths, store)
    found = hasher.find_pairs(enc.features)
    rows = enc.rows
    return [[int(rows[a]), int(rows[b])] for a, b in zip(found.i, found.j)], enc.failures


def groups_from_dedup_plan(path: Path, paths: list[Path]) -> list[list[int]]:
    """Groups of a dedup report's groups file (read by its own reader, `dedup.plan.read_plan`)
    and its related pairs (duplicates linking two groups), as indices into `paths`; members
    not among `paths` are left out."""
    from ..dedup.plan import read_plan
    index = {p.resolve(): i for i, p in enumerate(paths)}
    plan = read_plan(path)
    root = Path(plan.meta.get("input") or ".")
    out = []
    for group in plan.groups:
        idx = [index[f] for f in (Path(m.file).resolve() for m in group.members) if f in index]
        if len(idx) > 1:
            out.append(idx)
    for pair in plan.related:
        ends = [(Path(x) if Path(x).is_absolute() else root / x).resolve() for x in (pair.a, pair.b)]
        if all(e in index for e in ends):
            out.append([index[e] for e in ends])
    return out
