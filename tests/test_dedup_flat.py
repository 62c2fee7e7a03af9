"""Transparent overlays and flat images: the false positive a trial found (two different white
overlays both hashed as a blank white page), flatness, tie-breaking, the dry-run note."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from dataset_forge.dedup.appearance import FLAT_LUMA_STD, hashing_view
from dataset_forge.dedup.groups import Member, choose_keep
from dataset_forge.dedup.perceptual import PerceptualHash, flat_mask, hash_image


def overlay(path, seed: int, size=(96, 72)):
    """A white picture whose only content is its alpha: flattened onto white it is blank."""
    rng = np.random.default_rng(seed)
    alpha = rng.integers(0, 256, (size[1] // 8, size[0] // 8), dtype=np.uint8)
    alpha = np.asarray(Image.fromarray(alpha).resize(size, Image.Resampling.BICUBIC))
    rgba = np.dstack([np.full((size[1], size[0], 3), 255, np.uint8), alpha])
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def test_white_overlays_flatten_alike_but_hash_apart(tmp_path):
    from dataset_forge.io import load_rgb
    a, b = overlay(tmp_path / "a.png", 1), overlay(tmp_path / "b.png", 2)
    assert np.asarray(load_rgb(a)).min() == 255 == np.asarray(load_rgb(b)).min()  # the trap
    method = PerceptualHash("phash", 8, None, invariant=True)
    feats = np.stack([hash_image(p, "phash", 8, True) for p in (a, b)])
    assert not flat_mask(feats).any()
    assert len(method.find_pairs(feats)) == 0


def test_flatness_threshold(tmp_path):
    Image.new("RGB", (64, 64), (40, 90, 200)).save(tmp_path / "solid.png")
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    noise = np.clip(128 + np.random.default_rng(0).normal(0, FLAT_LUMA_STD / 4, (64, 64)), 0, 255)
    Image.fromarray(noise.astype(np.uint8)).save(tmp_path / "faint.png")
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    flat = {n: hashing_view(tmp_path / f"{n}.png", 128)[1] for n in ("solid", "clear", "faint", "ramp")}
    assert flat == {"solid": True, "clear": True, "faint": True, "ramp": False}


def test_resolution_ties_keep_the_original_name():
    members = [Member("photo_c_flipped.jpg", 4943, 0, 192, 144),
               Member("photo_c.jpg", 4921, 0, 192, 144),
               Member("photo_c_resized.jpg", 4714, 0, 184, 138)]
    assert choose_keep(members, "resolution") == [1]
    members[1].bytes = 3000                     # clearly smaller: the larger file wins
    assert choose_keep(members, "resolution") == [0]


def test_cli_overlays_flat_images_and_alpha_near_duplicates(run_cli, tmp_path, make_image):
    data = tmp_path / "photos"
    data.mkdir()
    overlay(data / "overlay_a.png", 1)
    overlay(data / "overlay_b.png", 2)
    Image.new("RGB", (64, 64), (250, 250, 250)).save(data / "blank_white.png")
    Image.new("RGB", (64, 64), (30, 30, 30)).save(data / "blank_dark.png")
    Image.new("RGB", (64, 64), (30, 30, 30)).save(data / "blank_dark_copy.bmp")
    photo = np.asarray(Image.open(make_image(tmp_path / "p.png", size=(96, 72), seed=5)))
    alpha = np.full(photo.shape[:2], 255, np.uint8)
    alpha[:, :20] = 0                           # a real transparent margin
    Image.fromarray(np.dstack([photo, alpha]), "RGBA").save(data / "cut.png")
    Image.fromarray(np.dstack([photo, alpha]), "RGBA").resize((80, 60)).save(data / "cut_small.png")
    result = run_cli("--action", "dedup", "--input", data, "--mode", "move", "--dest",
                     tmp_path / "dupes", "--output", tmp_path / "out", "--cache", "off", "--json")
    assert result.returncode == 0, result
    report = result.json()
    groups = json.loads((tmp_path / "out" / "dedup_groups.json").read_text())["groups"]
    found = sorted(sorted(m["path"] for m in g["members"]) for g in groups)
    assert found == [["blank_dark.png", "blank_dark_copy.bmp"], ["cut.png", "cut_small.png"]]
    assert report["summary"]["too_flat"] == 3
    flat_csv = (tmp_path / "out" / "dedup_flat.csv").read_text().split()
    assert sorted(flat_csv[1:]) == ["blank_dark.png", "blank_dark_copy.bmp", "blank_white.png"]
    assert report["summary"]["next_step"].startswith("dry run: 2 file(s) would be moved")
    assert "--apply" in report["summary"]["next_step"]
    assert not (tmp_path / "dupes").exists()
