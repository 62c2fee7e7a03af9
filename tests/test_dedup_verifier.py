"""The weight-free verifier's decision (issue 11): a recoloured design is another picture, a
brightened (clipped) or watermarked copy is the same one. Generated pictures with real texture,
scored by the verifier and grouped by the real CLI."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from dataset_forge.dedup.aligned import (DEFAULT_MIN_SCORE, score_pair, score_signatures,
                                         signature)
from dataset_forge.dedup.copies import watermark
from lookalikes import brighten, colour_design, light_picture, recolour, star_field

FAST = ("--processing-type", "thread", "--workers", "2", "--cache", "off")


def test_recoloured_designs_and_grey_copies_are_other_pictures(tmp_path):
    """Same luma, other hues: the grey pictures correlate perfectly, the colours do not."""
    design = colour_design(3)
    design.save(tmp_path / "a.png")
    for name, im in (("hue60", recolour(design, 60)), ("hue120", recolour(design, 120)),
                     ("grey", design.convert("L").convert("RGB"))):
        im.save(tmp_path / f"{name}.png")
        assert score_pair((tmp_path / "a.png", tmp_path / f"{name}.png")) == 0.0, name
    brighter = brighten(design)                 # chroma scaled, not turned: the same colouring
    brighter.save(tmp_path / "bright.jpg", quality=95)
    assert score_pair((tmp_path / "a.png", tmp_path / "bright.jpg")) >= DEFAULT_MIN_SCORE


def test_brightened_clipped_and_watermarked_copies_are_confirmed(tmp_path):
    light = light_picture(5)
    light.save(tmp_path / "a.png")
    brighten(light).save(tmp_path / "bright.jpg", quality=95)   # most of it clips to white
    watermark(light).save(tmp_path / "mark.jpg", quality=95)
    for copy in ("bright.jpg", "mark.jpg"):
        assert score_pair((tmp_path / "a.png", tmp_path / copy)) >= DEFAULT_MIN_SCORE, copy
        assert score_pair((tmp_path / copy, tmp_path / "a.png")) >= DEFAULT_MIN_SCORE, copy
    other = light_picture(6)                    # a different light picture stays apart
    other.save(tmp_path / "other.png")
    brighten(other).save(tmp_path / "other_bright.jpg", quality=95)
    assert score_pair((tmp_path / "a.png", tmp_path / "other_bright.jpg")) < 0.5


def test_a_grey_only_signature_is_compared_as_a_picture_without_colour(tmp_path):
    """A 2-D (grey only) signature still scores: it counts as a picture without colour."""
    sky = star_field(2)
    assert score_signatures(signature(sky)[..., 0], signature(sky)) >= DEFAULT_MIN_SCORE
    design = colour_design(3)
    assert score_signatures(signature(design)[..., 0], signature(design)) == 0.0


def test_dedup_groups_tonal_edits_and_watermarks_but_not_recolourings(run_cli, tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    design, light = colour_design(7), light_picture(8)
    design.save(root / "design.png")
    recolour(design, 120).save(root / "design_teal.png")
    recolour(design, 240).save(root / "design_violet.png")
    brighten(design).save(root / "design_bright.jpg", quality=95)
    watermark(design).save(root / "design_mark.jpg", quality=95)
    light.save(root / "light.png")
    brighten(light).save(root / "light_bright.jpg", quality=95)
    watermark(light).save(root / "light_mark.jpg", quality=95)
    out = tmp_path / "report"
    result = run_cli("--action", "dedup", "--input", root, "--output", out, *FAST)
    assert result.returncode == 0, result
    plan = json.loads((out / "dedup_groups.json").read_text())
    groups = sorted(sorted(m["path"] for m in g["members"]) for g in plan["groups"])
    assert groups == [["design.png", "design_bright.jpg", "design_mark.jpg"],
                      ["light.png", "light_bright.jpg", "light_mark.jpg"]], groups
    related = {frozenset((r["a"], r["b"])) for r in plan["related"]}
    assert not any({"design_teal.png", "design_violet.png"} & pair for pair in related)
    assert Image.open(root / "design_teal.png").size == design.size     # inputs untouched


def test_the_aspect_check_before_dispatch_agrees_with_the_verifiers_own():
    """verifying.py scores 0 without a worker the pairs `aspects_can_match` shuts out: it must
    shut out exactly those `compare_views` would call 'aspect'."""
    from dataset_forge.dedup.aligned import aspects_can_match, compare_views, signature, View
    rng = np.random.default_rng(3)
    pictures = {size: Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), np.uint8))
                for size in [(192, 128), (128, 192), (192, 192), (192, 124), (192, 96)]}
    for a in pictures.values():
        for b in pictures.values():
            sa, sb = signature(a), signature(b)
            shape = lambda s: (s.shape[1], s.shape[0])   # noqa: E731
            _, how = compare_views(View.of(sa), View.of(sb))
            assert aspects_can_match(shape(sa), shape(sb)) == (how != "aspect"), (a.size, b.size)
