"""The review screen's questions: which folder's files to keep, how to apply the plan (mode,
destination, and exactly what will change: the engine's own list of operations), and what was
done (with the undo command).

    push_screen(ApplyDialog(plan, mode="move", dest=Path("dupes")), callback)  # ApplyChoice|None
    push_screen(AppliedDialog(report, "dataset-forge undo ... --apply"))
    push_screen(FolderChoice([Path("a"), Path("b")]), callback)                # Path | None
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, RadioButton, RadioSet, Static

from dataset_forge.dedup.fileops import plan_file_ops
from dataset_forge.dedup.plan import Plan
from dataset_forge.reports.report import Report

from ..dedup_groups import human_bytes

# (engine mode, label, needs a folder); "remove" without a folder is the system trash
MODES = [("move", "Move to a folder", True), ("remove", "Send to the system trash", False),
         ("hardlink", "Hard-link into a folder (originals stay)", True),
         ("symlink", "Symlink into a folder (originals stay)", True),
         ("copy", "Copy into a folder (originals stay)", True)]
SHOWN_OPS = 6
MODE_KEYS = Binding.Group("Mode ", compact=True)


@dataclass(frozen=True)
class ApplyChoice:
    mode: str
    dest: Path | None


def describe(plan: Plan, mode: str, dest: Path | None, allow_large: bool) -> str:
    """What applying would change, from the engine's own operation list."""
    planned = plan_file_ops(plan, mode, dest, allow_large=allow_large)
    ops = planned.ops
    if not ops:
        return "Nothing to do: every group keeps all its files."
    size = sum(g.members[k].bytes for g in plan.groups for k in g.dropped
               if not (g.large and not allow_large))
    verb = {"move": "moved", "trash": "sent to the system trash", "copy": "copied",
            "hardlink": "hard-linked", "symlink": "symlinked"}[ops[0].op]
    where = f" into {dest}" if ops[0].dst is not None and dest is not None else ""
    kept_paths = "; relative paths kept" if ops[0].dst is not None else ""
    lines = [f"[b]{len(ops):,} file(s) will be {verb}{escape(where)}[/b] "
             f"({human_bytes(size)} of duplicates{kept_paths}); every kept file stays where "
             "it is."]
    if planned.withheld:
        lines.append(f"{len(planned.withheld)} large group(s) are left alone.")
    root = Path(plan.meta.get("input") or "/")
    for op in ops[:SHOWN_OPS]:
        src = op.src.relative_to(root) if op.src.is_relative_to(root) else op.src
        dst = op.dst.relative_to(dest) if op.dst and dest and op.dst.is_relative_to(dest) \
            else op.dst
        lines.append(f"  {op.op} {escape(str(src))}" + (f" -> {escape(str(dst))}" if dst else ""))
    if len(ops) > SHOWN_OPS:
        lines.append(f"  ... and {len(ops) - SHOWN_OPS:,} more")
    lines.append("An undo manifest is written first; the undo command is shown after.")
    return "\n".join(lines)


class ApplyDialog(ModalScreen[ApplyChoice | None]):
    BINDINGS = [
        *[Binding(str(n), f"mode({n - 1})", label, group=MODE_KEYS)
          for n, (_, label, _) in enumerate(MODES, 1)],
        Binding("y", "apply", "Apply"),
        Binding("n,escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, plan: Plan, *, mode: str, dest: Path, allow_large: bool) -> None:
        super().__init__()
        self.plan = plan
        self.mode = mode if mode in {m for m, _, _ in MODES} else "move"
        self.dest = dest
        self.allow_large = allow_large

    def compose(self) -> ComposeResult:
        with Vertical(id="apply-box"):
            yield Label("[b]Apply the reviewed plan[/b] (no second search)", markup=True)
            with RadioSet(id="apply-mode", compact=True):
                for n, (mode, label, _) in enumerate(MODES, 1):
                    yield RadioButton(f"{n} {label}", value=mode == self.mode, id=f"mode-{mode}")
            with Horizontal(id="apply-dest-row"):
                yield Label("Folder: ")
                yield Input(str(self.dest), id="apply-dest", compact=True,
                            placeholder="folder for the duplicates")
            with VerticalScroll(id="apply-scroll"):
                yield Static("", id="apply-changes")
            with Horizontal(id="apply-buttons"):
                yield Button("Apply (y)", id="apply-yes", variant="error", compact=True)
                yield Button("Cancel (n)", id="apply-no", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(RadioSet).focus()
        self._update()

    def needs_folder(self) -> bool:
        return next(f for m, _, f in MODES if m == self.mode)

    def choice(self) -> ApplyChoice | str:
        """The choice, or why it cannot be applied."""
        if not self.needs_folder():
            return ApplyChoice(self.mode, None)
        text = self.query_one("#apply-dest", Input).value.strip()
        if not text:
            return "give a folder for the duplicates"
        dest = Path(text).expanduser()
        root = self.plan.meta.get("input")
        if root and dest.resolve().is_relative_to(Path(root).resolve()):
            return f"{dest} is inside the input {root}: choose a folder outside it"
        return ApplyChoice(self.mode, dest)

    def _update(self) -> None:
        self.query_one("#apply-dest", Input).disabled = not self.needs_folder()
        choice = self.choice()
        text = f"[b red]{escape(choice)}[/b red]" if isinstance(choice, str) else \
            describe(self.plan, choice.mode, choice.dest, self.allow_large)
        self.query_one("#apply-changes", Static).update(text)

    @on(RadioSet.Changed)
    def _mode_changed(self, event: RadioSet.Changed) -> None:
        self.mode = MODES[event.index][0]
        self._update()

    @on(Input.Changed, "#apply-dest")
    def _dest_changed(self) -> None:
        self._update()

    def action_mode(self, index: int) -> None:
        self.query_one(f"#mode-{MODES[index][0]}", RadioButton).value = True

    @on(Button.Pressed, "#apply-yes")
    @on(Input.Submitted, "#apply-dest")
    def action_apply(self) -> None:
        choice = self.choice()
        if isinstance(choice, str):
            self.notify(choice, title="Not applied", severity="warning")
            return
        self.dismiss(choice)

    @on(Button.Pressed, "#apply-no")
    def _cancel(self) -> None:
        self.dismiss(None)


class AppliedDialog(ModalScreen[None]):
    """What the apply run did, and the command that undoes it."""

    BINDINGS = [Binding("c", "copy", "Copy undo command"),
                Binding("escape,enter", "dismiss(None)", "Close")]

    def __init__(self, report: Report, undo: str | None) -> None:
        super().__init__()
        self.report = report
        self.undo = undo

    def compose(self) -> ComposeResult:
        applied = self.report.summary.get("applied") or {}
        done = ", ".join(f"{n} {what}" for what, n in applied.items()) or "nothing"
        failed = len(self.report.failures)
        lines = [f"[b]Applied:[/b] {done}" + (f", [red]{failed} failed[/red]" if failed else "")]
        if self.report.cancelled:
            lines.append("[b yellow]Stopped before the end[/b yellow]: what was done is in the undo "
                         "manifest; the rest was not touched.")
        for f in self.report.failures[:5]:
            lines.append(f"  [red]{escape(f.item)}[/red]: {escape(f.message)}")
        lines.append("")
        lines.append("[b]Undo[/b] (puts every file back):" if self.undo else "Nothing to undo.")
        with Vertical(id="applied-box"):
            yield Static("\n".join(lines), id="applied-text")
            if self.undo:
                yield Static(escape(self.undo), id="undo-command")
        yield Footer(compact=True)

    def action_copy(self) -> None:
        if self.undo:
            self.app.copy_to_clipboard(self.undo)
            self.notify(self.undo, title="Copied")


class FolderChoice(ModalScreen[Path | None]):
    """Keep, in every group, the file in one folder: the folders holding group members, or any
    folder typed in."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, folders: list[Path]) -> None:
        super().__init__()
        self.folders = folders

    def compose(self) -> ComposeResult:
        with Vertical(id="folder-box"):
            yield Label("Keep, in every group, the file in this folder (Enter):")
            yield OptionList(*[escape(str(f)) for f in self.folders], id="folder-list")
            yield Input(placeholder="or type a folder and press Enter", id="folder-input")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#folder-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.folders[event.option_index])

    @on(Input.Submitted, "#folder-input")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())
