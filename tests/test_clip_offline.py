"""`--verify clip` (and `--method clip`) without weights offline: the clear error at once,
before any image is read and before open_clip would spend a minute on download retries."""
from __future__ import annotations

import shutil

import pytest

from dataset_forge.dedup import clip_weights
from dataset_forge.errors import UsageError

REPO_ID = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"   # where open_clip gets ViT-B-32's default tag


@pytest.mark.parametrize("flags", [["--method", "phash", "--verify", "clip"],
                                   ["--method", "clip"]], ids=["verify", "method"])
def test_dedup_with_clip_offline_and_no_cached_weights_fails_at_once(run_cli, tmp_path,
                                                                      make_image, flags):
    photo = make_image(tmp_path / "in" / "a.png", seed=1)
    shutil.copy(photo, tmp_path / "in" / "a_copy.png")   # a candidate pair: clip is needed
    empty = tmp_path / "empty-home"
    empty.mkdir()
    result = run_cli("--action", "dedup", "--input", tmp_path / "in", *flags,
                     "--report-dir", tmp_path / "rep",
                     env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(empty), "HOME": str(empty)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: CLIP weights 'laion2b_s34b_b79k' for ViT-B-32 could not be loaded (not in the "
        "local caches and HF_HUB_OFFLINE is set)")
    assert "--clip-weights FILE" in lines[0] and "--method phash" in lines[0]
    assert not (tmp_path / "rep").exists()          # refused before any work


def test_weights_in_the_hub_cache_pass_the_check_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants
    snapshot = tmp_path / f"models--{REPO_ID.replace('/', '--')}" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(UsageError, match="HF_HUB_OFFLINE is set"):
        clip_weights.check("ViT-B-32", "laion2b_s34b_b79k")
    (snapshot / "open_clip_pytorch_model.bin").write_bytes(b"weights")
    clip_weights.check("ViT-B-32", "laion2b_s34b_b79k")          # found: no error
    clip_weights.check("ViT-B-32", str(snapshot / "open_clip_pytorch_model.bin"))   # a file
    clip_weights.check("no-such-model", "no-such-tag")           # unknown: open_clip decides


def test_open_clips_table_is_read_without_importing_it():
    import sys
    had_torch = "torch" in sys.modules
    assert clip_weights.source("ViT-B-32", "laion2b_s34b_b79k") == {"hf_hub": REPO_ID + "/"}
    assert clip_weights.source("RN50", "openai")["url"].endswith("/RN50.pt")
    assert ("torch" in sys.modules) == had_torch
