"""The app's pure helpers: the headless command, form fields, prefill, progress text, the
system panel's text and the duplicate-group reader."""
from __future__ import annotations

import json

from dataset_forge.actions.common import INPUT
from dataset_forge.actions.registry import Action, Family, Param, Reads
from dataset_forge.reports.report import Report
from dataset_forge.settings import spec_for
from dataset_forge.sysinfo import LiveSample
from menus.commandline import headless_command
from menus.dedup_groups import has_groups, load_plan
from menus.fields import from_param, from_setting
from menus.prefill import initial_values
from menus.widgets.run_progress import progress_line
from menus.widgets.sysinfo_panel import render_sample

ACTION = Action("demo", Family.TRANSFORM, "demo", run=lambda c, p: None, params=(
    INPUT, Param("hq", "dir", required=True), Param("lq", "dir"), Param("scale", "int", 2, "factor", min=1, max=8),
    Param("mode", "choice", "fast", choices=("fast", "exact")), Param("recursive", "bool", True),
    Param("apply", "bool", False), Param("name", "str", None)))


def test_headless_command_lists_only_what_differs_from_the_defaults():
    values = {"input": "my photos", "scale": "2", "mode": "exact", "recursive": False,
              "apply": True, "name": "  ", "hq": None}
    assert headless_command(ACTION, values, "cfg.toml") == (
        "dataset-forge --action demo --input 'my photos' --mode exact --no-recursive --apply "
        "--settings cfg.toml")


def test_fields_check_like_the_cli_and_the_settings_command(tmp_path):
    scale = from_param(ACTION.param("scale"))
    assert scale.kind == "text" and scale.check("4") is None and scale.check("") is None
    assert scale.check("9") == "--scale '9': must be an integer from 1 to 8"
    folder = from_param(INPUT)
    assert folder.kind == "folder" and folder.required
    assert folder.check("") == "--input is required: folder of images to read (never modified)"
    assert folder.check(str(tmp_path)) is None
    assert from_param(ACTION.param("mode")).kind == "choice"
    workers = from_setting(spec_for("parallel.max_workers"))
    assert workers.check("3") is None and "must be an integer >= 0" in workers.check("-1")
    assert from_setting(spec_for("ui.bell")).check(False) is None


def test_prefill_uses_the_dataset_folder_and_its_hq_lq_subfolders(tmp_path):
    for name in ("hq", "lq_x4", "lq_x2"):
        (tmp_path / name).mkdir()
    values = initial_values(ACTION, str(tmp_path))
    assert values["input"] == str(tmp_path)
    assert (values["hq"], values["lq"]) == (str(tmp_path / "hq"), str(tmp_path / "lq_x2"))
    assert (values["scale"], values["recursive"]) == (2, True)
    beside_input = Action("b", Family.COMPRESS, "b", run=lambda c, p: None,
                          params=(INPUT, Param("hq", "dir"), Param("lq", "dir")))
    assert initial_values(beside_input, str(tmp_path)) == {"input": str(tmp_path), "hq": None,
                                                           "lq": None}


def test_prefill_follows_what_the_action_reads_on_the_dataset_layout(tmp_path, make_image):
    make_image(tmp_path / "hq" / "a.png")
    make_image(tmp_path / "lq_x2" / "a.png", size=(32, 24))
    (tmp_path / "notes").mkdir()                         # no images: not a candidate
    make_image(tmp_path / "mixed" / "b.png")
    params = (Param("input", "dir"), Param("hq", "dir"), Param("lq", "dir"))

    def first(reads: str) -> dict:
        action = Action("x", Family.DEDUP, "x", run=lambda c, p: None, params=params, reads=reads)
        return {k: v for k, v in initial_values(action, str(tmp_path)).items() if v}
    assert first(Reads.UNPAIRED) == {"input": str(tmp_path / "mixed")}
    assert first(Reads.HQ) == {"input": str(tmp_path / "hq")}
    assert first(Reads.LQ) == {"input": str(tmp_path / "lq_x2")}
    assert first(Reads.DATASET) == {"input": str(tmp_path)}
    assert first("") == first(Reads.PAIRS) == {"hq": str(tmp_path / "hq"),
                                               "lq": str(tmp_path / "lq_x2")}
    (tmp_path / "mixed" / "b.png").unlink()              # nothing unpaired: the pairs
    assert first(Reads.UNPAIRED) == first(Reads.PAIRS)


def test_progress_line_counts_rate_and_eta():
    assert progress_line(50, 2, 150, 10.0, "pairs") == "50/150 pairs done, 2 failed, 5.0/s, ETA 0:20"
    assert progress_line(7, 0, None, 0.0) == "7 items done, 0 failed, 0.0/s, ETA --:--"


def test_system_panel_text_shows_each_core_ram_disk_and_gpus():
    sample = LiveSample(cpu_percent=(30.0, 95.0), ram_used_bytes=2 * 2**30,
                        ram_total_bytes=8 * 2**30, disk_free_bytes=10 * 2**30,
                        gpu_used_bytes=(3 * 2**30,))
    text = render_sample(sample).plain
    assert "  0 ███░░░░░░░  30%" in text and "  1 ██████████  95%" in text
    assert "2.0G of 8.0G" in text and "10.0G free" in text and "GPU0 3.0G used" in text


def test_review_reads_the_typed_plan_and_refuses_other_files(tmp_path):
    from dataset_forge.dedup.plan import Plan, PlanGroup, PlanMember, write_plan
    members = [PlanMember(n, str(tmp_path / n), 1, 1) for n in ("a.png", "b.png")]
    path = write_plan(tmp_path / "dedup_groups.json",
                      Plan({}, [PlanGroup(1, members, 1), PlanGroup(2, members[:1], 0)]))
    report = Report("dedup", {"input": tmp_path}, files={"groups_json": str(path)})
    plan = load_plan(report)
    assert has_groups(report) and [g.keeper.path for g in plan.groups] == ["b.png", "a.png"]
    assert plan.groups[0].dropped == [0]
    path.write_text(json.dumps({"groups": [{"files": ["a.png", "b.png"], "keep": "b.png"}]}))
    assert load_plan(report) is None and not has_groups(report)   # one shape: the plan
