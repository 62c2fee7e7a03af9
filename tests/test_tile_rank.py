"""`tile --best/--min-score` by the gradient ranking and by IC9600's learned complexity, with an
ICNet checkpoint the test writes (random weights: the test checks that the action keeps what
the network ranks highest, not what a trained network would think)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def half_flat(path: Path, size: int = 128) -> Path:
    """Two tiles of `size`: flat grey on the left, noise on the right."""
    rng = np.random.default_rng(3)
    a = np.full((size, 2 * size, 3), 128, np.uint8)
    a[:, size:] = (rng.random((size, size, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)
    return path


def kept(out: Path) -> list[list[int]]:
    log = [json.loads(line) for line in (out / "tile_log.jsonl").read_text().splitlines()]
    return [t["box"] for t in log[0]["tiles"]]


def test_gradient_min_score_drops_flat_tiles(tmp_path, run_cli):
    half_flat(tmp_path / "in" / "a.png", 64)
    r = run_cli("--action", "tile", "--input", tmp_path / "in", "--output", tmp_path / "o",
                "--tile-size", "64", "--min-score", "1", "--report-dir", tmp_path / "r")
    assert r.returncode == 0, r
    assert kept(tmp_path / "o") == [[64, 0, 128, 64]]
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["a_y0_x64.png"]


def test_ic9600_ranking_keeps_what_the_network_scores_highest(tmp_path, run_cli):
    torch = pytest.importorskip("torch")
    from dataset_forge.models.icnet import build_icnet, tile_complexity
    torch.manual_seed(0)
    weights = tmp_path / "ck.pth"
    state = build_icnet().state_dict()
    state["head.2.weight"] *= 300           # spread the random network's scores apart
    torch.save(state, weights)
    src = half_flat(tmp_path / "in" / "a.png")
    img = Image.open(src)
    boxes = [[0, 0, 128, 128], [128, 0, 256, 128]]
    scores = tile_complexity([img.crop(b) for b in boxes], weights)
    best = boxes[int(np.argmax(scores))]
    assert abs(scores[0] - scores[1]) > 2e-3, scores
    r = run_cli("--action", "tile", "--input", tmp_path / "in", "--output", tmp_path / "o",
                "--tile-size", "128", "--rank", "ic9600", "--ic9600-weights", weights,
                "--best", "1", "--report-dir", tmp_path / "r")
    assert r.returncode == 0, r
    assert kept(tmp_path / "o") == [best]
    log = json.loads((tmp_path / "o" / "tile_log.jsonl").read_text().splitlines()[0])
    assert abs(log["tiles"][0]["complexity"] - max(scores)) < 1e-3
    r = run_cli("--action", "tile", "--input", tmp_path / "in", "--output", tmp_path / "o2",
                "--tile-size", "128", "--rank", "ic9600", "--ic9600-weights", weights,
                "--min-score", f"{sum(scores) / 2:.5f}", "--report-dir", tmp_path / "r2")
    assert r.returncode == 0 and kept(tmp_path / "o2") == [best], r


def test_ic9600_without_weights_is_one_line(tmp_path, run_cli):
    pytest.importorskip("torch")
    half_flat(tmp_path / "in" / "a.png", 64)
    for extra, words in [([], "--ic9600-weights FILE"),
                         (["--ic9600-weights", tmp_path / "in" / "a.png"], "not an IC9600")]:
        r = run_cli("--action", "tile", "--input", tmp_path / "in", "--output", tmp_path / "o",
                    "--tile-size", "64", "--rank", "ic9600", *extra,
                    "--report-dir", tmp_path / "r")
        assert r.returncode == 2 and words in r.stderr, r
        assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
