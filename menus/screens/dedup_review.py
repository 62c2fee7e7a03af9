"""Review duplicate groups before anything is removed: each group's files with previews and
their distance to the kept file, the file that will be kept, and a key to keep another one
instead. Saving writes the reviewed plan (dedup_plan.json) next to the report; applying runs
`dedup --plan` on it, which acts on exactly these groups without searching again and refuses if
a file changed since."""
from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from dataset_forge.dedup.plan import PlanGroup
from dataset_forge.reports.report import Report

from ..dedup_groups import load_plan, set_keep, write_reviewed
from ..widgets.image_preview import preview
from ..widgets.title_bar import TitleBar

PASSED_ON = ("mode", "dest", "allow_large_groups", "cache")   # from the reviewed run


def group_label(index: int, group: PlanGroup) -> str:
    flag = " [b red]LARGE[/]" if group.large else ""
    return f"{index + 1:>3}. {len(group.members)} files, keep {Path(group.keeper.path).name}{flag}"


def member_label(group: PlanGroup, k: int) -> str:
    m = group.members[k]
    if k == group.keep:
        return "[b green]KEEP[/] " + m.path
    if k in group.kept:
        return "[green]kept[/] " + m.path
    evidence = f" [dim](distance {m.distance:g})[/]" if m.distance is not None else ""
    return "[red]drop[/] " + m.path + evidence


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
        self.plan = load_plan(report)
        self.groups = self.plan.groups if self.plan else []
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
    def group(self) -> PlanGroup:
        return self.groups[self.group_index]

    def _show_group(self, index: int) -> None:
        self.group_index = index
        members = self.query_one("#review-members", OptionList)
        members.clear_options()
        members.add_options([Option(member_label(self.group, k))
                             for k in range(len(self.group.members))])
        members.highlighted = 0
        self._show_previews(0)

    def _show_previews(self, other: int) -> None:
        pictures = self.app.pictures
        for slot, k, title in (("#preview-keep", self.group.keep, "kept"),
                               ("#preview-other", other, "highlighted")):
            box = self.query_one(slot, Vertical)
            box.remove_children()
            box.border_title = title
            box.mount(preview(Path(self.group.members[k].file), pictures=pictures))

    @on(OptionList.OptionHighlighted, "#review-groups")
    def _group_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_group(event.option_index)

    @on(OptionList.OptionHighlighted, "#review-members")
    def _member_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_previews(event.option_index)

    @on(OptionList.OptionSelected, "#review-members")
    def action_keep(self) -> None:
        members = self.query_one("#review-members", OptionList)
        if not self.groups or members.highlighted is None:
            return
        set_keep(self.group, members.highlighted)
        for k in range(len(self.group.members)):
            members.replace_option_prompt_at_index(k, member_label(self.group, k))
        self.query_one("#review-groups", OptionList).replace_option_prompt_at_index(
            self.group_index, group_label(self.group_index, self.group))
        self._show_previews(self.group.keep)

    def plan_folder(self) -> Path:
        report_file = self.report.files.get("report")
        return Path(report_file).parent if report_file else Path.cwd()

    def action_write(self) -> Path | None:
        if self.plan is None:
            return None
        path = write_reviewed(self.plan, self.plan_folder())
        self.notify(str(path), title="Choices saved")
        return path

    def action_apply(self) -> None:
        path = self.action_write()
        if path is None:
            return
        action = self.app.actions.get(self.report.action)
        if action is None or "plan" not in {p.name for p in action.params}:
            self.notify(f"{self.report.action} cannot apply a plan; it is saved in {path}",
                        severity="warning")
            return
        if self.report.params.get("mode") in (None, "report"):
            self.notify(f"This run only reported (mode report), so applying would change no "
                        f"files. The reviewed plan is saved in {path}; apply it with "
                        f"dedup --plan {path} --mode move --dest DIR --apply (or another mode).",
                        title="Nothing to apply", severity="warning")
            return
        raw = {k: v for k, v in self.report.params.items() if k in PASSED_ON and v is not None}
        self.app.start_run(action, {**raw, "plan": str(path), "apply": True})
