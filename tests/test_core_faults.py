"""Faults the parallel core and the CLI must survive (issue 12, items 5, 6, 9, 10): timed-out
thread items leave no unlisted output, kill -9 of the CLI leaves no process behind, absurd
worker counts are clamped, and broken folders, full disks and bad manifests give one line."""
from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dataset_forge.io import leftover_temporaries

STALL_PLUGIN = '''
import time
from dataset_forge.transforms.plugins import transform

@transform("stall", kind="photometric", seconds=0.0)
def stall(img, rng, seconds):
    if img.width == 97:          # the slow inputs
        time.sleep(seconds)
    return img
'''


def test_timed_out_thread_items_leave_no_output_the_report_omits(run_cli, make_image, tmp_path):
    """Item 5: a thread cannot be interrupted, but its late write must not land."""
    src = tmp_path / "src"
    for i in range(8):
        make_image(src / f"im_{i}.png", size=(97 if i % 3 == 1 else 64, 48), seed=i)
    plugin = tmp_path / "stall.py"
    plugin.write_text(STALL_PLUGIN)
    out = tmp_path / "out"
    result = run_cli("--action", "augment", "--input", src, "--output", out, "--plugin", plugin,
                     "--pipeline", '[{"op": "stall", "seconds": 2}]', "--processing-type",
                     "thread", "--workers", "2", "--timeout", "0.5", "--json")
    assert result.returncode == 1, result
    report = result.json()
    timed_out = sorted(Path(f["item"]).name for f in report["failures"])
    assert timed_out == ["im_1.png", "im_4.png", "im_7.png"]
    assert {f["error_type"] for f in report["failures"]} == {"ItemTimeout"}
    # the CLI exits only after the abandoned threads ended: their writes were refused
    on_disk = sorted(p.name for p in out.glob("*.png"))
    assert on_disk == [f"im_{i}.png" for i in (0, 2, 3, 5, 6)]
    assert report["summary"]["files_written"] == len(on_disk)
    logged = [json.loads(line) for line in (out / "augment_log.jsonl").read_text().splitlines()]
    assert sorted(name for entry in logged for name in entry["outputs"]) == on_disk
    assert leftover_temporaries(out) == []


def test_kill_9_of_the_cli_ends_workers_forkserver_and_tracker(make_image, tmp_path):
    """Item 6: nothing the run started outlives it, even when it cannot clean up."""
    src = tmp_path / "src"
    for i in range(40):
        make_image(src / f"im_{i:03d}.png", size=(320, 240), seed=i)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataset_forge", "--action", "convert", "--input", str(src),
         "--output", str(out), "--format", "avif", "--processing-type", "process",
         "--workers", "2", "--chunk-size", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.avif")) and time.monotonic() < deadline:
        time.sleep(0.05)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    assert len(descendants) >= 3  # two workers, the forkserver, the resource tracker
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(descendants, timeout=15)
    for leftover in alive:  # do not leak them into the next tests
        leftover.kill()
    assert alive == [], [" ".join(p.cmdline())[:80] for p in alive]
    # the workers unwound their atomic writes (only the killed process's own CSV is left)
    assert [p.name for p in leftover_temporaries(out) if ".avif." in p.name] == []


@pytest.mark.parametrize("mode, kind", [("thread", "thread"), ("process", "process")])
def test_absurd_worker_count_is_clamped_and_said_in_one_line(run_cli, image_folder, tmp_path,
                                                             mode, kind):
    """Item 9: --workers 10000 runs with what the machine holds, and says so."""
    out = tmp_path / "out"
    result = run_cli("--action", "resize", "--input", image_folder, "--output", out,
                     "--width", "32", "--processing-type", mode, "--workers", "10000", "--json")
    assert result.returncode == 0, result
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and f"10000 {kind} workers asked" in notes[0], result.stderr
    used = result.json()["run"]["workers"]
    assert 1 <= used < 10000 and f"{used} used" in notes[0]
    assert result.json()["notes"] == [notes[0][len("note: "):]]


def test_output_that_is_a_file_is_refused_before_anything_runs(run_cli, image_folder, tmp_path):
    """Item 10: one line, exit 2, the file untouched."""
    target = tmp_path / "not-a-folder"
    target.write_text("keep me")
    result = run_cli("--action", "resize", "--input", image_folder, "--output", target,
                     "--width", "32")
    assert result.returncode == 2, result
    assert result.stderr.strip() == f"error: --output {target}: exists and is not a folder"
    assert target.read_text() == "keep me"


def test_reports_dir_that_cannot_be_created_is_one_line(run_cli, image_folder, tmp_path,
                                                        isolated_settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    isolated_settings.write_text(f'[reports]\ndir = "{blocker / "reports"}"\n')
    result = run_cli("--action", "inventory", "--input", image_folder)
    assert result.returncode == 2, result
    assert result.stderr.strip() == (f"error: reports.dir {blocker / 'reports'}: cannot create "
                                     f"it, {blocker} is a file")


def test_unwritable_log_still_prints_the_summary(run_cli, image_folder, tmp_path,
                                                 isolated_settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    isolated_settings.write_text(f'[logging]\ndir = "{blocker / "logs"}"\n')
    result = run_cli("--action", "inventory", "--input", image_folder, "--report-dir",
                     tmp_path / "reports")
    assert result.returncode == 0, result
    assert "report:" in result.stdout  # the summary is there
    assert result.stderr.strip() == (f"note: the run log could not be written to "
                                     f"{blocker / 'logs'}: Not a directory")
    assert (tmp_path / "reports" / "inventory_report.json").is_file()


def _no_file_may_grow():
    """Every write to a file fails with an OSError (EFBIG), as it would on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@pytest.mark.parametrize("action", [["convert", "--format", "png"], ["inventory"]])
def test_full_disk_is_one_line_exit_2(image_folder, tmp_path, action):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "dataset_forge", "--action", *action, "--input",
         str(image_folder), "--output" if action[0] == "convert" else "--report-dir", str(out)],
        capture_output=True, text=True, timeout=120, preexec_fn=_no_file_may_grow,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "File too large" in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize("line, problem", [
    ("[1, 2]", "not an undo operation (expected a JSON object)"),
    ('{"op": "move", "src": "/a"}', "move without a dst path"),
    ('{"op": "move", "src": 3, "dst": "/b"}', "move without a src path"),
])
def test_malformed_undo_manifest_line_is_one_line(run_cli, tmp_path, line, problem):
    manifest = tmp_path / "undo.jsonl"
    manifest.write_text('{"manifest": "dataset-forge undo", "version": 1, "action": "x"}\n'
                        f"{line}\n")
    result = run_cli("undo", manifest, "--apply")
    assert result.returncode == 2, result
    assert result.stderr.strip() == f"error: {manifest} line 2: {problem}; fix or remove that line"
