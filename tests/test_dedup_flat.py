"""Transparent overlays and flat images: the false positive a trial found (two different white
overlays both hashed as a blank white page), flatness, tie-breaking, the dry-run note."""
from __future__ import annotations

import numpy as np
from PIL import Image

from dataset_forge.dedup.appearance import hashing_view
from dataset_forge.dedup.groups import choose_keep
from dataset_forge.dedup.plan import PlanMember, read_plan
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


def test_flatness_is_measured_where_the_hash_is(tmp_path):
    """Flat = low-frequency coefficients at rounding-noise level. A faint but real texture (a
    normal map: luma deviation about 6 at full size, under 2 once reduced) is not flat."""
    rng = np.random.default_rng(0)
    Image.new("RGB", (64, 64), (40, 90, 200)).save(tmp_path / "solid.png")
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    noise = np.clip(128 + rng.normal(0, 0.5, (64, 64)), 0, 255)
    Image.fromarray(noise.astype(np.uint8)).save(tmp_path / "faint.png")
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    fine = rng.normal(0, 6.0, (512, 512)) + 3 * np.sin(np.arange(512) / 40)[None, :]
    normal_map = np.stack([128 + fine, 128 + fine.T, np.full_like(fine, 255)], axis=-1)
    Image.fromarray(np.clip(normal_map, 0, 255).astype(np.uint8)).save(tmp_path / "moon.png")
    names = ("solid", "clear", "faint", "ramp", "moon")
    flat = {n: hashing_view(tmp_path / f"{n}.png", 128)[1] for n in names}
    assert flat == {"solid": True, "clear": True, "faint": True, "ramp": False, "moon": False}
    reduced = np.asarray(Image.open(tmp_path / "moon.png").convert("L").resize((128, 128)))
    assert reduced.std() < 2.0                  # the old rule (luma std < 2) excluded it


def test_resolution_ties_keep_the_original_name():
    members = [PlanMember("photo_c_flipped.jpg", "/a", 4943, 0, 192, 144),
               PlanMember("photo_c.jpg", "/b", 4921, 0, 192, 144),
               PlanMember("photo_c_resized.jpg", "/c", 4714, 0, 184, 138)]
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
    groups = read_plan(tmp_path / "out" / "dedup_groups.json").groups
    found = sorted(sorted(m.path for m in g.members) for g in groups)
    assert found == [["blank_dark.png", "blank_dark_copy.bmp"], ["cut.png", "cut_small.png"]]
    assert report["summary"]["too_flat"] == 3
    flat_csv = (tmp_path / "out" / "dedup_flat.csv").read_text().split()
    assert sorted(flat_csv[1:]) == ["blank_dark.png", "blank_dark_copy.bmp", "blank_white.png"]
    assert report["summary"]["next_step"].startswith("dry run: 2 file(s) would be moved")
    assert "--apply" in report["summary"]["next_step"]
    assert not (tmp_path / "dupes").exists()
