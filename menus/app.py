"""The Dataset Forge terminal workbench.

    dataset-forge app assets/demo          # or: make run
    ForgeApp("assets/demo").run()

`ForgeApp` holds what every screen shares (the dataset folder, the settings path, the actions,
the last values of each form, the system-sample source) and the moves between screens; the
screens do the rest. `sample_source` and `pictures` exist so tests and snapshots are
deterministic.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from dataset_forge.actions.registry import Action, all_actions
from dataset_forge.errors import EXIT_OK, EXIT_USAGE
from dataset_forge.reports.report import Report
from dataset_forge.settings import SettingsError, load_settings, resolve_settings_path, set_value
from dataset_forge.sysinfo import live_sample

from .catalog import MenuEntry
from .palette import ActionCommands
from .prefill import initial_values
from .widgets.sysinfo_panel import SampleSource

STYLESHEET = Path(__file__).resolve().parents[1] / "assets" / "forge.tcss"


def start_process_helpers() -> None:
    """Start multiprocessing's resource tracker and fork server while sys.stderr is still the
    real one: started later, inside Textual (which replaces sys.stderr), they fail with
    "bad value(s) in fds_to_keep" and process-pool actions could not run from the app."""
    from multiprocessing import forkserver, resource_tracker
    try:
        resource_tracker.ensure_running()
        forkserver.ensure_running()
    except Exception:  # noqa: BLE001 - a platform without them uses another start method
        pass


class ForgeApp(App):
    TITLE = "Dataset Forge"
    CSS_PATH = str(STYLESHEET)
    COMMANDS = App.COMMANDS | {ActionCommands}
    # q and s are bound on the main menu only: here they would fire while a form's button or
    # switch has focus. ?, g and h are not priority bindings, so a focused Input keeps them as text.
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("home", "home", "Menu (g h)", key_display="Home", priority=True),
        Binding("g", "leader", show=False),
        Binding("h", "leader_home", show=False),
        Binding("j", "list_move('down')", show=False),
        Binding("k", "list_move('up')", show=False),
    ]
    # a screen class the stylesheet lays out by: -short (under 32 rows, as 80x24) packs forms
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    LEADER_SECONDS = 1.5   # `g` then `h` within this goes home
    QUIT_GRACE_S = 10.0    # a stopped job that has not ended by then is left to the interpreter

    def __init__(self, folder: str = ".", settings_path: str | None = None, *,
                 actions: dict[str, Action] | None = None,
                 sample_source: SampleSource | None = None, pictures: bool = True) -> None:
        super().__init__()
        start_process_helpers()
        self.folder = Path(folder)
        self.settings_flag = settings_path          # shown in the headless command when given
        self.settings_path = resolve_settings_path(settings_path)
        self.actions = actions if actions is not None else all_actions()
        self.sample_source: SampleSource = sample_source or (lambda: live_sample(self._disk_path()))
        self.pictures = pictures
        self.form_memory: dict[str, dict[str, Any]] = {}
        self.sub_title = str(folder)
        self._leader_at = 0.0
        self.quitting = False    # Stop and quit chosen: exit when the last job has ended

    def _disk_path(self) -> str | None:
        return str(self.folder) if self.folder.exists() else None

    def on_mount(self) -> None:
        from .screens.main_menu import MainMenu
        self.push_screen(MainMenu())
        loaded = load_settings(self.settings_path)
        for error in loaded.errors:
            self.notify(f"{error} (using the default)", title="Settings file", severity="warning")
        if loaded.settings.ui.theme in self.available_themes:
            self.theme = loaded.settings.ui.theme

    def watch_theme(self, theme: str) -> None:
        """Save a theme chosen in the app to the settings (ui.theme), for the next start."""
        if not self.is_mounted or load_settings(self.settings_path).settings.ui.theme == theme:
            return
        try:
            set_value(self.settings_path, "ui.theme", theme)
        except SettingsError as exc:
            self.notify(str(exc), title="Theme not saved", severity="warning")

    # ------------------------------------------------------------------ navigation

    def go(self, screen: Screen) -> None:
        """Open `screen` from anywhere (menu, palette, system commands): it replaces whatever is
        above the main menu, so one Escape always leads back to the menu. While a job runs, its
        screens stay and `screen` stacks on top of them."""
        if not self.running_jobs():
            self._unwind()
        self.push_screen(screen)

    def _unwind(self) -> None:
        """Pop every screen above the main menu."""
        from .screens.main_menu import MainMenu
        while len(self.screen_stack) > 1 and not isinstance(self.screen, MainMenu):
            self.pop_screen()

    def action_home(self) -> None:
        """Back to the main menu from anywhere; a running job is cancelled with Escape first."""
        if self.running_jobs():
            self.notify("A job is running: Escape cancels it, then Home leads to the main menu.",
                        title="Home", severity="warning")
            return
        self._unwind()

    def action_leader(self) -> None:
        self._leader_at = time.monotonic()

    def action_leader_home(self) -> None:
        if time.monotonic() - self._leader_at <= self.LEADER_SECONDS:
            self._leader_at = 0.0
            self.action_home()

    def action_list_move(self, direction: str) -> None:
        """j/k: down/up in the focused list or table (screens may bind j/k for themselves)."""
        from textual.widgets import DataTable, OptionList
        if isinstance(self.focused, (OptionList, DataTable)):
            getattr(self.focused, f"action_cursor_{direction}")()

    def open_entry(self, entry: MenuEntry) -> None:
        if entry.action is not None:
            self.open_action(entry.action.name)
        elif entry.screen == "recipe":
            from .screens.recipe import RecipeForm
            self.go(RecipeForm(Path(entry.path)))
        else:
            {"settings": self.action_settings, "system": self.action_system,
             "help": self.action_help}[entry.screen]()

    def open_action(self, name: str) -> None:
        from .screens.action_form import ActionForm
        action = self.actions[name]
        values = self.form_memory.get(name) or initial_values(action, str(self.folder))
        self.go(ActionForm(action, values))

    def start_run(self, action: Action, raw_params: dict[str, Any]) -> None:
        from .screens.run import RunScreen
        self.push_screen(RunScreen(action, raw_params))

    def show_results(self, report: Report) -> None:
        """Replace the (current) run screen with the results."""
        from .screens.results import ResultsScreen
        self.switch_screen(ResultsScreen(report))

    def announce(self, text: str, *, error: bool = False) -> None:
        """A toast and the terminal bell, as the settings' ui.notify and ui.bell allow."""
        ui = load_settings(self.settings_path).settings.ui
        if ui.notify or error:
            self.notify(text, title="Run ended", severity="error" if error else "information")
        if ui.bell:
            self.bell()

    def running_jobs(self) -> list[Any]:
        from .screens.job import JobScreen
        return [s for s in self.screen_stack if isinstance(s, JobScreen) and s.running]

    async def action_quit(self) -> None:
        """Quit; while a job runs, ask first, then stop it as Escape does: the run screen shows
        what finished while the items in flight end (about a second), then the app exits."""
        from .screens.confirm import Choice
        if not self.running_jobs():
            await super().action_quit()
            return
        if isinstance(self.screen, Choice) or self.quitting:
            return

        def answered(answer: str | None) -> None:
            if answer == "quit":
                self.stop_and_quit()
        self.push_screen(Choice("A job is running. Quit and stop it? Finished items are kept.",
                                [("stay", "Keep running"), ("quit", "Stop and quit")],
                                yes="quit", no="stay"), answered)

    def stop_and_quit(self) -> None:
        """Cancel every running job and exit once they have ended (or after QUIT_GRACE_S)."""
        self.quitting = True
        for screen in self.running_jobs():
            stop = getattr(screen, "stop_for_quit", None)
            stop() if stop else screen.cancel_token.cancel()
        self.set_timer(self.QUIT_GRACE_S, self.exit)
        self.set_interval(0.05, self._exit_when_idle)

    def _exit_when_idle(self) -> None:
        if not self.running_jobs():
            self.exit()

    def action_help(self) -> None:
        from .screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())   # modal: it stacks and closes back to where it opened

    def action_settings(self) -> None:
        from .screens.settings import SettingsScreen
        if not isinstance(self.screen, SettingsScreen):
            self.go(SettingsScreen())

    def action_system(self) -> None:
        from .screens.system import SystemScreen
        if not isinstance(self.screen, SystemScreen):
            self.go(SystemScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Settings", "Edit the settings file", self.action_settings)
        yield SystemCommand("System information", "CPU, RAM, disk and GPU", self.action_system)
        yield SystemCommand("Help", "Keys and screens", self.action_help)


def run_app(folder: str, settings_path: str | None = None) -> int:
    """Open the app on `folder`; the exit code for `dataset-forge app`."""
    if not Path(folder).is_dir():
        why = "is a file, expected a folder" if Path(folder).exists() else "no such folder"
        print(f"error: {folder}: {why}", file=sys.stderr)
        return EXIT_USAGE
    from .widgets.image_preview import prepare
    prepare()  # textual-image asks the terminal about itself before Textual takes over
    ForgeApp(folder, settings_path).run()
    return EXIT_OK
