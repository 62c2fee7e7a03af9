"""The help screen: keys, screens, and how the app maps to the command line."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Dataset Forge

Every action here is also a headless command: the form shows the exact
`dataset-forge --action ...` line, so what you do here can be scripted.

## Keys

| key | does |
|---|---|
| Up/Down or j/k, Enter | move and open in lists |
| Tab / Shift+Tab | next / previous field or list |
| 1 to 9, 0 | jump to a group on the main menu (0 is the tenth) |
| Ctrl+P | command palette: search every action and screen |
| Ctrl+R | run the action from its form |
| F2 | on an image-writing action's form: before and after on one sample (nothing is written to the output) |
| Escape | back (screens opened from the palette replace each other: one Escape reaches the menu); on a running job: cancel it (finished items are kept) |
| S, Q | on the main menu: settings, quit |
| ?, F1 | this help, on every screen (? is text in a field) |
| Home, g h | back to the main menu from anywhere |
| Left/Right, y/n | in a question: move between answers, answer yes / no |
| Ctrl+Q | quit, everywhere (asks first while a job runs) |

## Screens

- **Main menu**: action families on the left, their actions on the right.
- **Action form**: generated from the action's declaration; problems show under each field
  as you type; Browse opens a folder picker; F2 previews the options on one sample.
- **Run**: progress, done and failed counts, throughput, ETA, failures as they happen, and
  the live system panel. Escape stops the run within about a second.
- **Results**: every table of the report, the failures and the files written, with the
  path of the JSON (and HTML) report. Deduplication reports open a review screen.
- **Settings**: the settings file, validated, saved with its comments kept, used by the
  next run.
- **Duplicate review** (D on dedup results): space keeps or drops a file, Enter makes it the
  kept one, 1 to 6 sort, l r n f keep the largest / highest resolution / newest / in-folder
  file of every group, c compares two files zoomed side by side, a applies (move, trash,
  links or copies; the undo command is shown after), w saves the plan, [ ] change group.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
