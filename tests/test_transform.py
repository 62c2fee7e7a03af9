"""Transform actions through the real CLI and engine: determinism, resume, safety, lockstep."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.actions.registry import get_action
from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action

from conftest import photo_like, tree_digest

REPO = Path(__file__).resolve().parents[1]
REALISTIC = REPO / "assets" / "pipelines" / "realistic_lq.toml"


def run(name: str, ptype: str = "serial", workers: int = 1, **raw):
    config = ParallelConfig(processing_type=ptype, max_workers=workers)
    return run_action(get_action(name), raw, config=config)


def files(root: Path) -> dict[str, str]:
    """The digests of the pictures under `root` (not the logs and journal beside them)."""
    return {k: v for k, v in tree_digest(root).items() if k.endswith((".png", ".jpg"))}


def log_lines(path: Path) -> list[dict]:
    return sorted((json.loads(line) for line in path.read_text().splitlines()),
                  key=lambda r: (r["key"], r["variation"]))


@pytest.fixture
def hq_folder(tmp_path, make_image) -> Path:
    root = tmp_path / "hq"
    for i in range(3):
        make_image(root / f"img_{i}.png", size=(66, 50), seed=i)
    make_image(root / "sub" / "deep.jpg", size=(64, 48), seed=9, quality=95)
    return root


def test_make_lq_is_byte_identical_across_backends_and_resumes(run_cli, hq_folder, tmp_path):
    options = dict(input=hq_folder, scale=4, pipeline=str(REALISTIC), seed=5, variations=2)
    outputs = {mode: tmp_path / f"out_{mode}" for mode in ("serial", "thread", "process")}
    for mode, workers in (("serial", 1), ("thread", 2)):
        assert run("make-lq", mode, workers, output=outputs[mode], **options).summary["files_written"] == 16
    result = run_cli("--action", "make-lq", "--input", hq_folder, "--scale", "4", "--pipeline",
                     REALISTIC, "--seed", "5", "--variations", "2", "--json", "--output",
                     outputs["process"], "--processing-type", "process", "--workers", "2")
    assert result.returncode == 0, result
    assert result.json()["summary"]["files_written"] == 16
    serial = files(outputs["serial"])
    assert len(serial) == 16
    assert serial == files(outputs["thread"]) == files(outputs["process"])
    assert log_lines(outputs["serial"] / "make-lq_log.jsonl") == \
        log_lines(outputs["process"] / "make-lq_log.jsonl")
    # exact sizes: HQ mod-cropped to a multiple of 4, LQ a quarter; names carry the variation
    with Image.open(outputs["serial"] / "hq" / "img_0_v01.png") as hq, \
            Image.open(outputs["serial"] / "lq" / "img_0_v01.png") as lq:
        assert hq.size == (64, 48) and lq.size == (16, 12)
    assert "lq/sub/deep_v02.png" in serial
    assert serial["lq/img_0_v01.png"] != serial["lq/img_0_v02.png"]
    # rerun: everything is journaled, nothing is rewritten
    again = run("make-lq", "process", 2, output=outputs["serial"], **options).summary
    assert (again["skipped_already_done"], again["files_written"]) == (8, 0)
    assert files(outputs["serial"]) == serial


def test_resume_redoes_missing_outputs_and_new_parameters(hq_folder, tmp_path):
    out = tmp_path / "out"
    first = run("make-lq", input=hq_folder, output=out, scale=2)
    assert first.summary["files_written"] == 8
    (out / "lq" / "img_1.png").unlink()
    second = run("make-lq", input=hq_folder, output=out, scale=2)
    assert (second.summary["skipped_already_done"], second.summary["files_written"]) == (3, 2)
    third = run("make-lq", input=hq_folder, output=out, scale=2, filter="box")  # new fingerprint
    assert third.summary["files_written"] == 8
    assert len((out / "make-lq_log.jsonl").read_text().splitlines()) == 4


def test_rerun_removes_temporaries_a_hard_kill_left(hq_folder, tmp_path):
    out = tmp_path / "out"
    run("resize", input=hq_folder, output=out, scale=0.5)
    leftovers = [out / ".img_0.png.abc.forge-tmp", out / "sub" / ".deep.jpg.x1.forge-tmp"]
    for path in leftovers:
        path.write_bytes(b"half-written")
    again = run("resize", input=hq_folder, output=out, scale=0.5)
    assert again.summary["skipped_already_done"] == 4
    assert not any(p.exists() for p in leftovers)
    assert not list(out.rglob("*.forge-tmp"))


def test_output_overlapping_input_is_refused(run_cli, hq_folder):
    result = run_cli("--action", "resize", "--input", hq_folder, "--output", hq_folder, "--scale", "0.5")
    assert result.returncode == 2 and "is the input folder" in result.stderr, result
    for out in (hq_folder / "sub", hq_folder.parent):
        with pytest.raises(UsageError, match="(inside|contains) the input folder"):
            run("augment", input=hq_folder, output=out, pipeline='[{"op": "flip"}]')
    assert sorted(p.name for p in hq_folder.rglob("*")) == ["deep.jpg", "img_0.png", "img_1.png",
                                                             "img_2.png", "sub"]


def test_resize_exact_sizes_and_failed_image_is_a_report_line(run_cli, hq_folder, tmp_path):
    (hq_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "small"
    result = run_cli("--action", "resize", "--input", hq_folder, "--output", out, "--width", "33",
                     "--json")
    assert result.returncode == 1, result
    report = result.json()
    assert [f["item"] for f in report["failures"]] and "broken.png" in report["failures"][0]["item"]
    assert report["summary"]["files_written"] == 4
    with Image.open(out / "img_0.png") as a, Image.open(out / "sub" / "deep.jpg") as b:
        assert a.size == (33, 25) and b.size == (33, 25) and b.format == "JPEG"
    assert "Traceback" not in result.stderr


def test_crop_pairs_in_lockstep(hq_folder, tmp_path):
    lq_root = tmp_path / "lq"
    for path in hq_folder.rglob("*.png"):
        with Image.open(path) as im:
            (lq_root / path.relative_to(hq_folder)).parent.mkdir(parents=True, exist_ok=True)
            im.crop((0, 0, 64, 50)).resize((32, 25), Image.Resampling.BOX).save(
                lq_root / path.relative_to(hq_folder))
            im.crop((0, 0, 64, 50)).save(path)
    out = tmp_path / "crops"
    report = run("crop", hq=hq_folder, lq=lq_root, output=out, mode="random", width=21, height=15,
                 seed=3)
    assert report.summary["files_written"] == 6 and len(report.findings) == 1  # deep.jpg: no LQ
    for record in log_lines(out / "crop_log.jsonl"):
        box = record["ops"][0]["params"]["box"]
        assert [v % 2 for v in box] == [0, 0, 0, 0] and (box[2] - box[0], box[3] - box[1]) == (20, 14)
        lq_crop = np.asarray(Image.open(out / "lq" / f"{record['key']}.png"))
        original = np.asarray(Image.open(lq_root / f"{record['key']}.png"))
        assert np.array_equal(lq_crop, original[box[1] // 2:box[3] // 2, box[0] // 2:box[2] // 2])


def test_tile_pairs_align_and_filters(tmp_path, make_image):
    hq_root, lq_root = tmp_path / "hq", tmp_path / "lq"
    make_image(hq_root / "a.png", size=(96, 64), seed=1)
    Image.new("RGB", (96, 64), (40, 40, 40)).save(hq_root / "flat.png")
    for path in hq_root.iterdir():
        with Image.open(path) as im:
            lq_root.mkdir(exist_ok=True)
            im.resize((48, 32), Image.Resampling.BOX).save(lq_root / path.name)
    out = tmp_path / "tiles"
    report = run("tile", hq=hq_root, lq=lq_root, output=out, tile_size=32, overlap=8,
                 min_edge=8, flat_std=2.0)
    names = sorted(p.name for p in (out / "hq").iterdir())
    assert names == sorted(p.name for p in (out / "lq").iterdir())
    assert not any(n.startswith("flat") for n in names)
    assert "a_y0_x72.png" in names and "a_y48_x0.png" in names  # partial edge tiles
    lq_full = np.asarray(Image.open(lq_root / "a.png"))
    for name in names:
        y, x = (int(part[1:]) for part in name[:-4].split("_")[1:])
        hq_tile, lq_tile = Image.open(out / "hq" / name), np.asarray(Image.open(out / "lq" / name))
        assert (hq_tile.width // 2, hq_tile.height // 2) == lq_tile.shape[1::-1]
        assert np.array_equal(lq_tile, lq_full[y // 2:y // 2 + lq_tile.shape[0],
                                               x // 2:x // 2 + lq_tile.shape[1]])
    assert report.summary["files_written"] == 2 * len(names) == 2 * 12
    best = run("tile", input=hq_root, output=tmp_path / "best", tile_size=32, best=2)
    assert best.summary["files_written"] == 2 + 2
    bad = run("tile", hq=hq_root, lq=lq_root, output=tmp_path / "bad", tile_size=33)
    assert len(bad.failures) == 2 and "multiples of the pair's scale 2" in bad.failures[0].message


def test_outputs_keep_the_inputs_icc_profile(tmp_path, make_image):
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "wide"
    make_image(src / "a.png", size=(64, 48), seed=1, icc_profile=icc)
    make_image(src / "b.jpg", size=(64, 48), seed=2, quality=95, icc_profile=icc)
    make_image(src / "plain.png", size=(64, 48), seed=3)
    runs = {"resize": dict(scale=0.5), "make-lq": dict(scale=2),
            "tile": dict(tile_size=32), "mixup": dict(seed=1, format="webp")}
    for name, extra in runs.items():
        out = tmp_path / name
        run(name, input=src, output=out, **extra)
        written = [p for p in out.rglob("*") if p.suffix in (".png", ".jpg", ".webp")]
        assert len(written) >= 3
        for path in written:
            with Image.open(path) as im:
                got = im.info.get("icc_profile")
            assert got == (None if path.name.startswith("plain") else icc), (name, path)


def test_grey_sources_stay_single_channel_and_colour_stays_colour(run_cli, tmp_path, make_image):
    src = tmp_path / "src"
    make_image(src / "grey.png", size=(64, 48), seed=1, mode="L")
    make_image(src / "grey_alpha.png", size=(64, 48), seed=2, mode="LA")
    make_image(src / "colour.png", size=(64, 48), seed=3)
    out = tmp_path / "out"
    result = run_cli("--action", "resize", "--input", src, "--output", out, "--scale", "0.5")
    assert result.returncode == 0, result
    modes = {p.name: Image.open(p).mode for p in out.glob("*.png")}
    assert modes == {"grey.png": "L", "grey_alpha.png": "LA", "colour.png": "RGB"}
    pipeline = '[{"op": "saturation", "factor": 2.0}, {"op": "gaussian_blur", "sigma": 1.0}]'
    lq = tmp_path / "lq"
    result = run_cli("--action", "make-lq", "--input", src, "--output", lq, "--scale", "2",
                     "--pipeline", pipeline, "--seed", "1")
    assert result.returncode == 0, result
    assert Image.open(lq / "lq" / "grey.png").mode == "L"
    assert Image.open(lq / "hq" / "grey.png").mode == "L"


def test_make_lq_keeps_the_colour_under_transparent_pixels(run_cli, tmp_path):
    """A diagram with a transparent white background: trainers that read colour only (OpenCV's
    IMREAD_COLOR, as BasicSR does) must see the same background in HQ and LQ. Pillow's
    premultiplied resampling left black there, so the LQ background came out inverted."""
    src = tmp_path / "src"
    src.mkdir()
    rgba = np.zeros((64, 96, 4), np.uint8)
    rgba[..., :3] = 255                                  # hidden colour: white
    rgba[16:48, 24:72] = (20, 40, 160, 255)              # an opaque box
    Image.fromarray(rgba, "RGBA").save(src / "diagram.png")
    out = tmp_path / "out"
    pipeline = '[{"op": "down_up", "scale": 0.5}, {"op": "gaussian_blur", "sigma": 0.8}]'
    result = run_cli("--action", "make-lq", "--input", src, "--output", out, "--scale", "4",
                     "--pipeline", pipeline, "--seed", "1")
    assert result.returncode == 0, result
    hq = np.asarray(Image.open(out / "hq" / "diagram.png").convert("RGBA")).astype(int)
    lq = np.asarray(Image.open(out / "lq" / "diagram.png").convert("RGBA")).astype(int)
    assert lq.shape == (16, 24, 4)
    hidden = lq[..., 3] == 0
    assert hidden.sum() > 100 and (lq[hidden][:, :3] == 255).all()
    colour_of_hq = np.asarray(Image.fromarray(hq[..., :3].astype(np.uint8)).resize((24, 16),
                                                                                 Image.BOX))
    # before: about 160 (black where HQ is white); what is left is the box's soft edge, where
    # the premultiplied colour (the box's own) is kept, as a compositing reader needs
    assert np.abs(colour_of_hq.astype(int) - lq[..., :3]).mean() < 40
    assert np.abs(lq[6:10, 8:16, :3] - (20, 40, 160)).max() < 12
    resized = tmp_path / "resized"
    result = run_cli("--action", "resize", "--input", src, "--output", resized, "--scale", "0.5")
    assert result.returncode == 0, result
    half = np.asarray(Image.open(resized / "diagram.png"))
    assert (half[half[..., 3] == 0][:, :3] == 255).all()


def test_tile_names_the_inputs_that_gave_no_tile(run_cli, tmp_path, make_image):
    """An image smaller than one tile, or all flat, used to count as ok with nothing said."""
    src = tmp_path / "src"
    make_image(src / "big.png", size=(96, 64), seed=1)
    make_image(src / "tiny.png", size=(40, 30), seed=2)
    Image.new("RGB", (64, 64), (40, 40, 40)).save(src / "flat.png")
    out = tmp_path / "tiles"
    args = ("--action", "tile", "--input", src, "--output", out, "--tile-size", "32",
            "--flat-std", "2", "--json")
    result = run_cli(*args)
    assert result.returncode == 0, result
    report = result.json()
    assert report["summary"]["tiles"] == 6 and report["summary"]["inputs_without_tiles"] == 2
    said = {Path(f["path"]).name: f["finding"] for f in report["findings"]}
    assert said == {"tiny.png": "no tiles: 40x30 is smaller than one 32x32 tile",
                    "flat.png": "no tiles: every tile was flat (--flat-std) or below --min-score"}
    table = next(t for t in report["tables"] if t["title"].startswith("Inputs without tiles"))
    assert len(table["rows"]) == 2
    again = run_cli(*args)                 # a rerun (all journaled) still says so
    assert again.json()["summary"]["inputs_without_tiles"] == 2
    with open(out / "tile_log.jsonl", "a") as log:   # a line a kill -9 cut short
        log.write('{"input": "x", "key": "big", "til')
    next(out.glob("big_*.png")).unlink()              # so big is redone and logged again
    cut = run_cli(*args)
    assert cut.returncode == 0, cut
    assert (cut.json()["summary"]["tiles"], cut.json()["summary"]["inputs_without_tiles"]) == \
        (6, 2)


def test_a_16_bit_source_written_as_8_bit_is_a_finding(run_cli, tmp_path):
    """Transforms work in 8 bits: a 16-bit grey PNG (depth maps, scientific images) came out
    8-bit with nothing said."""
    src = tmp_path / "src"
    src.mkdir()
    ramp = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    Image.fromarray(ramp).save(src / "depth.png")
    Image.fromarray(photo_like(64, 48, seed=1)).save(src / "photo.png")
    out = tmp_path / "out"
    result = run_cli("--action", "resize", "--input", src, "--output", out, "--scale", "0.5",
                     "--json")
    assert result.returncode == 0, result
    report = result.json()
    assert Image.open(out / "depth.png").mode == "L"
    assert report["summary"]["reduced_to_8_bit"] == 1
    assert [(Path(f["path"]).name, f["finding"]) for f in report["findings"]] == [
        ("depth.png", "I;16 grey, deeper than 8 bits: written as 8-bit (scaled, not clipped)")]


def test_transparency_flattened_for_jpeg_outputs_is_a_finding(run_cli, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., 3] = 128                                           # half see-through
    Image.fromarray(rgba, "RGBA").save(src / "glass.png")
    opaque = rgba.copy()
    opaque[..., 3] = 255                                         # alpha, but nothing to lose
    Image.fromarray(opaque, "RGBA").save(src / "solid.png")
    out = tmp_path / "out"
    result = run_cli("--action", "resize", "--input", src, "--output", out, "--scale", "0.5",
                     "--format", "jpg", "--json")
    assert result.returncode == 0, result
    report = result.json()
    assert sorted(p.name for p in out.glob("*.jpg")) == ["glass.jpg", "solid.jpg"]
    assert report["summary"]["transparency_flattened"] == 1
    assert [(Path(f["path"]).name, f["finding"]) for f in report["findings"]] == [
        ("glass.png", "transparent: flattened onto white for .jpg")]
