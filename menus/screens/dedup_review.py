"""Review duplicate groups before anything is removed: each group's files with previews, the
file that will be kept, and a key to keep another one instead. Applying writes the choices
next to the report and reruns the deduplication action with `--apply` and those choices."""
from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from dataset_forge.reports.report import Report

from ..widgets.title_bar import TitleBar
from ..dedup_groups import DuplicateGroup, load_groups, resolve, write_choices
from ..widgets.image_preview import preview

CHOICES_FILE = "dedup_choices.json"
CHOICE_PARAMS = ("choices", "keep_choices", "decisions", "review")  # first one the action declares


def group_label(index: int, group: DuplicateGroup) -> str:
    return f"{index + 1:>3}. {len(group.files)} files, keep {Path(group.keep).name}"


def member_label(group: DuplicateGroup, path: str) -> str:
    return ("[b green]KEEP[/] " if path == group.keep else "[red]drop[/] ") + path


class DedupReviewScreen(Screen):
    BINDINGS = [
        Binding("k", "keep", "Keep this file"),
        Binding("a", "apply", "Apply choices"),
        Binding("w", "write", "Save choices"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report
        self.groups = load_groups(report)
        self.group_index = 0

    def compose(self) -> ComposeResult:
        yield TitleBar("Review duplicates")
        yield Label(f"[b]{len(self.groups)} duplicate groups[/b]  K keeps the highlighted file, "
                    "A applies", id="review-title", markup=True)
        with Horizontal(id="review-body"):
            yield OptionList(*[Option(group_label(i, g)) for i, g in enumerate(self.groups)],
                             id="review-groups")
            with Vertical(id="review-detail"):
                yield OptionList(id="review-members")
                with Horizontal(id="review-previews"):
                    yield Vertical(id="preview-keep", classes="preview-slot")
                    yield Vertical(id="preview-other", classes="preview-slot")
        yield Footer()

    def on_mount(self) -> None:
        if self.groups:
            self.query_one("#review-groups", OptionList).highlighted = 0
            self._show_group(0)

    @property
    def group(self) -> DuplicateGroup:
        return self.groups[self.group_index]

    def _show_group(self, index: int) -> None:
        self.group_index = index
        members = self.query_one("#review-members", OptionList)
        members.clear_options()
        members.add_options([Option(member_label(self.group, f)) for f in self.group.files])
        members.highlighted = 0
        self._show_previews(self.group.files[0])

    def _show_previews(self, other: str) -> None:
        pictures = self.app.pictures
        for slot, path, title in (("#preview-keep", self.group.keep, "kept"),
                                  ("#preview-other", other, "highlighted")):
            box = self.query_one(slot, Vertical)
            box.remove_children()
            box.border_title = title
            box.mount(preview(resolve(self.report, path), pictures=pictures))

    @on(OptionList.OptionHighlighted, "#review-groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_group(event.option_index)

    @on(OptionList.OptionHighlighted, "#review-members")
    def _member_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_previews(self.group.files[event.option_index])

    @on(OptionList.OptionSelected, "#review-members")
    def action_keep(self) -> None:
        members = self.query_one("#review-members", OptionList)
        if not self.groups or members.highlighted is None:
            return
        self.group.keep = self.group.files[members.highlighted]
        for i, path in enumerate(self.group.files):
            members.replace_option_prompt_at_index(i, member_label(self.group, path))
        self.query_one("#review-groups", OptionList).replace_option_prompt_at_index(
            self.group_index, group_label(self.group_index, self.group))
        self._show_previews(self.group.keep)

    def choices_path(self) -> Path:
        report_file = self.report.files.get("report")
        folder = Path(report_file).parent if report_file else Path.cwd()
        return folder / CHOICES_FILE

    def action_write(self) -> Path:
        path = write_choices(self.groups, self.choices_path())
        self.notify(str(path), title="Choices saved")
        return path

    def action_apply(self) -> None:
        path = self.action_write()
        action = self.app.actions.get(self.report.action)
        names = {p.name for p in action.params} if action else set()
        param = next((n for n in CHOICE_PARAMS if n in names), None)
        if action is None or param is None or "apply" not in names:
            self.notify(f"{self.report.action} cannot take reviewed choices; they are saved in "
                        f"{path}", severity="warning")
            return
        if "mode" in names and self.report.params.get("mode") in (None, "report"):
            self.notify(f"This run only reported (mode report), so applying would change no "
                        f"files. Choices are saved in {path}; run {self.report.action} again "
                        "with a mode (move, remove, ...) and these choices.",
                        title="Nothing to apply", severity="warning")
            return
        raw = {k: v for k, v in self.report.params.items() if k in names and v is not None}
        self.app.start_run(action, {**raw, "apply": True, param: str(path)})
