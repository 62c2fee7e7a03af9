"""`export` through the real CLI: round trips for every format, subsets, re-encoding, resume
after a hard kill, joined report columns, bad input."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataset_forge.actions.registry import get_action
from dataset_forge.errors import UsageError
from dataset_forge.export.lmdbio import LmdbReader, parse_meta_line
from dataset_forge.export.wds import iter_shard
from dataset_forge.parallel import ParallelConfig
from dataset_forge.runner import run_action
from dataset_forge.settings import Settings

pa_parquet = pytest.importorskip("pyarrow.parquet")


def run(name: str, **params):
    """An action in-process (set-up steps and checks that need no subprocess)."""
    return run_action(get_action(name), params, config=ParallelConfig(processing_type="serial"),
                      settings=Settings())


def make_pairs(root: Path, make_image, n: int = 5, scale: int = 2,
               first: int = 0) -> dict[str, tuple[Path, Path]]:
    """HQ PNGs (one in a sub-folder, one with a dot in its stem) and LQ JPEGs scale x smaller."""
    pairs = {}
    for i in range(first, first + n):
        key = ["a", "b.v2", "sub/c", "d", "e", "f", "g", "h"][i]
        hq = make_image(root / "hq" / f"{key}.png", size=(48, 32), seed=i)
        lq = root / "lq" / f"{key}.jpg"
        lq.parent.mkdir(parents=True, exist_ok=True)
        Image.open(hq).resize((48 // scale, 32 // scale), Image.BOX).save(lq, quality=85)
        pairs[key] = (hq, lq)
    return pairs


def tar_samples(folder: Path) -> dict[str, dict[str, bytes]]:
    found = {}
    for shard in sorted((folder / "webdataset").glob("*.tar")):
        for key, members in iter_shard(shard):
            assert key not in found
            found[key] = members
    return found


def test_pairs_round_trip_bit_for_bit_in_every_format(tmp_path, make_image, run_cli):
    pairs = make_pairs(tmp_path / "in", make_image)
    out = tmp_path / "out"
    result = run_cli("--action", "export", "--hq", tmp_path / "in/hq", "--lq", tmp_path / "in/lq",
                     "--output", out, "--formats", "lmdb,webdataset,parquet,jsonl",
                     "--shard-samples", "2", "--json")
    assert result.returncode == 0, result
    report = result.json()
    assert report["summary"]["samples"] == 5 and report["summary"]["shards"] == 3
    assert any("dot" in f["finding"] for f in report["findings"])   # b.v2 and BasicSR

    shards = tar_samples(out)                                   # WebDataset: keys paired
    assert set(shards) == set(pairs)
    for key, (hq, lq) in pairs.items():
        members = shards[key]
        assert members["hq.png"] == hq.read_bytes() and members["lq.jpg"] == lq.read_bytes()
        meta = json.loads(members["json"])
        assert meta["key"] == key and meta["hq"]["sha256"] == meta["hq"]["stored_sha256"]

    for role, index in (("hq", 0), ("lq", 1)):                 # LMDB, BasicSR meta_info
        reader = LmdbReader(out / f"{role}.lmdb")
        assert sorted(reader.keys()) == sorted(pairs)
        for key, files in pairs.items():
            assert reader.get(key) == files[index].read_bytes()
        for line in (out / f"{role}.lmdb/meta_info.txt").read_text().splitlines():
            key, (h, w, c), level = parse_meta_line(line)
            with Image.open(pairs[key][index]) as im:
                assert (h, w, c, level) == (im.height, im.width, 3, 0)
        reader.close()

    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    table = pa_parquet.read_table(out / "manifest.parquet").to_pylist()
    assert rows == table and len(rows) == 10
    for row in rows:
        hq, lq = pairs[row["key"]]
        src, partner = (hq, lq) if row["role"] == "hq" else (lq, hq)
        assert row["path"] == src.relative_to(src.parents[len(Path(row["path"]).parts) - 1]
                                              ).as_posix()
        assert row["partner"] == Path(row["path"]).with_name(partner.name).as_posix()
        assert row["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()

    stats = json.loads((out / "stats.json").read_text())
    assert stats["samples"] == 5 and stats["scales"] == {"x2": 5}
    assert stats["sides"]["hq"]["formats"] == {"PNG": 5}
    assert stats["sides"]["lq"]["width"] == {"min": 24, "max": 24, "mean": 24.0}
    assert stats["dataset_forge_version"]
    assert sum(s["samples"] for s in stats["outputs"]["webdataset"]) == 5


def test_single_folder_with_a_bad_file_and_provenance(tmp_path, make_image, run_cli):
    src = tmp_path / "src"
    for i in range(4):
        make_image(src / f"p{i}.png", size=(64, 48), seed=i)
    made = tmp_path / "made"
    run("make-lq", input=src, output=made, scale=2, seed=7)
    (made / "hq" / "zz.png").write_bytes(b"not an image")
    (made / "lq" / "zz.png").write_bytes(b"not an image either")
    out = tmp_path / "out"
    result = run_cli("--action", "export", "--input", made, "--output", out, "--formats",
                     "webdataset,jsonl", "--json")
    assert result.returncode == 1, result                      # one failed item, run finished
    report = result.json()
    assert report["failures_total"] == 1 and "zz.png" in report["failures"][0]["item"]
    assert set(tar_samples(out)) == {f"p{i}" for i in range(4)}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kind"] == "pairs" and stats["failed"] == 1
    [source] = stats["provenance"]
    assert source["action"] == "make-lq" and source["params"]["seed"] == 7


def test_folder_of_subsets_exports_each(tmp_path, make_image, run_cli):
    split = tmp_path / "split"
    make_pairs(split / "train", make_image, n=4)
    make_pairs(split / "val", make_image, n=2, first=4)     # split never repeats a name
    for name in ("train", "val"):     # split's per-subset lists: file, LQ partner, dup group
        names = sorted(p.name for p in (split / name / "hq").iterdir() if p.is_file())
        (split / f"{name}.csv").write_text("path,lq,group\n" + "".join(
            f"{n},{Path(n).with_suffix('.jpg')},{name}-{i // 2}\n" for i, n in enumerate(names)))
    out = tmp_path / "out"
    result = run_cli("--action", "export", "--input", split, "--output", out,
                     "--formats", "parquet,webdataset", "--columns-from",
                     f"{split / 'train.csv'},{split / 'val.csv'}", "--json")
    assert result.returncode == 0, result
    assert result.json()["summary"]["subsets"] == 2
    for name, count in (("train", 4), ("val", 2)):
        table = pa_parquet.read_table(out / name / "manifest.parquet").to_pylist()
        assert {r["split"] for r in table} == {name} and len(table) == 2 * count
        listed = [r for r in table if "/" not in r["path"]]      # the CSVs list top-level files
        assert listed and all(r["group"].startswith(f"{name}-") for r in listed)  # LQ rows too
        assert json.loads((out / name / "stats.json").read_text())["samples"] == count
        assert (out / name / "webdataset" / f"{name}-000000.tar").exists()


def test_reencode_png_keeps_pixels(tmp_path, make_image, run_cli):
    src = tmp_path / "src"
    jpg = make_image(src / "a.jpg", size=(40, 30), quality=80)
    out = tmp_path / "out"
    result = run_cli("--action", "export", "--input", src, "--output", out, "--formats", "lmdb",
                     "--reencode", "png", "--png-level", "3")
    assert result.returncode == 0, result
    stored = LmdbReader(out / "images.lmdb").get("a")
    assert stored[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(jpg) as a, Image.open(__import__("io").BytesIO(stored)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert (out / "images.lmdb/meta_info.txt").read_text() == "a.png (30,40,3) 3\n"


def test_columns_from_an_earlier_quality_report(tmp_path, make_image, run_cli):
    src = tmp_path / "src"
    for i in range(3):
        make_image(src / f"q{i}.png", size=(40, 30), seed=i)
    run_action(get_action("quality"), {"input": src}, report_dir=tmp_path / "qr",
               config=ParallelConfig(processing_type="serial"), settings=Settings())
    out = tmp_path / "out"
    result = run_cli("--action", "export", "--input", src, "--output", out, "--formats",
                     "parquet", "--columns-from", tmp_path / "qr/quality.csv")
    assert result.returncode == 0, result
    table = pa_parquet.read_table(out / "manifest.parquet")
    assert table.schema.field("sharpness").type == "double"
    assert all(v is not None for v in table.column("sharpness").to_pylist())


def test_a_killed_export_resumes_at_the_next_shard(tmp_path, make_image, run_cli, kill_cli_midway):
    src = tmp_path / "src"
    for i in range(20):
        make_image(src / f"{i:02d}.png", size=(256, 192), seed=i)
    out = tmp_path / "out"
    journal = out / ".forge-journal" / "export.jsonl"
    args = ["--action", "export", "--input", src, "--output", out, "--formats",
            "webdataset,lmdb,jsonl", "--shard-samples", "1", "--reencode", "png",
            "--png-level", "9", "--verify", "--workers", "1"]
    kill_cli_midway(args, journal, 4)    # the header and three finished shards
    finished = journal.read_text().count('"key"')
    assert 3 <= finished < 20
    assert not (out / "stats.json").exists()
    for tar in (out / "webdataset").glob("*.tar"):       # whole shards only under final names
        assert len(list(iter_shard(tar))) == 1
    result = run_cli(*args, "--json")
    assert result.returncode == 0, result
    summary = result.json()["summary"]
    assert summary["done_earlier"] >= finished and summary["samples"] == 20
    assert len(LmdbReader(out / "images.lmdb").keys()) == 20
    assert len(tar_samples(out)) == 20 and not list(out.rglob("*.forge-tmp"))


def test_new_parameters_replace_the_earlier_export_and_foreign_files_are_refused(
        tmp_path, make_image):
    src = tmp_path / "src"
    for i in range(3):
        make_image(src / f"{i}.png", size=(24, 16), seed=i)
    out = tmp_path / "out"
    base = dict(input=src, output=out, formats=["webdataset", "lmdb"])
    run("export", **base, shard_samples=1)
    assert len(list((out / "webdataset").glob("*.tar"))) == 3
    assert run("export", **base, shard_samples=3).summary["done_earlier"] == 0
    assert [p.name for p in (out / "webdataset").glob("*.tar")] == ["data-000000.tar"]
    assert sorted(LmdbReader(out / "images.lmdb").keys()) == ["0", "1", "2"]
    foreign = tmp_path / "foreign"
    (foreign / "mine.lmdb").mkdir(parents=True)
    with pytest.raises(UsageError, match="already holds"):
        run("export", input=src, output=foreign)
    assert (foreign / "mine.lmdb").is_dir()


@pytest.mark.parametrize("args, message", [
    (["--formats", "zip"], "--formats zip"),
    (["--subsets", "maybe"], "--subsets"),
])
def test_bad_flags_are_one_line_errors(tmp_path, make_image, run_cli, args, message):
    make_image(tmp_path / "src/a.png")
    result = run_cli("--action", "export", "--input", tmp_path / "src", "--output",
                     tmp_path / "out", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_output_inside_the_input_is_refused(tmp_path, make_image, run_cli):
    make_image(tmp_path / "src/a.png")
    result = run_cli("--action", "export", "--input", tmp_path / "src", "--output",
                     tmp_path / "src/out")
    assert result.returncode == 2 and "inside the input folder" in result.stderr
