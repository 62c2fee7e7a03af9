"""Tests for dataset_forge.sysinfo and the ``sysinfo`` subcommand."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from dataset_forge import sysinfo
from dataset_forge.commands import sysinfo_cmd


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dataset-forge")
    sysinfo_cmd.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_collect_values_are_sane(tmp_path):
    info = sysinfo.collect(tmp_path)
    assert info.cpu.logical_cores >= info.cpu.physical_cores >= 1
    assert info.cpu.model
    assert 0 < info.memory.available_bytes <= info.memory.total_bytes
    assert 0 <= info.disk.free_bytes <= info.disk.total_bytes
    assert info.disk.path == str(tmp_path.resolve())
    assert info.python == "{}.{}.{}".format(*sys.version_info[:3])
    assert info.os
    assert info.cluster is None
    if info.torch.version is None:
        assert not info.torch.cuda_available and info.torch.gpus == ()
    if not info.torch.cuda_available:
        assert info.torch.gpus == ()
    for gpu in info.torch.gpus:
        assert 0 <= gpu.free_bytes <= gpu.total_bytes


def test_collect_defaults_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sysinfo.collect().disk.path == str(tmp_path.resolve())


def test_to_dict_json_round_trip(tmp_path):
    d = sysinfo.collect(tmp_path).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {"cpu", "memory", "disk", "os", "python", "torch", "cluster"}


def test_collect_without_torch(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    info = sysinfo.collect(tmp_path)
    assert info.torch == sysinfo.TorchInfo(version=None)


def test_collect_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        sysinfo.collect(tmp_path / "nope")


def test_module_import_does_not_import_torch():
    code = "import sys, dataset_forge.sysinfo, dataset_forge.commands.sysinfo_cmd; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_live_sample_shapes(tmp_path):
    sysinfo.live_sample(tmp_path)  # first call primes psutil's CPU counters
    s = sysinfo.live_sample(tmp_path)
    assert len(s.cpu_percent) == sysinfo.collect(tmp_path).cpu.logical_cores
    assert all(0.0 <= p <= 100.0 for p in s.cpu_percent)
    assert 0 < s.ram_used_bytes <= s.ram_total_bytes
    assert s.disk_free_bytes > 0
    assert all(b >= 0 for b in s.gpu_used_bytes)
    assert json.loads(json.dumps(s.to_dict())) == s.to_dict()


def test_live_sample_skips_torch_when_not_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert sysinfo.live_sample().gpu_used_bytes == ()
    assert "torch" not in sys.modules


def test_cli_table(capsys, tmp_path):
    assert _run(["sysinfo", "--path", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "CPU" in out and "RAM" in out and "Python" in out


def test_cli_json(capsys, tmp_path):
    assert _run(["sysinfo", "--json", "--path", str(tmp_path)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["disk"]["path"] == str(tmp_path.resolve())
    assert d["cpu"]["logical_cores"] >= 1


def test_cli_missing_path(capsys, tmp_path):
    assert _run(["sysinfo", "--path", str(tmp_path / "missing")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
