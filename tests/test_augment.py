"""augment (pipelines, variations, pairs, plugins in process mode) and mixup."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.actions.registry import get_action
from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.transforms.plugins import load_plugin
from dataset_forge.runner import run_action

PLUGIN = '''
import numpy as np
from dataset_forge.transforms.plugins import transform

@transform("invert_lq", kind="degrade", strength=1.0)
def invert(img, rng, strength):
    arr = np.asarray(img).astype(float)
    return (255 - arr) * strength + arr * (1 - strength)
'''


def run(name: str, **raw):
    return run_action(get_action(name), raw, config=ParallelConfig(processing_type="serial"))


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plugin_op_runs_in_process_workers(run_cli, image_folder, tmp_path):
    plugin = tmp_path / "my_ops.py"
    plugin.write_text(PLUGIN)
    pipeline = tmp_path / "p.json"
    pipeline.write_text(json.dumps({"ops": [{"op": "invert_lq", "strength": [1.0, 1.0]}]}))
    out = tmp_path / "out"
    result = run_cli("--action", "augment", "--input", image_folder, "--output", out, "--pipeline",
                     pipeline, "--plugin", plugin, "--processing-type", "process", "--workers", "2",
                     "--format", "png", "--json")
    assert result.returncode == 0, result
    assert result.json()["summary"]["files_written"] == 9
    original = np.asarray(Image.open(image_folder / "img_3.png"))
    assert np.array_equal(np.asarray(Image.open(out / "img_3.png")), 255 - original)
    assert records(out / "augment_log.jsonl")[0]["ops"][0]["op"] == "invert_lq"


def test_broken_plugin_and_unknown_op_are_usage_errors(tmp_path, image_folder):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(UsageError, match=r"bad.py: line 2: RuntimeError: boom"):
        load_plugin(bad)
    clash = tmp_path / "clash.py"
    clash.write_text("from dataset_forge.transforms.plugins import transform\n"
                     "@transform('jpeg')\ndef f(img, rng):\n    return img\n")
    with pytest.raises(UsageError, match="'jpeg' is already declared by builtin"):
        load_plugin(clash)
    with pytest.raises(UsageError, match=r"op 1 \(invert_lqq\): unknown operation"):
        run("augment", input=image_folder, output=tmp_path / "o", pipeline='[{"op": "invert_lqq"}]')


def test_variations_are_named_distinct_and_reproducible(image_folder, tmp_path):
    pipeline = '[{"op": "gaussian_noise", "sigma": [5, 30]}, {"op": "flip", "p": 0.5}]'
    out = tmp_path / "v"
    report = run("augment", input=image_folder, output=out, pipeline=pipeline, variations=3,
                 seed=11, format="png")
    assert report.summary["files_written"] == 27
    names = sorted(p.name for p in out.glob("img_0*"))
    assert names == ["img_0_v01.png", "img_0_v02.png", "img_0_v03.png"]
    blobs = [p.read_bytes() for p in sorted(out.glob("img_0*"))]
    assert len(set(blobs)) == 3
    single = tmp_path / "one"
    run("augment", input=image_folder, output=single, pipeline=pipeline, seed=11, format="png")
    assert (single / "img_0.png").read_bytes() == blobs[0]   # variation 1 == the single run
    sigmas = {r["ops"][0]["params"]["sigma"] for r in records(out / "augment_log.jsonl")}
    assert len(sigmas) == 27 and all(5 <= s <= 30 for s in sigmas)


def test_augment_pairs_keeps_scale_and_degrades_lq_only(tmp_path, make_image):
    hq_root, lq_root = tmp_path / "hq", tmp_path / "lq"
    for i in range(2):
        path = make_image(hq_root / f"p{i}.png", size=(80, 64), seed=i)
        lq_root.mkdir(exist_ok=True)
        Image.open(path).resize((20, 16), Image.Resampling.BOX).save(lq_root / f"p{i}.png")
    out = tmp_path / "aug"
    pipeline = ('[{"op": "crop", "mode": "random", "width": 40, "height": 40},'
                ' {"op": "rotate", "angle": 90.0}, {"op": "jpeg", "quality": 10}]')
    report = run("augment", hq=hq_root, lq=lq_root, output=out, pipeline=pipeline)
    assert report.summary["files_written"] == 4 and report.summary["mode"] == "pairs"
    for record in records(out / "augment_log.jsonl"):
        x0, y0, x1, y1 = record["ops"][0]["params"]["box"]
        hq = np.asarray(Image.open(out / "hq" / f"{record['key']}.png"))
        source = np.asarray(Image.open(hq_root / f"{record['key']}.png"))
        assert np.array_equal(hq, np.rot90(source[y0:y1, x0:x1]))   # HQ: no JPEG damage
        assert Image.open(out / "lq" / f"{record['key']}.png").size == (10, 10)
    with pytest.raises(UsageError, match="downscale makes LQ from HQ"):
        run("augment", hq=hq_root, lq=lq_root, output=tmp_path / "x",
            pipeline='[{"op": "downscale", "scale": 2}]')


def test_mixup_weight_and_cutmix_box(image_folder, tmp_path):
    out = tmp_path / "mix"
    run("mixup", input=image_folder, output=out, alpha=0.5, seed=2, format="png")
    for record in records(out / "mixup_log.jsonl")[:3]:
        a = Image.open(record["input"]).convert("RGB")
        b = Image.open(record["partner"]).convert("RGB").resize(a.size, Image.Resampling.BICUBIC)
        expected = record["lam"] * np.asarray(a, float) + (1 - record["lam"]) * np.asarray(b, float)
        got = np.asarray(Image.open(out / Path(record["outputs"][0])), float)
        assert record["partner"] != record["input"] and 0 < record["lam"] < 1
        assert np.abs(got - expected).max() <= 1.0
    cut = tmp_path / "cut"
    run("mixup", input=image_folder, output=cut, mode="cutmix", seed=2, format="png")
    record = records(cut / "mixup_log.jsonl")[0]
    x0, y0, x1, y1 = record["box"]
    got = np.asarray(Image.open(cut / record["outputs"][0]))
    a = np.asarray(Image.open(record["input"]).convert("RGB"))
    b = np.asarray(Image.open(record["partner"]).convert("RGB").resize(a.shape[1::-1],
                                                                       Image.Resampling.BICUBIC))
    assert np.array_equal(got[y0:y1, x0:x1], b[y0:y1, x0:x1])
    outside = np.ones(a.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(got[outside], a[outside])
    assert record["lam"] == pytest.approx(1 - (x1 - x0) * (y1 - y0) / (a.shape[0] * a.shape[1]))


def test_mixup_restarts_when_the_partner_pool_changes(image_folder, tmp_path):
    out = tmp_path / "mix"
    first = run("mixup", input=image_folder, output=out, seed=4, format="png")
    assert first.summary["files_written"] == 9
    partners = {r["key"]: r["partner"] for r in records(out / "mixup_log.jsonl")}
    assert all(partners[key] != str(image_folder / key) + ".png" for key in partners)
    assert run("mixup", input=image_folder, output=out, seed=4,
               format="png").summary["skipped_already_done"] == 9
    # same number of images, different pool: every partner may differ, so nothing is reused
    (image_folder / "img_5.png").rename(image_folder / "img_9.png")
    again = run("mixup", input=image_folder, output=out, seed=4, format="png")
    assert (again.summary["skipped_already_done"], again.summary["files_written"]) == (0, 9)
    assert {r["partner"] for r in records(out / "mixup_log.jsonl")} <= {
        str(p) for p in image_folder.rglob("*") if p.is_file()}


def test_edited_plugin_file_is_reloaded(image_folder, tmp_path):
    plugin = tmp_path / "fill.py"
    code = ("from PIL import Image\nfrom dataset_forge.transforms.plugins import transform\n\n"
            "@transform('fill_reload_test')\ndef fill(img, rng):\n"
            "    return Image.new(img.mode, img.size, (VALUE,) * len(img.getbands()))\n")
    for value in (10, 200):
        plugin.write_text(code.replace("VALUE", str(value)))
        out = tmp_path / f"out_{value}"
        run("augment", input=image_folder, output=out, plugin=[str(plugin)],
            pipeline='[{"op": "fill_reload_test"}]', format="png")
        with Image.open(out / "img_0.png") as im:
            assert im.getpixel((0, 0))[0] == value
