"""Scoring found pairs against ground truth: pairwise precision, recall and F1.

    truth = pairs_from_groups([["a.jpg", "a_small.jpg"], ...])
    scores = score_pairs(found_pairs, truth)      # {"precision": ..., "recall": ..., "f1": ...}
"""
from __future__ import annotations

import itertools
from typing import Iterable


def pairs_from_groups(groups: Iterable[Iterable[str]]) -> set[frozenset[str]]:
    """Every unordered pair inside each group."""
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(set(g)), 2)}


def score_pairs(found: Iterable[Iterable[str]], truth: set[frozenset[str]]) -> dict[str, float]:
    found_set = {frozenset(p) for p in found}
    hits = len(found_set & truth)
    precision = hits / len(found_set) if found_set else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "found": len(found_set),
            "true": len(truth), "hits": hits}
