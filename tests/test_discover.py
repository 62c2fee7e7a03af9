"""One discovery rule (io/discover.py) for every family and the runner; what cannot be walked is
a finding, not a silent skip (issue 12 item 14, issue 13 "One way to find images")."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dataset_forge.io import discover as walk


def _report(folder: Path, action: str) -> dict:
    return json.loads((folder / f"{action}_report.json").read_text())


def test_renamed_jpeg_after_1000_other_files_is_found(run_cli, make_image, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(1001):
        (src / f"a{i:04d}.txt").write_text("notes")
    make_image(src / "zz_photo.dat", format="JPEG")
    inventory = run_cli("--action", "inventory", "--input", src, "--json")
    assert inventory.returncode == 0, inventory
    assert inventory.json()["summary"]["images"] == 1
    convert = run_cli("--action", "convert", "--input", src, "--output", tmp_path / "out",
                      "--format", "png")
    assert convert.returncode == 0, convert
    assert [p.name for p in (tmp_path / "out").glob("*.png")] == ["zz_photo.png"]


def test_image_without_extension_is_found_by_writing_actions(run_cli, make_image, tmp_path):
    """It used to count in inventory while convert found 0 jobs and exited 0."""
    make_image(tmp_path / "in" / "scan_0001", format="PNG")
    result = run_cli("--action", "convert", "--input", tmp_path / "in", "--output",
                     tmp_path / "out", "--format", "webp")
    assert result.returncode == 0, result
    outputs = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith("scan_0001")]
    assert len(outputs) == 1, outputs


def test_dangling_symlink_is_a_finding_and_a_table_row(run_cli, make_image, tmp_path):
    make_image(tmp_path / "in" / "ok.png")
    (tmp_path / "in" / "gone.png").symlink_to(tmp_path / "missing.png")
    result = run_cli("--action", "resize", "--input", tmp_path / "in", "--output", tmp_path / "out",
                     "--scale", "0.5")
    assert result.returncode == 0, result
    assert "Not read while finding images" in result.stdout and "gone.png" in result.stdout
    report = _report(tmp_path / "out", "resize")
    assert report["summary"]["not_walked"] == 1
    assert [(f["kind"], Path(f["path"]).name) for f in report["findings"]] == [
        ("dangling_symlink", "gone.png")]


def test_only_dangling_links_is_no_images_with_the_reason(run_cli, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").symlink_to(tmp_path / "missing.png")
    result = run_cli("--action", "inventory", "--input", tmp_path / "in")
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1
    assert "no images found (1 could not be read, first" in result.stderr
    assert "dangling symlink" in result.stderr


def test_unreadable_sub_folder_is_a_problem(make_image, tmp_path, monkeypatch):
    """Root reads any folder whatever its mode, so the refusal comes from os.scandir itself."""
    make_image(tmp_path / "a.png")
    make_image(tmp_path / "locked" / "b.png")
    real = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(walk.os, "scandir", scandir)
    found = walk.discover(tmp_path)
    assert [p.name for p in found.images] == ["a.png"]
    assert [(p.kind, p.path.name, p.reason) for p in found.problems] == [
        ("unreadable_folder", "locked", "Permission denied")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists folders whatever their mode")
def test_unreadable_sub_folder_through_the_cli(run_cli, make_image, tmp_path):
    make_image(tmp_path / "in" / "a.png")
    make_image(tmp_path / "in" / "locked" / "b.png")
    (tmp_path / "in" / "locked").chmod(0)
    try:
        result = run_cli("--action", "inventory", "--input", tmp_path / "in", "--json")
    finally:
        (tmp_path / "in" / "locked").chmod(0o755)
    assert result.returncode == 0, result
    assert [f["kind"] for f in result.json()["findings"]] == ["unreadable_folder"]


def test_the_rule_takes_image_names_unread_and_sniffs_the_rest(make_image, tmp_path):
    make_image(tmp_path / "real.png")
    make_image(tmp_path / "photo.bin", format="JPEG")
    (tmp_path / "fake.jpg").write_text("named like an image: a worker reports it")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes((tmp_path / "real.png").read_bytes())
    found = walk.discover(tmp_path)
    assert [p.name for p in found.images] == ["fake.jpg", "photo.bin", "real.png"]
    assert [(p.name, fmt) for p, fmt in found.renamed] == [("photo.bin", "JPEG")]
    assert found.other_files == 1 and not found.problems
    assert [p.name for p in walk.iter_images(tmp_path)] == [p.name for p in found.images]
    assert walk.first_image(tmp_path).name == "fake.jpg"


# One walk per run: the runner's emptiness check hands its walk to the action (SharedWalks).

ONE_WALK_ACTIONS = ["inventory", "validate", "resize", "crop", "compress", "quarantine",
                    "dedup", "export"]


def test_each_run_lists_each_input_folder_once(tmp_path, monkeypatch):
    """Counted where discovery lists folders; before, every folder was listed twice (the
    runner's full walk, then the action's), and validate's three times."""
    import collections
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from action_params import ACTION_PARAMS, DEMO
    from dataset_forge.actions.registry import all_actions
    from dataset_forge.parallel import ParallelConfig, ProcessingType
    from dataset_forge.runner import run_action

    listed: collections.Counter = collections.Counter()
    real = os.scandir

    def scandir(path="."):
        if not isinstance(path, int) and str(path).startswith(str(DEMO)):
            listed[Path(path).relative_to(DEMO).as_posix()] += 1
        return real(path)
    monkeypatch.setattr(walk.os, "scandir", scandir)
    serial = ParallelConfig(processing_type=ProcessingType.SERIAL)
    for name in ONE_WALK_ACTIONS:
        listed.clear()
        out = tmp_path / name
        raw = {k: (str(out / "out") if v == "OUT" else v) for k, v in ACTION_PARAMS[name].items()}
        run_action(all_actions()[name], raw, config=serial, report_dir=out / "report")
        walked = {k: n for k, n in listed.items() if k != "."}   # export looks for subsets
        assert walked and set(walked.values()) == {1}, (name, walked)


def test_a_walk_the_action_never_takes_is_finished_for_its_problems(make_image, tmp_path):
    make_image(tmp_path / "a.png")
    (tmp_path / "z" / "sub").mkdir(parents=True)
    (tmp_path / "z" / "sub" / "gone.png").symlink_to(tmp_path / "missing.png")
    shared = walk.SharedWalks()
    first, problems = shared.first_image(tmp_path)
    assert first.name == "a.png" and problems == []         # stopped at the first image
    assert [p.path.name for p in shared.problems(finish=True)] == ["gone.png"]


def test_the_handed_walk_streams_the_same_files_under_the_callers_spelling(make_image, tmp_path,
                                                                          monkeypatch):
    for name in ["b.png", "notes.txt", "sub/c.png", "sub/d.bin"]:
        make_image(tmp_path / "in" / name, format="PNG")
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    monkeypatch.chdir(tmp_path)
    expected = walk.discover(tmp_path / "in")
    shared = walk.SharedWalks()
    shared.first_image("in")
    with shared.active():
        found = walk.discover(tmp_path / "in")                 # absolute: the same folder
        again = list(walk.iter_images("in"))                   # taken already: a fresh walk
    assert found.images == expected.images and found.renamed == expected.renamed
    assert found.other_files == 1
    assert again == [Path("in") / p.relative_to(tmp_path / "in") for p in expected.images]
    assert shared.problems(finish=True) == []
