"""`compress` / `convert` actions: tree mirroring, HQ/LQ, only-if-smaller, in place, resume, CLI."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.actions.registry import get_action
from dataset_forge.errors import UsageError
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action

from conftest import tree_digest

SERIAL = ParallelConfig(processing_type="serial")


def run(name: str, **params):
    return run_action(get_action(name), params, config=SERIAL)


def decoded(path: Path) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as im:
        im.load()
        return im.format, im.size


def test_convert_mirrors_the_tree_and_never_touches_inputs(image_folder, tmp_path):
    before = tree_digest(image_folder)
    out = tmp_path / "out"
    report = run("convert", input=image_folder, output=out, format="webp", quality=60)
    assert tree_digest(image_folder) == before
    sources = sorted(p.relative_to(image_folder) for p in image_folder.rglob("*.*"))
    for rel in sources:
        with Image.open(image_folder / rel) as src:
            size = src.size
        assert decoded(out / rel.with_suffix(".webp")) == ("WEBP", size)
    s = report.summary
    assert s["written"] == len(sources) and s["failed"] == 0
    assert s["bytes_before"] == sum((image_folder / r).stat().st_size for r in sources)
    assert s["bytes_after"] == sum((out / r.with_suffix(".webp")).stat().st_size for r in sources)
    assert s["formats"]["webp"]["images"] == len(sources)
    rows = list(csv.DictReader(open(report.files["rows_csv"])))
    assert {r["source"] for r in rows} == {r.as_posix() for r in sources}
    assert all(r["quality"] == "60" for r in rows)


def test_keep_format_reencodes_each_file_as_itself(image_folder, tmp_path, make_image):
    make_image(image_folder / "odd.bmp")
    report = run("compress", input=image_folder, output=tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")
             if not p.name.startswith(("compress_", "."))}
    assert "sub/photo_0.jpg" in names and "img_0.png" in names and "odd.png" in names
    assert decoded(tmp_path / "out" / "sub/photo_0.jpg")[0] == "JPEG"
    # PNG is lossless: oxipng makes it smaller with identical pixels
    with Image.open(image_folder / "img_0.png") as a, Image.open(tmp_path / "out/img_0.png") as b:
        assert a.tobytes() == b.tobytes()
    assert report.summary["formats"]["png"]["bytes_after"] < \
        report.summary["formats"]["png"]["bytes_before"]


def test_hq_lq_trees_are_kept_apart(tmp_path, make_image):
    for i in range(3):
        make_image(tmp_path / "HR" / f"{i}.png", size=(64, 64), seed=i)
        make_image(tmp_path / "LR" / f"{i}.png", size=(32, 32), seed=i)
    make_image(tmp_path / "LR" / "extra.png", size=(32, 32))
    report = run("convert", hq=tmp_path / "HR", lq=tmp_path / "LR", output=tmp_path / "out",
                 format="webp")
    for i in range(3):
        assert decoded(tmp_path / "out/hq" / f"{i}.webp")[1] == (64, 64)
        assert decoded(tmp_path / "out/lq" / f"{i}.webp")[1] == (32, 32)
    assert report.summary["written"] == 7
    assert [f["kind"] for f in report.findings] == ["unpaired_lq"]


def test_only_if_smaller_keeps_the_original(tmp_path, make_image):
    src = tmp_path / "in"
    small = make_image(src / "tiny.jpg", size=(128, 96), quality=30)  # re-encoding at 98 grows
    make_image(src / "big.png", size=(96, 96))                        # JPEG beats PNG
    report = run("convert", input=src, output=tmp_path / "out", format="jpeg", quality=98,
                 only_if_smaller=True)
    assert (tmp_path / "out/tiny.jpg").read_bytes() == small.read_bytes()
    assert decoded(tmp_path / "out/big.jpg") == ("JPEG", (96, 96))
    assert not (tmp_path / "out/big.png").exists()
    assert report.summary["kept_original"] == 1 and report.summary["written"] == 1
    assert report.summary["bytes_after"] <= report.summary["bytes_before"]


@pytest.fixture
def trash_home(tmp_path, monkeypatch) -> Path:
    """Send in-process trashing to a temporary home (send2trash reads XDG_DATA_HOME at import)."""
    import send2trash.plat_other as trash
    home = tmp_path / "home"
    share = home / "share"
    share.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    monkeypatch.setattr(trash, "XDG_DATA_HOME", os.fsencode(share))
    monkeypatch.setattr(trash, "HOMETRASH_B", os.fsencode(share / "Trash"))
    monkeypatch.setattr(trash, "HOMETRASH", str(share / "Trash"))
    return home


def test_in_place_replaces_verified_files_and_rerun_does_not_recompress(tmp_path, make_image,
                                                                         trash_home):
    src = tmp_path / "in"
    make_image(src / "a.png", size=(64, 48))
    make_image(src / "b.png", size=(64, 48), seed=2)
    report = run("convert", input=src, format="webp", quality=80, in_place=True)
    assert sorted(p.name for p in src.iterdir() if not p.name.startswith(".")) == \
        ["a.webp", "b.webp"]
    assert decoded(src / "a.webp") == ("WEBP", (64, 48))
    assert report.summary["written"] == 2
    before = tree_digest(src)
    again = run("convert", input=src, format="webp", quality=80, in_place=True)
    assert again.summary["done_earlier"] == 2 and again.summary["written"] == 0
    assert tree_digest(src) == before


@pytest.mark.parametrize("route", ["lossy", "optimise-jpeg"])
def test_failed_verification_leaves_the_original(tmp_path, make_image, monkeypatch, route):
    import dataset_forge.compress.convert as convert
    original = make_image(tmp_path / "in" / "a.jpg", quality=95)
    data = original.read_bytes()
    # a corrupting encoder or optimiser: the checks must refuse the swap
    if route == "lossy":
        monkeypatch.setattr(convert, "_encode", lambda *a: convert.SearchResult(
            90, b"\xff\xd8\xffjunk", None, 1, True))
        report = run("compress", input=tmp_path / "in", in_place=True, quality=80)
    else:
        monkeypatch.setattr(convert, "optimise_jpeg", lambda data, opts: data[:len(data) // 2])
        report = run("compress", input=tmp_path / "in", in_place=True)
    assert report.summary["failed"] == 1 and original.read_bytes() == data
    assert not [p for p in (tmp_path / "in").iterdir() if p.name.endswith(".forge-tmp")]


def test_name_collisions_and_bad_files_are_report_lines(tmp_path, make_image):
    src = tmp_path / "in"
    make_image(src / "a.png")
    make_image(src / "a.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG not really")
    report = run("convert", input=src, output=tmp_path / "out", format="webp")
    kinds = sorted(f.error_type for f in report.failures)
    assert kinds == ["ImageReadError", "NameCollision"]
    clash = next(f.message for f in report.failures if f.error_type == "NameCollision")
    assert "is claimed by" in clash      # decided from names while planning, before any read
    assert report.summary["written"] == 1 and report.summary["images"] == 3


@pytest.mark.parametrize("params,message", [
    ({"format": "webp"}, "--output is required"),
    ({"format": "png", "target_ssim": 0.9, "output": "x"}, "lossy format"),
    ({"format": "jpeg", "strip_metadata": True, "keep_exif": True, "output": "x"}, "contradict"),
    ({"format": "jpeg", "target_bytes": "lots", "output": "x"}, "--target-bytes"),
    ({"format": "jpeg", "background": "plaid", "output": "x"}, "--background"),
])
def test_usage_errors(image_folder, params, message):
    with pytest.raises(UsageError, match=message):
        run("convert", input=image_folder, **params)


# -- through the real CLI ---------------------------------------------------------------------

def test_cli_target_size_search_reports_quality_per_image(run_cli, tmp_path, make_image):
    for i in range(4):
        make_image(tmp_path / "in" / f"{i}.png", size=(128, 96), seed=i)
    result = run_cli("--action", "convert", "--input", tmp_path / "in", "--output",
                     tmp_path / "out", "--format", "jpeg", "--target-bytes", "4k", "--json",
                     "--workers", "2")
    assert result.returncode == 0, result
    report = json.loads(result.stdout)
    assert report["summary"]["target"] == "<= 4,000 bytes"
    rows = list(csv.DictReader(open(report["files"]["rows_csv"])))
    for row in rows:
        assert int(row["bytes_out"]) <= 4000 and 10 <= int(row["quality"]) <= 95
        assert int(row["encodes"]) <= 7
        assert os.path.getsize(row["output"]) == int(row["bytes_out"])


def test_cli_usage_error_is_one_line(run_cli, image_folder):
    result = run_cli("--action", "convert", "--input", image_folder, "--format", "webp")
    assert result.returncode == 2
    assert "--output is required" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["parent", "same", "inside"])
def test_output_overlapping_the_input_is_refused(image_folder, where):
    output = {"parent": image_folder.parent, "same": image_folder,
              "inside": image_folder / "sub" / "out"}[where]
    before = tree_digest(image_folder.parent)
    with pytest.raises(UsageError, match="--output"):
        run("convert", input=image_folder, output=output, format="webp")
    assert tree_digest(image_folder.parent) == before


def test_cli_output_parent_of_input_exits_2(run_cli, image_folder):
    result = run_cli("--action", "convert", "--input", image_folder, "--output",
                     image_folder.parent, "--format", "webp")
    assert result.returncode == 2, result
    assert "contains the input folder" in result.stderr and "Traceback" not in result.stderr
    assert not list(image_folder.parent.rglob("*.webp"))


def test_cli_in_place_new_extension_trashes_the_original_and_undo_restores_it(
        run_cli, tmp_path, make_image):
    src = tmp_path / "in"
    originals = {p.name: p.read_bytes() for p in (make_image(src / "a.png"),
                                                   make_image(src / "b.png", seed=3))}
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    (home / "share").mkdir(parents=True)
    result = run_cli("--action", "convert", "--input", src, "--in-place", "--format", "webp",
                     "--quality", "80", "--json", env=env)
    assert result.returncode == 0, result
    assert sorted(p.name for p in src.iterdir() if not p.name.startswith(".")) == \
        ["a.webp", "b.webp"]
    trashed = {p.name: p.read_bytes() for p in (home / "share/Trash/files").iterdir()}
    assert trashed == originals                      # in the trash, not unlinked
    manifest = result.json()["files"]["undo_manifest"]
    listed = run_cli("undo", manifest, env={**env, "COLUMNS": "60"}).stdout.splitlines()
    for name in ("a", "b"):  # each line names the file it acts on, whole on one line
        assert f"  restore         trash    {src / name}.png" in listed, listed
        assert f"  remove-created  copy     {src / name}.webp" in listed, listed
    undo = run_cli("undo", manifest, "--apply", env=env)
    assert undo.returncode == 0, undo
    assert {p.name: p.read_bytes() for p in src.iterdir() if not p.name.startswith(".")} == \
        originals                                    # originals back, converted files removed


def test_cli_resumes_after_a_hard_kill(tmp_path, make_image, run_cli, kill_cli_midway):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(40):
        make_image(src / f"{i:02d}.png", size=(160, 120), seed=i)
    journal = out / ".forge-journal" / "convert.jsonl"
    args = ["--action", "convert", "--input", src, "--output", out, "--format", "webp",
            "--target-ssim", "0.97", "--workers", "1"]
    kill_cli_midway(args, journal, 4)    # the header and three finished files
    finished = journal.read_text().count('"key"')
    assert 3 <= finished < 40
    for path in out.glob("*.webp"):        # whatever is there is whole
        assert decoded(path) == ("WEBP", (160, 120))
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result
    summary = json.loads(result.stdout)["summary"]
    assert summary["done_earlier"] >= finished
    assert summary["done_earlier"] + summary["written"] == 40
    assert sorted(p.name for p in out.glob("*.webp")) == [f"{i:02d}.webp" for i in range(40)]
    assert not list(out.rglob("*.forge-tmp"))


def test_compress_keeps_originals_by_default_convert_does_not(tmp_path, make_image):
    src = tmp_path / "in"
    small = make_image(src / "tiny.jpg", size=(128, 96), quality=30)  # q90 re-encode grows
    report = run("compress", input=src, output=tmp_path / "c", quality=90)
    assert (tmp_path / "c/tiny.jpg").read_bytes() == small.read_bytes()
    assert report.summary["kept_original"] == 1
    forced = run("compress", input=src, output=tmp_path / "f", quality=90,
                 only_if_smaller=False)
    assert forced.summary["written"] == 1
    assert (tmp_path / "f/tiny.jpg").stat().st_size > small.stat().st_size
    converted = run("convert", input=src, output=tmp_path / "v", format="jpeg", quality=90)
    assert converted.summary["written"] == 1


def test_keep_decides_by_content_png_named_jpg_stays_lossless(tmp_path, make_image):
    src = tmp_path / "in"
    png = make_image(src / "real.png", size=(40, 30))
    disguised = src / "png_named.jpg"
    png.rename(disguised)
    report = run("compress", input=src, output=tmp_path / "out", only_if_smaller=False)
    out = tmp_path / "out/png_named.jpg"
    assert decoded(out) == ("PNG", (40, 30))
    with Image.open(out) as a, Image.open(disguised) as b:
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))
    # the PNG row has no quality: the table shows "-" (never None)
    images = report.tables[1]
    assert images.rows[0][images.columns.index("quality")] == "-"
    assert all(cell is not None for table in report.tables for row in table.rows for cell in row)


def test_flat_image_search_takes_two_encodes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.new("RGB", (64, 64), (90, 140, 200)).save(src / "flat.png")
    report = run("convert", input=src, output=tmp_path / "out", format="webp", target_ssim=0.95)
    with open(tmp_path / "out/convert_rows.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["quality"] == "10" and int(row["encodes"]) <= 2
    assert report.summary["encodes_per_image"] <= 2


def test_in_place_undo_manifest_only_when_something_was_replaced(tmp_path, make_image,
                                                                 trash_home):
    src = tmp_path / "in"
    make_image(src / "a.png", size=(48, 32))
    report = run_action(get_action("compress"), {"input": src, "in_place": True},
                        config=SERIAL, report_dir=tmp_path / "r")
    assert "undo_manifest" not in report.files
    assert not (tmp_path / "r/compress_undo.jsonl").exists()
    converted = run_action(get_action("convert"), {"input": src, "format": "webp",
                                                   "quality": 80, "in_place": True},
                           config=SERIAL, report_dir=tmp_path / "r")
    manifest = Path(converted.files["undo_manifest"])
    header, *ops = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert header["params"]["output"] is None and header["params"]["in_place"] is True
    assert [op["op"] for op in ops] == ["copy", "trash"]


def test_cli_in_place_rerun_after_undo_converts_the_restored_originals_again(
        run_cli, tmp_path, make_image):
    """undo puts a same-name original (a lossy WebP re-encoded as WebP) back where the converted
    file was; a rerun must convert it again, not count it 'done earlier' from the journal."""
    src = tmp_path / "in"
    make_image(src / "a.webp", size=(96, 64), quality=95)
    make_image(src / "b.jpg", size=(96, 64), seed=2, quality=95)
    originals = {p.name: p.read_bytes() for p in src.iterdir()}
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "share")}
    (home / "share").mkdir(parents=True)
    args = ("--action", "convert", "--input", src, "--in-place", "--format", "webp",
            "--quality", "40", "--json")
    first = run_cli(*args, "--report-dir", tmp_path / "r1", env=env)
    assert first.returncode == 0, first
    assert first.json()["summary"]["written"] == 2
    undo = run_cli("undo", first.json()["files"]["undo_manifest"], "--apply", env=env)
    assert undo.returncode == 0, undo
    assert {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()} == originals
    again = run_cli(*args, "--report-dir", tmp_path / "r2", env=env)
    assert again.returncode == 0, again
    summary = again.json()["summary"]
    assert (summary["written"], summary["done_earlier"]) == (2, 0), summary
    assert (src / "a.webp").read_bytes() != originals["a.webp"]
