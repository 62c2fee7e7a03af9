"""The run log: one JSON line per run, appended to `<logging.dir>/runs.jsonl`."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def append_run(log_dir: Path, record: dict[str, Any]) -> Path:
    """Append `record` (plus a timestamp) as one line; O_APPEND keeps concurrent runs whole."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "runs.jsonl"
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}, default=str)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
    return path
