"""The headless CLI through a real subprocess: actions, help, reports, exit codes, overrides."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from dataset_forge.actions.registry import Family, all_actions

from conftest import tree_digest


def test_list_actions_shows_every_registered_action(run_cli):
    result = run_cli("--list-actions")
    assert result.returncode == 0, result
    for name, action in all_actions().items():
        assert name in result.stdout
        assert action.help in result.stdout
    assert Family.ANALYSIS.title in result.stdout


def test_action_help_is_generated_from_the_declaration(run_cli):
    result = run_cli("--action", "inventory", "--help")
    assert result.returncode == 0, result
    for param in all_actions()["inventory"].params:
        assert param.flag in result.stdout
    assert "--workers" in result.stdout and "--processing-type" in result.stdout


def test_inventory_writes_json_and_csv_report(run_cli, image_folder, tmp_path):
    (image_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "report"
    result = run_cli("--action", "inventory", "--input", image_folder, "--report-dir", out)
    assert result.returncode == 1, result  # one item failed: exit 1, the rest reported
    report = json.loads((out / "inventory_report.json").read_text())
    assert report["summary"]["images"] == 9
    assert report["summary"]["formats"] == {"PNG": 6, "JPEG": 3}
    assert report["failures_total"] == 1
    assert report["failures"][0]["item"].endswith("broken.png")
    rows = (out / "inventory.csv").read_text().splitlines()
    assert rows[0].startswith("path,format,content_format,extension_ok,mode,bits,width,height,bytes,frames")
    assert "sub/photo_0.jpg,JPEG,JPEG,True,RGB,8,80,60" in "\n".join(rows)
    assert "broken.png" in result.stdout  # the failure is one line in the terminal report
    assert "Traceback" not in result.stderr


def test_json_flag_prints_report_and_all_ok_exits_zero(run_cli, image_folder, tmp_path):
    result = run_cli("--action", "inventory", "--input", image_folder, "--json",
                     "--report-dir", tmp_path / "r", "--workers", "1", "--processing-type", "serial")
    assert result.returncode == 0, result
    report = result.json()
    assert report["summary"]["images"] == 9
    assert report["run"]["processing_type"] == "serial" and report["run"]["workers"] == 1


def test_usage_errors_are_one_line_with_exit_2(run_cli, tmp_path, image_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = next(image_folder.glob("*.png"))
    cases = {
        ("--action", "inventory", "--input", tmp_path / "nope"): "no such folder",
        ("--action", "inventory", "--input", a_file): "is a file, expected a folder",
        ("app", a_file): f"{a_file}: is a file, expected a folder",
        ("app", tmp_path / "nope"): "nope: no such folder",
        ("--action", "inventory", "--input", empty): "no images found",
        ("--action", "inventory"): "--input is required",
        ("--action", "inventroy", "--input", image_folder): "did you mean 'inventory'",
        ("--action", "inventory", "--input", image_folder, "--gpu-memory-fraction", "5"):
            "--gpu-memory-fraction 5: must be from 0.1 to 1.0",
        ("--action", "inventory", "--input", image_folder, "--workers", "-2"):
            "--workers -2: must be >= 0",
        ("--action", "inventory", "--inptu", image_folder): "did you mean --input?",
        ("run", "recipe.toml", "--form", "split"): "did you mean --from?",  # a subcommand's flag
        ("undo", "x.jsonl", "--aply"): "did you mean --apply?",
        # an action that writes no files: where its report goes, not 'did you mean --input?'
        ("--action", "inventory", "--input", image_folder, "--output", tmp_path / "o"):
            "inventory writes no files but its report: --report-dir DIR sets where it goes",
        # never 'did you mean --action?' (it was given): --ratios has no flag close to it
        ("--action", "split", "--input", image_folder, "--ratios", "0.8"):
            "unrecognized arguments: --ratios 0.8",
        ("inventory", "--input", image_folder): "dataset-forge --action inventory --input",
        ("--action", "resize", "--input", image_folder, "--output", tmp_path / "o", "--scale",
         "-1"): "must be a number from",
    }
    for args, message in cases.items():
        result = run_cli(*args)
        assert result.returncode == 2, (args, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result)
        assert message in lines[0], (args, result)
        assert "did you mean --action" not in lines[0], (args, result)


def test_run_log_gets_one_line_per_run(run_cli, image_folder, tmp_path, isolated_settings):
    run_cli("--action", "inventory", "--input", image_folder, "--report-dir", tmp_path / "a")
    run_cli("--action", "inventory", "--input", image_folder, "--report-dir", tmp_path / "b",
            "--workers", "3")
    log_dir = Path(isolated_settings.read_text().split('"')[1])
    lines = [json.loads(line) for line in (log_dir / "runs.jsonl").read_text().splitlines()]
    assert [entry["action"] for entry in lines] == ["inventory", "inventory"]
    assert lines[1]["workers"] == 3 and lines[1]["ok"] == 9 and lines[1]["failed"] == 0
    for key in ("duration_s", "peak_rss_mb", "utilisation", "processing_type", "params"):
        assert key in lines[0]


def test_broken_settings_file_warns_and_runs_on_defaults(run_cli, image_folder, tmp_path):
    settings = tmp_path / "broken.toml"
    settings.write_text("[parallel]\nmax_workers = -4\nprocessing_type = 'warp'\n")
    before = settings.read_bytes()
    result = run_cli("--settings", settings, "--action", "inventory", "--input", image_folder,
                     "--report-dir", tmp_path / "r", "--json")
    assert result.returncode == 0, result
    assert "parallel.max_workers = -4" in result.stderr
    assert "parallel.processing_type" in result.stderr
    assert settings.read_bytes() == before  # never overwritten


def test_settings_file_drives_the_run_and_flags_override(run_cli, image_folder, tmp_path):
    settings = tmp_path / "s.toml"
    assert run_cli("--settings", settings, "settings", "set", "parallel.processing_type",
                   "thread").returncode == 0
    assert run_cli("--settings", settings, "settings", "set", "parallel.max_workers", "2").returncode == 0
    from_file = run_cli("--settings", settings, "--action", "inventory", "--input", image_folder,
                        "--json", "--report-dir", tmp_path / "a").json()["run"]
    assert (from_file["processing_type"], from_file["workers"]) == ("thread", 2)
    overridden = run_cli("--settings", settings, "--action", "inventory", "--input", image_folder,
                         "--json", "--report-dir", tmp_path / "b", "--processing-type", "process",
                         "--workers", "1").json()["run"]
    assert (overridden["processing_type"], overridden["workers"]) == ("process", 1)


def test_inputs_are_never_modified(run_cli, image_folder, tmp_path):
    before = tree_digest(image_folder)
    run_cli("--action", "inventory", "--input", image_folder, "--report-dir", tmp_path / "r")
    assert tree_digest(image_folder) == before


def test_demo_dataset_inventory_finds_the_planted_broken_files(run_cli, tmp_path):
    demo = Path(__file__).resolve().parents[1] / "assets" / "demo"
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy)
    result = run_cli("--action", "inventory", "--input", copy, "--json", "--report-dir", tmp_path / "r")
    assert result.returncode == 1, result
    failed = {Path(f["item"]).name for f in result.json()["failures"]}
    manifest = json.loads((demo / "manifest.json").read_text())
    corrupt = {Path(p).name for p in manifest["expected"]["corrupt"]}
    assert {"empty.png", "not_an_image.jpg"} <= failed <= corrupt


def test_piped_output_keeps_long_lines_whole(run_cli, image_folder, tmp_path):
    deep = image_folder / ("a_rather_long_folder_name_" * 3) / ("and_a_long_file_name_" * 3 + ".png")
    deep.parent.mkdir()
    next(image_folder.glob("*.png")).rename(deep)
    result = run_cli("--action", "inventory", "--input", image_folder, "--report-dir", tmp_path / "r",
                     env={"COLUMNS": ""})
    assert result.returncode == 0, result
    assert deep.relative_to(image_folder).as_posix() in result.stdout  # not folded mid-name
    assert f"report: {(tmp_path / 'r' / 'inventory_report.json').resolve()}" in result.stdout


def test_long_table_cells_are_cut_in_the_terminal_and_whole_in_the_json(tmp_path, make_image,
                                                                         run_cli):
    make_image(tmp_path / "in" / "big.png", size=(512, 384))
    out = tmp_path / "tiles"
    r = run_cli("--action", "tile", "--input", tmp_path / "in", "--output", out,
                "--tile-size", "16")
    assert r.returncode == 0, r
    assert "characters in the JSON report" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) < 400
    report = json.loads((out / "tile_report.json").read_text())
    outputs = report["tables"][0]["rows"][0][2]
    assert len(outputs.split(", ")) == 32 * 24
