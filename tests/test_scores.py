"""Learned and statistical scores: NIQE (no extra, no weights), IC9600 from a checkpoint file the
test writes, a pyiqa metric with random weights saved by the test; batches halving on a forced
small memory budget; score.csv, flag rules, quarantine and validate through the real CLI; and
the one-line errors for missing weights and missing extras."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from dataset_forge.context import RunContext
from dataset_forge.models.niqe import load_pristine, niqe
from dataset_forge.models.scores import load_scorers, score_paths
from dataset_forge.parallel import ParallelConfig


def natural(size: int = 192, seed: int = 0) -> Image.Image:
    """A grey picture with a natural 1/f amplitude spectrum: NIQE finds it clean."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)[:, None] ** 2 + np.fft.fftfreq(size)[None, :] ** 2
    f[0, 0] = 1
    a = np.real(np.fft.ifft2((rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size)))
                             / f))
    return Image.fromarray(((a - a.min()) / (a.max() - a.min()) * 255).astype(np.uint8))


def noisy(img: Image.Image, sigma: float = 15) -> Image.Image:
    a = np.asarray(img, float) + np.random.default_rng(9).normal(0, sigma, img.size[::-1])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


@pytest.fixture
def graded(tmp_path) -> Path:
    """clean.png, blurred.png, noisy.png (RGB)."""
    root = tmp_path / "in"
    root.mkdir()
    clean = natural()
    clean.convert("RGB").save(root / "clean.png")
    clean.filter(ImageFilter.GaussianBlur(2)).convert("RGB").save(root / "blurred.png")
    noisy(clean).convert("RGB").save(root / "noisy.png")
    return root


def rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {r["path"]: r for r in csv.DictReader(fh)}


def test_niqe_scores_distortions_above_the_clean_picture():
    model = load_pristine()
    clean = natural()
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=5)
    score = {name: niqe(np.asarray(img, float), model) for name, img in [
        ("clean", clean), ("blur", clean.filter(ImageFilter.GaussianBlur(2))),
        ("jpeg", Image.open(buf)), ("noise", noisy(clean))]}
    assert score["clean"] < 8
    assert score["clean"] < score["blur"] < score["jpeg"] < score["noise"], score


def test_score_csv_flags_and_curation_rules(graded, tmp_path, run_cli):
    rep = tmp_path / "rep"
    r = run_cli("--action", "score", "--input", graded, "--flag", "niqe>20",
                "--report-dir", rep, "--batch-size", "2")
    assert r.returncode == 0, r
    table = rows(rep / "score.csv")
    assert set(table) == {"clean.png", "blurred.png", "noisy.png"}
    niqe_of = {k: float(v["niqe"]) for k, v in table.items()}
    assert niqe_of["clean.png"] < niqe_of["blurred.png"] < 20 < niqe_of["noisy.png"]
    report = json.loads((rep / "score_report.json").read_text())
    assert [(f["kind"], f["path"]) for f in report["findings"]] == [("niqe>20", "noisy.png")]
    # an earlier score run selects what it flagged ...
    r = run_cli("--action", "quarantine", "--input", graded, "--from-report",
                rep / "score_report.json", "--dest", tmp_path / "rejects", "--apply",
                "--report-dir", tmp_path / "q1")
    assert r.returncode == 0, r
    assert sorted(p.name for p in (tmp_path / "rejects").iterdir()
                  if p.suffix == ".png") == ["noisy.png"]
    # ... and its columns are --where fields: 'drop images with NIQE above x'
    r = run_cli("--action", "quarantine", "--input", graded, "--scores", rep / "score.csv",
                "--where", f"niqe>{(niqe_of['clean.png'] + niqe_of['blurred.png']) / 2:.3f}",
                "--mode", "copy", "--dest", tmp_path / "copies", "--apply",
                "--report-dir", tmp_path / "q2")
    assert r.returncode == 0, r
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()
                  if p.suffix == ".png") == ["blurred.png"]      # noisy.png was moved away
    r = run_cli("--action", "quarantine", "--input", graded, "--where", "niqe>3",
                "--dest", tmp_path / "x")
    assert r.returncode == 2 and "--scores score.csv" in r.stderr, r


def test_validate_scores_step_warns_by_the_rules(graded, tmp_path, run_cli):
    r = run_cli("--action", "validate", "--input", graded, "--score-metrics", "niqe",
                "--score-flags", "niqe>20", "--report-dir", tmp_path / "v")
    assert r.returncode == 0, r
    report = json.loads((tmp_path / "v" / "validate_report.json").read_text())
    step = next(f for f in report["findings"] if f["step"] == "scores")
    assert step["status"] == "warn" and step["counts"] == {"niqe>20": 1}, step
    assert step["examples"] == ["niqe>20: noisy.png"]
    r = run_cli("--action", "validate", "--input", graded, "--score-flags", "niqe>20",
                "--report-dir", tmp_path / "v2")
    assert r.returncode == 2 and "--score-metrics" in r.stderr, r


def test_batches_halve_on_a_small_memory_budget(graded, tmp_path):
    ctx = RunContext(ParallelConfig(device="cpu"), tmp_path)
    paths = sorted(graded.iterdir()) * 3
    (scorer,) = load_scorers(["niqe"], {}, "cpu")
    whole = [v["niqe"] for _, v in score_paths(ctx, paths, [scorer], batch_size=8)]
    seen, run = [], scorer.run

    def small_device(batch):              # a device that holds two images at a time
        seen.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return run(batch)

    scorer.run = small_device
    halved = [v["niqe"] for _, v in score_paths(ctx, paths, [scorer], batch_size=8)]
    assert halved == whole and len(whole) == 9
    assert seen[:3] == [8, 4, 2] and max(seen[3:]) <= 2


@pytest.fixture
def icnet_file(tmp_path):
    torch = pytest.importorskip("torch")
    from dataset_forge.models.icnet import build_icnet
    torch.manual_seed(0)
    path = tmp_path / "ck.pth"   # as saved from DataParallel, the way the authors' file is
    torch.save({f"module.{k}": v for k, v in build_icnet().state_dict().items()}, path)
    return path


def test_ic9600_scores_from_a_local_checkpoint(tmp_path, make_image, icnet_file, run_cli):
    from dataset_forge.io import load_rgb
    from dataset_forge.models.icnet import complexity_scores, load_icnet, prepare
    make_image(tmp_path / "in" / "0.png", size=(96, 80))     # NIQE: too small, an empty cell
    r = run_cli("--action", "score", "--input", tmp_path / "in", "--metrics", "niqe,ic9600",
                "--weights", f"ic9600={icnet_file}", "--report-dir", tmp_path / "rep")
    assert r.returncode == 0, r
    table = rows(tmp_path / "rep" / "score.csv")
    net = load_icnet(icnet_file)
    (direct,) = complexity_scores(net, [prepare(load_rgb(tmp_path / "in" / "0.png"))], "cpu")
    got = float(table["0.png"]["ic9600"])
    assert abs(got - direct) < 1e-3 and 0 < got < 1 and table["0.png"]["niqe"] == ""
    r = run_cli("--action", "score", "--input", tmp_path / "in", "--metrics", "ic9600",
                "--report-dir", tmp_path / "rep2")
    assert r.returncode == 2 and "--weights ic9600=FILE" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1


def test_pyiqa_metric_with_weights_from_a_local_file(tmp_path, make_image, run_cli):
    torch = pytest.importorskip("torch")
    from dataset_forge.models.pyiqa_metrics import offline, require_pyiqa
    pyiqa = require_pyiqa()
    with offline(checkpoint_holds_backbone=True):
        metric = pyiqa.create_metric("cnniqa", device="cpu", pretrained=None)
    weights = tmp_path / "cnniqa.pth"
    torch.save({"params": metric.net.state_dict()}, weights)
    for i in range(3):
        make_image(tmp_path / "in" / f"{i}.png", size=(72, 64), seed=i)
    r = run_cli("--action", "score", "--input", tmp_path / "in", "--metrics", "pyiqa:cnniqa",
                "--weights", f"cnniqa={weights}", "--report-dir", tmp_path / "rep")
    assert r.returncode == 0, r
    table = rows(tmp_path / "rep" / "score.csv")
    img = torch.from_numpy(np.asarray(Image.open(tmp_path / "in" / "1.png"), np.float32)
                           .transpose(2, 0, 1).copy() / 255)[None]
    with torch.inference_mode():
        expected = float(metric(img).flatten()[0])
    assert abs(float(table["1.png"]["cnniqa"]) - expected) < 1e-3
    # no weights and an empty cache: the file it needs, where, and no download
    r = run_cli("--action", "score", "--input", tmp_path / "in", "--metrics", "pyiqa:cnniqa",
                "--report-dir", tmp_path / "rep2", env={"TORCH_HOME": str(tmp_path / "th")})
    assert r.returncode == 2 and "CNNIQA_koniq10k" in r.stderr and "no download" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1
    assert not [p for p in (tmp_path / "th").rglob("*") if p.is_file()]   # nothing fetched


def _hiding(tmp_path: Path, *names: str) -> dict[str, str]:
    """An environment whose Python cannot import `names` (shadow modules that fail to import,
    as a missing package does)."""
    shadow = tmp_path / "shadow"
    shadow.mkdir(exist_ok=True)
    for name in names:
        (shadow / f"{name}.py").write_text(
            f'raise ModuleNotFoundError("No module named {name!r}", name={name!r})\n')
    return {"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}


def test_missing_extras_name_what_to_install(graded, tmp_path, run_cli):
    r = run_cli("--action", "score", "--input", graded, "--metrics", "pyiqa:topiq_nr",
                "--report-dir", tmp_path / "a", env=_hiding(tmp_path, "pyiqa"))
    assert r.returncode == 2 and "dataset-forge[iqa]" in r.stderr, r
    assert "pip install --no-deps pyiqa" in r.stderr and len(r.stderr.splitlines()) == 1
    no_torch = _hiding(tmp_path, "torch")
    r = run_cli("--action", "score", "--input", graded, "--metrics", "ic9600",
                "--weights", f"ic9600={tmp_path / 'ck.pth'}", "--report-dir", tmp_path / "b",
                env=no_torch)
    assert r.returncode == 2 and "dataset-forge[models]" in r.stderr, r
    r = run_cli("--action", "score", "--input", graded, "--report-dir", tmp_path / "c",
                env=no_torch)                        # NIQE needs no extra at all
    assert r.returncode == 0 and len(rows(tmp_path / "c" / "score.csv")) == 3, r


def test_bad_metric_names_and_rules_are_usage_errors(graded, tmp_path, run_cli):
    for args, words in [(["--metrics", "nope"], "unknown metric"),
                        (["--flag", "topiq_nr<0.4"], "unknown field"),
                        (["--weights", "ic9600"], "METRIC=FILE"),
                        (["--weights", "ic9600=x.pth"], "no such metric in --metrics")]:
        r = run_cli("--action", "score", "--input", graded, *args, "--report-dir", tmp_path / "r")
        assert r.returncode == 2 and words in r.stderr, (args, r)


def test_quarantine_from_a_validate_report_applies_its_score_flags(graded, tmp_path, run_cli):
    r = run_cli("--action", "validate", "--input", graded, "--score-metrics", "niqe",
                "--score-flags", "niqe>20", "--checks", "dark", "--report-dir", tmp_path / "v")
    assert r.returncode == 0, r
    report = tmp_path / "v" / "validate_report.json"
    steps = {f["step"]: f["status"] for f in json.loads(report.read_text())["findings"]}
    assert steps["scores"] == "warn" and steps["quality"] == "pass", steps
    assert set(rows(tmp_path / "v" / "validate_scores.csv")) == {"clean.png", "blurred.png",
                                                                 "noisy.png"}
    r = run_cli("--action", "quarantine", "--input", graded, "--from-report", report,
                "--dest", tmp_path / "rejects", "--apply", "--report-dir", tmp_path / "q")
    assert r.returncode == 0, r
    moved = json.loads((tmp_path / "q" / "quarantine_report.json").read_text())["findings"]
    assert [(f["path"], f["rules"]) for f in moved] == [("noisy.png", ["niqe>20"])], moved
    assert not (graded / "noisy.png").exists() and (tmp_path / "rejects" / "noisy.png").exists()
    # with --scores as well, two score tables would compete: refused in one line
    r = run_cli("--action", "quarantine", "--input", graded, "--from-report", report,
                "--scores", tmp_path / "v" / "validate_scores.csv", "--dest", tmp_path / "x")
    assert r.returncode == 2 and "brings its own scores" in r.stderr, r
    # a report from before the scores CSV was kept is refused, naming the way round it
    data = json.loads(report.read_text())
    del data["files"]["scores_csv"]
    report.write_text(json.dumps(data))
    r = run_cli("--action", "quarantine", "--input", graded, "--from-report", report,
                "--dest", tmp_path / "x")
    assert r.returncode == 2 and "--scores score.csv --where niqe>20" in r.stderr, r
