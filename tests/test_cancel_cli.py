"""Ctrl-C in the CLI: the run stops within about a second, leaves no worker processes and no
half-written file, and reports what it finished."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

from dataset_forge.io import leftover_temporaries


def test_ctrl_c_stops_cleanly(make_image, tmp_path):
    src = tmp_path / "src"
    for i in range(60):
        make_image(src / f"im_{i:03d}.png", size=(320, 240), seed=i)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dataset_forge", "--action", "convert", "--input", str(src),
           "--output", str(out), "--format", "avif", "--processing-type", "process",
           "--workers", "2", "--chunk-size", "1", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.avif")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.glob("*.avif")), "no output appeared"
    workers = parent.children(recursive=True)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 20.0, "did not stop"  # loose: busy CI machines
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    time.sleep(0.3)
    alive = [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"worker processes left behind: {alive}"
    assert leftover_temporaries(out) == []
    finished = sorted(out.glob("*.avif"))
    assert 0 < len(finished) < 60
    from PIL import Image
    for path in finished:  # every file that exists is whole
        with Image.open(path) as im:
            im.load()
    report = json.loads(stdout)
    assert report["cancelled"] is True
