"""Counts say what they count: a run's outcome names its unit (images, pairs, steps, outputs),
in the JSON report and in the terminal summary, through the real CLI."""
from __future__ import annotations

import json

from PIL import Image

from dataset_forge.parallel import RunSummary


def run_report(run_cli, *args) -> tuple[str, dict]:
    result = run_cli(*args)
    assert result.returncode in (0, 1), result.stderr
    path = next(line.split(": ", 1)[1] for line in result.stdout.splitlines()
                if line.startswith("report: "))
    return result.stdout, json.loads(open(path).read())


def test_counted_and_counts_name_the_unit():
    assert RunSummary("x", 4, 1, 0.1, 2, "thread", unit="steps").counts() == \
        "4 of 5 steps ok, 1 failed"
    assert RunSummary("x", 1, 0, 0.1, 2, "thread", unit="pairs").counts() == \
        "1 of 1 pair ok, 0 failed"


def test_validate_counts_steps_not_images(run_cli, tmp_path, make_image):
    for i in range(5):
        make_image(tmp_path / "in" / f"{i}.png", seed=i)
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    stdout, report = run_report(run_cli, "--action", "validate", "--input", tmp_path / "in",
                                "--report-dir", tmp_path / "rep")
    run = report["run"]
    ran = [f for f in report["findings"] if f["status"] != "skipped"]
    failed = [f for f in ran if f["status"] == "fail"]
    assert run["unit"] == "steps" and failed
    assert (run["total"], run["failed"]) == (len(ran), len(failed))
    assert f"{len(ran) - len(failed)} of {len(ran)} steps ok, {len(failed)} failed" in stdout


def test_transforms_count_pairs_and_variations(run_cli, tmp_path, make_image):
    for i in range(3):
        hq = make_image(tmp_path / "hq" / f"{i}.png", size=(32, 32), seed=i)
        (tmp_path / "lq").mkdir(exist_ok=True)
        Image.open(hq).resize((16, 16)).save(tmp_path / "lq" / f"{i}.png")
    _, pairs = run_report(run_cli, "--action", "crop", "--hq", tmp_path / "hq", "--lq",
                          tmp_path / "lq", "--width", "16", "--height", "16",
                          "--output", tmp_path / "crops")
    assert (pairs["run"]["unit"], pairs["run"]["ok"]) == ("pairs", 3)
    stdout, lq = run_report(run_cli, "--action", "make-lq", "--input", tmp_path / "hq",
                            "--output", tmp_path / "made", "--variations", "2")
    assert (lq["run"]["unit"], lq["run"]["ok"]) == ("outputs", 6)
    assert "6 of 6 outputs ok, 0 failed" in stdout


def test_name_collisions_found_while_planning_count_in_the_outcome(run_cli, tmp_path,
                                                                    make_image):
    """a.jpg and a.png both want a.webp: one is written, the other is a failure line, and the
    outcome counts both (it read '1 of 2 images ok, 2 failed' beside 2 files written)."""
    src = tmp_path / "in"
    make_image(src / "a.jpg", seed=1, quality=90)
    make_image(src / "a.png", seed=2)
    make_image(src / "b.png", seed=3)
    (src / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    for action, extra in (("convert", ("--format", "webp")),
                          ("resize", ("--format", "png", "--scale", "0.5"))):
        out = tmp_path / action
        stdout, report = run_report(run_cli, "--action", action, "--input", src,
                                    "--output", out, *extra)
        run = report["run"]
        written = [p for p in out.rglob("*") if p.suffix in (".webp", ".png")]
        assert len(written) == 2, (action, written)
        reasons = sorted(f["error_type"] for f in report["failures"])
        assert reasons == ["ImageReadError", "NameCollision"], (action, reasons)
        assert (run["ok"], run["failed"], run["total"]) == (2, 2, 4), (action, run)
        assert "2 of 4 images ok, 2 failed" in stdout, action


def test_a_rerun_names_what_an_earlier_run_finished(run_cli, tmp_path, make_image):
    """A finished tile or convert run, run again, read '0 of 0 pairs ok, 0 failed'."""
    hq, lq = tmp_path / "hq", tmp_path / "lq"
    for i in range(3):
        make_image(hq / f"{i}.png", size=(64, 64), seed=i)
        lq.mkdir(exist_ok=True)
        Image.open(hq / f"{i}.png").resize((32, 32)).save(lq / f"{i}.png")
    runs = {"tile": ("--hq", hq, "--lq", lq, "--tile-size", "32"),
            "convert": ("--input", hq, "--format", "webp")}
    for action, args in runs.items():
        out = tmp_path / action
        first, _ = run_report(run_cli, "--action", action, *args, "--output", out)
        assert "done earlier" not in first, action
        (next(out.rglob("*.webp")) if action == "convert" else next(out.rglob("*.png"))) \
            .unlink()                                         # one output to redo
        stdout, report = run_report(run_cli, "--action", action, *args, "--output", out)
        unit = "pair" if action == "tile" else "image"      # the one redone
        assert report["run"]["earlier"] == 2, (action, report["run"])
        assert f"1 of 1 {unit} ok, 0 failed, 2 done earlier" in stdout, (action, stdout)


def test_one_worker_is_singular(run_cli, tmp_path, make_image):
    make_image(tmp_path / "in" / "a.png")
    stdout, _ = run_report(run_cli, "--action", "inventory", "--input", tmp_path / "in",
                           "--report-dir", tmp_path / "r", "--processing-type", "serial")
    assert "1 serial worker)" in stdout, stdout
