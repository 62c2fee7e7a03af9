"""Cutting a subset's samples into shards: the unit of parallel work, journaling and resume.

Shards close at a target size in bytes (file bytes as stored) or a sample count, whichever comes
first. The plan depends only on the samples, their sizes and the options, so a rerun of the same
command makes the same shards and skips the ones already journaled; `plan_digest` goes into the
journal's fingerprint, so a changed input starts over instead of trusting old shards.
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from typing import Iterable

from .inputs import Sample


@dataclass(frozen=True)
class Shard:
    index: int
    samples: tuple[Sample, ...]
    bytes: int

    @property
    def name(self) -> str:
        return f"{self.index:06d}"

    def __str__(self) -> str:
        """How a failed shard is named in reports."""
        first = self.samples[0].files[0][1] if self.samples else "-"
        return f"shard {self.name} ({len(self.samples)} samples from {first})"


def sample_bytes(sample: Sample) -> int:
    total = 0
    for _role, path in sample.files:
        try:
            total += os.stat(path).st_size
        except OSError:
            pass  # unreadable: the worker reports it
    return total


def plan_shards(samples: Iterable[Sample], *, max_bytes: int, max_samples: int = 0,
                shuffle_seed: int | None = None) -> tuple[list[Shard], str]:
    """Shards in order and a digest of the plan (keys, sizes, cut points)."""
    samples = list(samples)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(samples)
    digest = hashlib.sha256()
    shards: list[Shard] = []
    current: list[Sample] = []
    size = 0
    for sample in samples:
        n = sample_bytes(sample)
        if current and (size + n > max_bytes or (max_samples and len(current) >= max_samples)):
            shards.append(Shard(len(shards), tuple(current), size))
            current, size = [], 0
            digest.update(b"|")
        current.append(sample)
        size += n
        digest.update(f"{sample.key}\0{n}\0".encode())
    if current:
        shards.append(Shard(len(shards), tuple(current), size))
    return shards, digest.hexdigest()[:16]
