"""CLIP and LPIPS tiers with weights the test writes itself (none can be downloaded here).

Runs the real loading code: open_clip reads a model-config JSON and a local weights file;
lpips gets its backbone from a local state dict. The torchvision import shim makes both import
on a CPU-only torch.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

torch = pytest.importorskip("torch")

TINY_CLIP = {"embed_dim": 32,
             "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "patch_size": 16},
             "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 32, "heads": 2,
                          "layers": 1}}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    from dataset_forge.dedup.clip import RANDOM_WEIGHTS, load_model
    from dataset_forge.dedup.lpips_verify import load_lpips
    root = tmp_path_factory.mktemp("weights")
    config = root / "tiny_clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(0)
    net, _ = load_model(str(config), RANDOM_WEIGHTS, "cpu")
    torch.save(net.state_dict(), root / "tiny_clip.pt")
    model = load_lpips("alex", RANDOM_WEIGHTS, "cpu")
    features = {f"features.{k.split('.', 1)[1]}": v for k, v in model.net.state_dict().items()}
    torch.save(features, root / "alexnet_features.pt")
    return {"config": config, "clip": root / "tiny_clip.pt", "lpips": root / "alexnet_features.pt"}


@pytest.fixture
def photos(tmp_path, make_image) -> Path:
    root = tmp_path / "photos"
    a = make_image(root / "a.png", size=(96, 72), seed=1)
    shutil.copy(a, root / "a_copy.png")
    Image.open(a).resize((48, 36)).save(root / "a_small.png")
    make_image(root / "b.png", size=(96, 72), seed=2)
    return root


def run(tmp_path: Path, *args: str):
    from dataset_forge.cli import main
    from dataset_forge.dedup.plan import read_plan
    code = main(["--action", "dedup", "--processing-type", "thread", "--cache", "off",
                 "--output", str(tmp_path / "r"), *map(str, args)])
    assert code == 0
    return read_plan(tmp_path / "r" / "dedup_groups.json")


def test_clip_method_with_local_weights_file(tmp_path, photos, weights):
    data = run(tmp_path, "--input", photos, "--method", "clip", "--clip-model", weights["config"],
               "--clip-weights", weights["clip"], "--threshold", "0.9999")
    files = [{m.path for m in g.members} for g in data.groups]
    assert {"a.png", "a_copy.png"} in [f & {"a.png", "a_copy.png"} for f in files]
    assert data.meta["metric"] == "cosine similarity"
    assert all(p[2] >= 0.9999 for g in data.groups for p in g.pairs)


@pytest.mark.parametrize("verify,bound", [("clip", "0.9999"), ("lpips", "0.0001")])
def test_hash_candidates_confirmed_by_second_tier(tmp_path, photos, weights, verify, bound):
    data = run(tmp_path, "--input", photos, "--method", "phash", "--threshold", "12",
               "--verify", verify, "--verify-threshold", bound,
               "--clip-model", weights["config"], "--clip-weights", weights["clip"],
               "--lpips-weights", weights["lpips"])
    pairs = [({g.members[a].path, g.members[b].path}, v) for g in data.groups
             for a, b, _, v in g.pairs]
    assert any(names == {"a.png", "a_copy.png"} for names, _ in pairs)
    for _, v in pairs:   # every reported pair passed the verifier's bound
        assert (v >= 0.9999) if verify == "clip" else (v <= 0.0001)


def test_missing_weights_say_what_to_do():
    from dataset_forge.dedup.lpips_verify import load_lpips
    from dataset_forge.errors import UsageError
    with pytest.raises(UsageError, match="--lpips-weights"):
        load_lpips("alex", "/nonexistent/weights.pt", "cpu")
