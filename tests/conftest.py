"""Shared fixtures: isolated settings and logs, a real-subprocess CLI runner, image makers."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
#: CLI flags for quick runs in tests: two threads (no process pool to start)
FAST = ("--processing-type", "thread", "--workers", "2")


def tree_digest(root: Path, skip_journal: bool = False) -> dict[str, str]:
    """{relative posix path: sha256} of every file under `root`, to prove a tree unchanged;
    `skip_journal` leaves out the `.forge-journal` folders an action keeps beside its files."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*"))
            if p.is_file() and not (skip_journal and ".forge-journal" in p.parts)}


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own settings file, log folder and report folder."""
    home = tmp_path_factory.mktemp("forge-home")
    settings = home / "settings.toml"
    settings.write_text(f'[logging]\ndir = "{home / "logs"}"\n\n[reports]\ndir = "{home / "reports"}"\n')
    monkeypatch.setenv("DATASET_FORGE_SETTINGS", str(settings))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))  # the trash of CLI subprocesses
    return settings


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr

    def json(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"<rc={self.returncode}\nstdout={self.stdout[-2000:]}\nstderr={self.stderr[-2000:]}>"


@pytest.fixture
def run_cli():
    """Run `python -m dataset_forge ARGS` in a real subprocess, as users meet it."""
    def run(*args, timeout: float = 180, env: dict | None = None, cwd: Path | None = None) -> CliResult:
        full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "dataset_forge", *map(str, args)],
                              capture_output=True, text=True, timeout=timeout, env=full_env,
                              cwd=cwd, stdin=subprocess.DEVNULL)
        return CliResult(proc)
    return run


@pytest.fixture
def kill_cli_midway():
    """kill_cli_midway(args, journal, lines, env=None): start `python -m dataset_forge ARGS`,
    SIGKILL its whole process group once `journal` holds `lines` entries, and wait for it.
    Fails if the run ended before it could be killed."""
    import signal
    import time

    def run(args, journal: Path, lines: int, env: dict | None = None) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "dataset_forge", *map(str, args)],
                                env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= lines:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return run


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth-plus-texture RGB array that behaves like a photo for hashes and codecs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    freq = rng.uniform(0.01, 0.06, 3)
    channels = [127 + 80 * np.sin(x * freq[i] + phase[i]) * np.cos(y * freq[(i + 1) % 3])
                for i in range(3)]
    arr = np.stack(channels, axis=-1) + rng.normal(0, 12, (height, width, 3))
    cx, cy, r = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height, min(width, height) / 4
    arr[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
    return np.clip(arr, 0, 255).astype(np.uint8)


@pytest.fixture
def make_image():
    """make_image(path, size=(w, h), seed=0, mode="RGB", **save_kwargs) -> Path"""
    def make(path: Path, size=(64, 48), seed: int = 0, mode: str = "RGB", **save_kwargs) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(photo_like(*size, seed=seed), "RGB")
        if mode != "RGB":
            im = im.convert(mode)
        im.save(path, **save_kwargs)
        return path
    return make


@pytest.fixture
def image_folder(tmp_path, make_image) -> Path:
    """A small folder of distinct images in a few formats, one sub-folder deep."""
    root = tmp_path / "images"
    for i in range(6):
        make_image(root / f"img_{i}.png", seed=i)
    for i in range(3):
        make_image(root / "sub" / f"photo_{i}.jpg", size=(80, 60), seed=10 + i, quality=90)
    return root
