"""Pair search alone, on synthetic data: time and peak memory at 100,000 and 1,000,000 items.

    .venv/bin/python benchmarks/bench_dedup_search.py [--sizes 100000 1000000] [--dims 512]

Hashes: uniform random 64-bit codes (the worst case for multi-index hashing) with 1% planted
near-duplicates (a few flipped bits). Embeddings: random unit vectors (dim 512, CLIP ViT-B-32's
size) with 1% planted near-duplicates (small noise). Each configuration runs in a fresh child
process so its peak RSS is its own. Recall of the planted pairs is printed beside the time.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time

import numpy as np


def planted_codes(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 8), dtype=np.uint8)
    k = n // 100
    src = rng.choice(n // 2, k, replace=False)
    dst = n // 2 + np.arange(k)
    flips = np.zeros((k, 64), np.uint8)
    for row, nbits in enumerate(rng.integers(0, 5, k)):
        flips[row, rng.choice(64, nbits, replace=False)] = 1
    codes[dst] = codes[src] ^ np.packbits(flips, axis=1)
    return codes, set(zip(src.tolist(), dst.tolist()))


def planted_embeddings(n: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    k = n // 100
    src = rng.choice(n // 2, k, replace=False)
    dst = n // 2 + np.arange(k)
    emb[dst] = emb[src] + 0.1 * rng.standard_normal((k, dim), dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, set(zip(src.tolist(), dst.tolist()))


def job(kind: str, n: int, param: float, strategy: str, dim: int, queue) -> None:
    from dataset_forge.dedup.index import cosine_pairs, hamming_pairs
    if kind == "hamming":
        data, truth = planted_codes(n)
        t0 = time.perf_counter()
        pairs = hamming_pairs(data, int(param), strategy=strategy)
    else:
        data, truth = planted_embeddings(n, dim)
        t0 = time.perf_counter()
        pairs = cosine_pairs(data, param, strategy=strategy)
    elapsed = time.perf_counter() - t0
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    queue.put({"kind": kind, "n": n, "param": param, "strategy": strategy, "seconds": elapsed,
               "pairs": len(pairs), "recall_planted": len(found & truth) / len(truth),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "data_mb": data.nbytes / 2**20})


def run(kind, n, param, strategy, dim, timeout):
    ctx = mp.get_context("forkserver")
    queue = ctx.Queue()
    proc = ctx.Process(target=job, args=(kind, n, param, strategy, dim, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return {"kind": kind, "n": n, "param": param, "strategy": strategy,
                "seconds": f">{timeout}", "pairs": "", "recall_planted": "", "peak_rss_mb": ""}
    return queue.get() if not queue.empty() else {"kind": kind, "n": n, "error": proc.exitcode}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--dims", type=int, default=512)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--only", default="", help="comma-separated kind:param:strategy, e.g. "
                    "hamming:4:mih,cosine:0.9:ivf (default: all five)")
    args = ap.parse_args()
    configs = [("hamming", 4, "mih"), ("hamming", 4, "flat"), ("hamming", 10, "flat"),
               ("cosine", 0.9, "exact"), ("cosine", 0.9, "ivf")]
    if args.only:
        configs = [(k, float(p) if k == "cosine" else int(p), s)
                   for k, p, s in (c.split(":") for c in args.only.split(","))]
    print(f"{'kind':8} {'n':>9} {'param':>5} {'strategy':8} {'seconds':>9} {'pairs':>8} "
          f"{'recall':>7} {'peakMB':>8}", flush=True)
    for n in args.sizes:
        for kind, param, strategy in configs:
            r = run(kind, n, param, strategy, args.dims, args.timeout)
            sec = r["seconds"] if isinstance(r["seconds"], str) else f"{r['seconds']:.1f}"
            rec = r["recall_planted"] if isinstance(r["recall_planted"], str) else f"{r['recall_planted']:.4f}"
            mb = r["peak_rss_mb"] if isinstance(r["peak_rss_mb"], str) else f"{r['peak_rss_mb']:.0f}"
            print(f"{kind:8} {n:>9} {param:>5} {strategy:8} {sec:>9} {r['pairs']!s:>8} {rec:>7} "
                  f"{mb:>8}", flush=True)
            print("JSON " + json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
