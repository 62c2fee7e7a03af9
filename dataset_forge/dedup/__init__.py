"""Deduplication engine: methods with the same two verbs (encode, find pairs), a scalable pair
search, groups and keep policies, a feature cache, file operations with undo, outputs.

    method.py files    exact.py (bytes, pixels) · perceptual.py (phash, dhash, ahash, whash)
                       clip.py (open_clip embeddings) · lpips_verify.py (verifier only)
    search             index.py: equal_pairs, hamming_pairs, cosine_pairs -> Pairs
    verification       aligned.py (weight-free, the default) · lpips_verify.py · clip.py
    grouping           groups.py: keeper_groups, absorb, choose_keep (keep policies)
    the plan           plan.py (typed record: write_plan, read_plan) · planning.py (build_plan)
    files              catalog.py (what is scanned, protected) · fileops.py (move/copy/link/trash)
    caching            cache.py (SQLite) · features.py (encode_all: cache + method)
    outputs            outputs.py (CSV, HTML) · evaluate.py (precision/recall vs truth)
    torch_compat.py    makes torchvision import on CPU-only torch (open_clip and lpips need it)

The `dedup` action (dataset_forge/actions/dedup.py) puts these together.
"""
