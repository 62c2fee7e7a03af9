"""Dedup's hash pass through the real CLI: what it stores in the feature cache is exactly what
the verifier computes from the decoded picture (signatures are packed losslessly), in every
file format the pass decodes in its own way."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.dedup import aligned, signatures
from dataset_forge.dedup.appearance import hashing_rgb

from test_dedup_cli import FAST


@pytest.fixture
def formats(tmp_path, make_image) -> Path:
    """One picture per decode path: large and small PNG (RGB, RGBA with real transparency,
    palette), JPEG, WebP."""
    root = tmp_path / "in"
    make_image(root / "big.png", size=(420, 300), seed=1)
    make_image(root / "small.png", size=(150, 100), seed=2)
    make_image(root / "photo.jpg", size=(500, 380), seed=3, quality=85)
    make_image(root / "wall.webp", size=(400, 400), seed=4, quality=80)
    make_image(root / "palette.png", size=(300, 220), seed=5, mode="P")
    rgba = Image.open(make_image(root / "alpha.png", size=(260, 200), seed=6)).convert("RGBA")
    alpha = np.full((200, 260), 255, np.uint8)
    alpha[40:120, 60:200] = 0
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(root / "alpha.png")
    return root


def _stored(cache: Path, key: str) -> dict[str, bytes]:
    with sqlite3.connect(cache) as db:
        return {Path(p).name: v for p, v in
                db.execute("SELECT path, value FROM features WHERE method = ?", (key,))}


def test_stored_signatures_are_the_verifiers_own_pixels(run_cli, formats, tmp_path):
    cache = tmp_path / "features.sqlite"
    result = run_cli("--action", "dedup", "--input", formats, "--cache", cache, "--output",
                     tmp_path / "r", "--json", *FAST)
    assert result.returncode == 0, result
    stored = _stored(cache, signatures.SIGNATURE_KEY)
    assert sorted(stored) == sorted(p.name for p in formats.iterdir())
    for name, blob in stored.items():
        want = aligned.signature(hashing_rgb(formats / name, aligned.SOURCE_SIDE))
        got = signatures.unpack(blob)
        assert got.dtype == np.uint8 and got.shape == want.shape, name
        assert np.array_equal(got, want), name
        assert signatures.signature_size(blob) == (want.shape[1], want.shape[0])


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (7, 5, 3), (192, 130, 3)])
def test_pack_round_trips_any_bytes(shape):
    sig = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(signatures.unpack(signatures.pack(sig)), sig)
