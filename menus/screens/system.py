"""System information: the machine's facts (collected once, in a worker) and live use."""
from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from dataset_forge.sysinfo import SystemInfo, collect

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..widgets.sysinfo_panel import SysInfoPanel, gib


def facts_text(info: SystemInfo) -> str:
    lines = [f"[b]CPU[/b]    {info.cpu.model}",
             f"        {info.cpu.physical_cores} physical / {info.cpu.logical_cores} logical cores",
             f"[b]RAM[/b]    {gib(info.memory.available_bytes)} free of {gib(info.memory.total_bytes)}",
             f"[b]Disk[/b]   {gib(info.disk.free_bytes)} free of {gib(info.disk.total_bytes)} "
             f"({info.disk.path})",
             f"[b]OS[/b]     {info.os}", f"[b]Python[/b] {info.python}"]
    torch = info.torch
    lines.append(f"[b]Torch[/b]  {torch.version or 'not installed'}"
                 + ("  CUDA" if torch.cuda_available else "") + ("  MPS" if torch.mps_available else ""))
    for gpu in torch.gpus:
        lines.append(f"[b]GPU{gpu.index}[/b]   {gpu.name}: {gib(gpu.free_bytes)} free of "
                     f"{gib(gpu.total_bytes)}")
    if not torch.gpus:
        lines.append("[b]GPU[/b]    none found")
    return "\n".join(lines)


class SystemScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield TitleBar("System information")
        with Horizontal(id="system-body"):
            yield Static("collecting...", id="facts", markup=True)
            yield SysInfoPanel(self.app.sample_source, id="sysinfo")
        yield ForgeFooter()

    def on_mount(self) -> None:
        self._collect()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _collect(self) -> None:
        """torch's import can take seconds, so facts are gathered off the UI thread."""
        try:
            text = facts_text(collect(self.app.folder if self.app.folder.exists() else None))
        except Exception as exc:  # noqa: BLE001
            text = f"could not collect system facts: {exc}"
        self.app.call_from_thread(self.query_one("#facts", Static).update, text)
