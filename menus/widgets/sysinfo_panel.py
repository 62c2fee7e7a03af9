"""The live system panel: per-core CPU, RAM, disk and GPU memory, about once a second.

The sample comes from a callable (default `dataset_forge.sysinfo.live_sample`), so tests and
snapshots can pass a fixed one.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.widgets import Static

from dataset_forge.sysinfo import LiveSample

SampleSource = Callable[[], LiveSample]
BAR_WIDTH = 10


def gib(n: int) -> str:
    return f"{n / 2**30:.1f}G"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def render_sample(sample: LiveSample) -> Text:
    """The panel's text for one sample (pure, so it is easy to test)."""
    text = Text()
    text.append("CPU\n", style="bold")
    for i, pct in enumerate(sample.cpu_percent):
        style = "red" if pct >= 90 else "yellow" if pct >= 60 else "green"
        text.append(f"{i:>3} ")
        text.append(bar(pct / 100), style=style)
        text.append(f" {pct:3.0f}%\n")
    used, total = sample.ram_used_bytes, sample.ram_total_bytes
    text.append("RAM ", style="bold")
    text.append(bar(used / total if total else 0), style="cyan")
    text.append(f"\n    {gib(used)} of {gib(total)}\n")
    text.append("Disk ", style="bold")
    text.append(f"{gib(sample.disk_free_bytes)} free\n")
    if sample.gpu_used_bytes:
        for i, used_gpu in enumerate(sample.gpu_used_bytes):
            text.append(f"GPU{i} ", style="bold")
            text.append(f"{gib(used_gpu)} used\n")
    else:
        text.append("GPU ", style="bold")
        text.append("none in use\n", style="dim")
    return text


class SysInfoPanel(Static):
    """Refreshes itself from `source` every `interval` seconds while mounted."""

    def __init__(self, source: SampleSource, *, interval: float = 1.0, id: str | None = None) -> None:
        super().__init__(id=id, classes="sysinfo-panel")
        self.source = source
        self.interval = interval
        self.border_title = "System"

    def on_mount(self) -> None:
        self.refresh_sample()
        self.set_interval(self.interval, self.refresh_sample)

    def refresh_sample(self) -> None:
        try:
            self.update(render_sample(self.source()))
        except Exception as exc:  # noqa: BLE001 - a sensor problem must not break the screen
            self.update(Text(f"unavailable: {exc}", style="dim"))
