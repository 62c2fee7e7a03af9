"""From confirmed pairs to the typed plan: file facts, keeper-centred groups, related pairs.

    plan = build_plan(ctx, catalog, pairs, verify_scores, keep="resolution", max_group=20,
                      meta={...})
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..parallel import WorkKind
from .catalog import Catalog, member_facts
from .groups import Confirm, absorb, inner_pairs, keeper_groups, related_pairs
from .index import Pairs
from .plan import Plan, PlanGroup, PlanMember, RelatedPair


def _stat(path: Any) -> tuple[int | None, int | None]:
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    return st.st_size, st.st_mtime_ns


def _members(ctx: Any, catalog: Catalog, rows: list[int]) -> dict[int, PlanMember]:
    """Each row's facts as a plan member (file facts read in parallel)."""
    linked = catalog.linked
    out: dict[int, PlanMember] = {}
    for outcome in ctx.map(member_facts, [catalog.paths[r] for r in rows], kind=WorkKind.IO,
                           label="file facts"):
        r = rows[outcome.index]
        size, mtime_ns, width, height, lossless, quality, reduced = (
            outcome.value if outcome.ok else (0, 0, 0, 0, None, None, False))
        m = PlanMember(catalog.shown[r], os.path.abspath(catalog.paths[r]), size, mtime_ns,
                       width, height, catalog.protected[r], dest=catalog.dest_rel[r].as_posix(),
                       linked_from=linked.get(r), lossless=lossless, quality=quality,
                       reduced=reduced)
        if r in catalog.partners:
            lq, lq_rel = catalog.partners[r]
            m.lq, m.lq_dest = os.path.abspath(lq), lq_rel.as_posix()
            m.lq_bytes, m.lq_mtime_ns = _stat(lq)
        out[r] = m
    return out


def build_plan(ctx: Any, catalog: Catalog, pairs: Pairs, verify: np.ndarray | None, *,
               keep: str, max_group: int, meta: dict[str, Any],
               confirm: Confirm | None = None) -> Plan:
    """Groups centred on their keepers (see `groups.keeper_groups`; with `confirm`, linked
    groups the verifier confirms against a keeper join it, `groups.absorb`); groups larger than
    `max_group` are flagged `large`."""
    rows = sorted(set(pairs.i.tolist()) | set(pairs.j.tolist()))
    members = _members(ctx, catalog, rows)
    stars, related = keeper_groups(pairs, members.__getitem__, keep)
    if confirm is not None and len(related):
        stars = absorb(stars, pairs, related, confirm)
        related = related_pairs(stars, pairs)
    score = pairs.score.tolist()
    check = None if verify is None else verify.tolist()
    groups = []
    for gid, (star, inner) in enumerate(zip(stars, inner_pairs(stars, pairs)), 1):
        group_members = [members[star.keeper]]
        for r, n in zip(star.rows[1:], star.edges):
            m = members[r]
            if n < 0:                               # joined on the verifier's word alone
                m.distance, m.verify = None, star.checked[r]
            else:
                m.distance, m.verify = score[n], None if check is None else check[n]
            group_members.append(m)
        at = {r: k for k, r in enumerate(star.rows)}
        links = [(at[int(pairs.i[n])], at[int(pairs.j[n])], score[n],
                  None if check is None else check[n]) for n in inner]
        groups.append(PlanGroup(gid, group_members, 0, len(group_members) > max_group, links))
    linked = [RelatedPair(catalog.shown[int(pairs.i[n])], catalog.shown[int(pairs.j[n])],
                          score[n], None if check is None else check[n])
              for n in related.tolist()]
    return Plan({**meta, "max_group_size": max_group, "keep": keep}, groups, linked)
