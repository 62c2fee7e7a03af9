"""Finding close pairs at scale: no Python loop over pairs, no n x n matrix.

    pairs = equal_pairs(digests)                       # identical rows (exact duplicates)
    pairs = hamming_pairs(codes, max_distance=6)       # packed bit codes (perceptual hashes)
    pairs = cosine_pairs(embeddings, min_similarity=0.95)

All three return `Pairs` (row indices i < j and a score: Hamming distance, cosine similarity,
or 0 for equal rows). Rows before `first_query` form a collection that is searched but never
queried (`--against`): pairs inside it are not reported.

Searches run block by block and triangularly: block b is added to a faiss index and then
queried against everything added so far, so each pair is seen once and memory holds one block
of results at a time. Hamming search uses faiss's exhaustive binary index (popcount over packed
codes) or, for small radii, its multi-index hashing index (`IndexBinaryMultiHash`, pigeonhole
principle: codes within distance d share a sub-code within d // m of each other). Embeddings use
an exact inner-product index, or an inverted-file index (approximate) beyond `IVF_MIN_ITEMS`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import faiss
import numpy as np

BLOCK = 32_768           # queries per block: bounds the memory of one block's results
IVF_MIN_ITEMS = 200_000  # above this many embeddings, the approximate IVF index is used
IVF_NPROBE = 16


@dataclass
class Pairs:
    """Candidate duplicate pairs: parallel arrays, i < j, one row per pair."""

    i: np.ndarray
    j: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls) -> "Pairs":
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32))

    def __len__(self) -> int:
        return len(self.i)

    def take(self, mask_or_index: np.ndarray) -> "Pairs":
        return Pairs(self.i[mask_or_index], self.j[mask_or_index], self.score[mask_or_index])

    @classmethod
    def concat(cls, parts: list["Pairs"]) -> "Pairs":
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(np.concatenate([p.i for p in parts]), np.concatenate([p.j for p in parts]),
                   np.concatenate([p.score for p in parts]))

    def normalised(self, *, higher_is_closer: bool) -> "Pairs":
        """i < j, no self pairs, one row per pair keeping its closest score, sorted by (i, j)."""
        i, j = np.minimum(self.i, self.j), np.maximum(self.i, self.j)
        keep = i != j
        i, j, score = i[keep], j[keep], self.score[keep]
        order = np.lexsort((-score if higher_is_closer else score, j, i))
        i, j, score = i[order], j[order], score[order]
        first = np.ones(len(i), bool)
        first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
        return Pairs(i[first].astype(np.int64), j[first].astype(np.int64),
                     score[first].astype(np.float32))


def _blocks(n: int, first_query: int, block: int):
    """(start, stop) of the query blocks; the collection rows come first, unqueried."""
    if first_query > 0:
        yield 0, first_query, False
    for start in range(first_query, n, block):
        yield start, min(n, start + block), True


def _range_results(lims: np.ndarray, values: np.ndarray, ids: np.ndarray, offset: int):
    """faiss range_search output -> (query row, result row, value) arrays."""
    counts = np.diff(lims.astype(np.int64))
    rows = np.repeat(np.arange(len(counts), dtype=np.int64) + offset, counts)
    return rows, ids.astype(np.int64), values


# -- equal rows --------------------------------------------------------------------------------
def equal_pairs(keys: np.ndarray, *, first_query: int = 0) -> Pairs:
    """Rows with identical bytes, as star edges (first member to each other member)."""
    keys = np.ascontiguousarray(keys)
    if len(keys) < 2:
        return Pairs.empty()
    flat = keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()
    _, inverse = np.unique(flat, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sorted_ids = inverse[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    heads = np.repeat(order[starts], sizes)
    # a group counts when it holds at least one queried row
    queried = np.maximum.reduceat((order >= first_query).astype(np.int8), starts)
    keep = (heads != order) & np.repeat(queried.astype(bool), sizes)
    i, j = heads[keep], order[keep]
    return Pairs(np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64),
                 np.zeros(int(keep.sum()), np.float32)).normalised(higher_is_closer=False)


# -- Hamming distance --------------------------------------------------------------------------
def _mih_layout(nbits: int, n: int, max_distance: int) -> tuple[int, int, int]:
    """(sub-codes m, bits per sub-code b, flips per sub-code) for multi-index hashing:
    sub-codes about log2(n) bits long so buckets hold about one code each."""
    bits = max(8, min(32, int(math.log2(max(n, 2)))))
    m = max(1, nbits // bits)
    return m, nbits // m, max_distance // m


def choose_hamming_strategy(nbits: int, n: int, max_distance: int) -> str:
    """'mih' when few sub-code flips are needed (small radius for the code length), else 'flat'.

    Measured in benchmarks/bench_dedup_search.py: multi-index hashing wins only while each
    sub-code needs at most one flipped bit; beyond that the exhaustive popcount scan is faster.
    """
    if n < 20_000:
        return "flat"
    _, _, flips = _mih_layout(nbits, n, max_distance)
    return "mih" if flips <= 1 else "flat"


def _binary_index(nbits: int, n: int, max_distance: int, strategy: str):
    if strategy == "mih":
        m, b, flips = _mih_layout(nbits, n, max_distance)
        index = faiss.IndexBinaryMultiHash(nbits, m, b)
        index.nflip = flips
        return index
    return faiss.IndexBinaryFlat(nbits)


def hamming_pairs(codes: np.ndarray, max_distance: int, *, variants: np.ndarray | None = None,
                  indexed: np.ndarray | None = None, first_query: int = 0,
                  strategy: str = "auto", block: int = BLOCK) -> Pairs:
    """Pairs of packed bit codes (uint8, n x nbytes) within `max_distance` bits.

    `variants` (k x n x nbytes), when given, are extra query codes per row, such as the hashes
    of a row's mirrored and rotated image; `indexed` (k x n x nbytes) are extra codes per row
    that are searched as well as queried (a centre crop's hash). A pair's distance is the
    smallest over every query code of one row against every indexed code of the other.
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    n, nbytes = codes.shape
    nbits = nbytes * 8
    if n < 2:
        return Pairs.empty()
    extra = [np.ascontiguousarray(e, dtype=np.uint8) for e in indexed] if indexed is not None \
        else []
    if strategy == "auto":
        strategy = choose_hamming_strategy(nbits, n * (1 + len(extra)), max_distance)
    index = _binary_index(nbits, n * (1 + len(extra)), max_distance, strategy)
    queries = [codes] + ([np.ascontiguousarray(v, dtype=np.uint8) for v in variants]
                         if variants is not None else [])
    owners: list[np.ndarray] = []      # faiss id -> row (ids follow the order codes are added)
    found = []
    for start, stop, query in _blocks(n, first_query, block):
        for part in [codes] + extra:
            index.add(part[start:stop])
            owners.append(np.arange(start, stop, dtype=np.int64))
        if not query:
            continue
        owner = np.concatenate(owners) if len(owners) > 1 else owners[0]
        for q in queries:
            lims, dist, ids = index.range_search(q[start:stop], max_distance + 1)  # radius is exclusive
            rows, cols, dist = _range_results(lims, dist, ids, start)
            found.append(Pairs(rows, owner[cols], dist.astype(np.float32)))
    return Pairs.concat(found).normalised(higher_is_closer=False)


# -- cosine similarity -------------------------------------------------------------------------
def _float_index(dim: int, n: int, embeddings: np.ndarray, strategy: str):
    if strategy == "ivf":
        nlist = int(max(16, min(65_536, 4 * math.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = embeddings[rng.choice(n, size=min(n, nlist * 40), replace=False)]
        index.train(np.ascontiguousarray(sample))
        index.nprobe = IVF_NPROBE
        return index
    return faiss.IndexFlatIP(dim)


def cosine_pairs(embeddings: np.ndarray, min_similarity: float, *, first_query: int = 0,
                 strategy: str = "auto", block: int = 8_192) -> Pairs:
    """Pairs of L2-normalised float rows with cosine similarity >= `min_similarity`.

    'exact' scans blocked inner products (BLAS); 'ivf' (the default beyond `IVF_MIN_ITEMS`)
    probes the `IVF_NPROBE` nearest of about 4 sqrt(n) clusters, so a pair whose members fall
    in far-apart clusters can be missed; near-duplicates almost never do.
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n, dim = emb.shape
    if n < 2:
        return Pairs.empty()
    if strategy == "auto":
        strategy = "ivf" if n > IVF_MIN_ITEMS else "exact"
    index = _float_index(dim, n, emb, strategy)
    found = []
    for start, stop, query in _blocks(n, first_query, block):
        index.add(emb[start:stop])
        if not query:
            continue
        # faiss keeps inner products strictly above the radius
        lims, sims, ids = index.range_search(emb[start:stop], np.nextafter(min_similarity, -1))
        rows, cols, sims = _range_results(lims, sims, ids, start)
        found.append(Pairs(rows, cols, np.minimum(sims, 1.0).astype(np.float32)))
    return Pairs.concat(found).normalised(higher_is_closer=True)
