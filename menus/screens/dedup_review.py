"""Review duplicate groups before anything is removed, czkawka-style: every group's files with
a thumbnail, resolution, size, format, date and distance to the kept file, sortable; keys to
keep or drop each file and to choose the kept file of every group at once; previews of the kept
and the highlighted file, a side-by-side compare at full resolution; and Apply, which runs
`dedup --plan` on the reviewed plan (no second search; refused if a file changed since) and
shows the undo command.

The choices live in the engine's typed plan (`dataset_forge.dedup.plan`); `menus.dedup_groups`
changes it, this screen only shows it and asks.
"""
from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from dataset_forge.dedup.plan import PlanGroup
from dataset_forge.errors import UsageError
from dataset_forge.parallel import CancelToken, ParallelConfig
from dataset_forge.reports.report import Report
from dataset_forge.runner import run_action
from dataset_forge.settings import load_settings

from .. import dedup_groups as review
from ..messages import EventBridge, RunAdvanced, RunStarted
from ..widgets.halfblock import is_decoded, picture, thumbnail
from ..widgets.image_preview import best_picture, text_card
from ..widgets.title_bar import TitleBar
from .dedup_apply import ApplyChoice, ApplyDialog, AppliedDialog, FolderChoice

PASSED_ON = ("allow_large_groups",)        # from the reviewed run to the apply run
COLUMNS = [("mark", ""), ("thumb", ""), ("file", "file"), ("resolution", "resolution"),
           ("size", "size"), ("distance", "distance"), ("format", "format"),
           ("modified", "modified")]
FILE_WIDTH = (16, 48)        # the file column's fewest and most cells (longer paths are cut)
OTHER_COLUMNS = 74           # cells the other columns take, with their padding
MARKS = {"KEEP": "[b reverse green]KEEP[/]", "keep": "[b green]keep[/]",
         "ref": "[cyan]ref[/]", "link": "[cyan]link[/]", "drop": "[red]drop[/]"}
KEYS = ("[b]spc[/] keep/drop [b]⏎[/] keeper [b]1-6[/] sort [b]l r n f[/] all keep largest/"
        "res/newest/folder [b]c[/] compare [b]a[/] apply [b]w[/] save [b][ ][/] group "
        "[b]t[/] thumbs")
NARROW = 118                 # narrower than this, the footer cannot show every key
THUMB = (6, 2)               # cells of a row's thumbnail
FIXED = {"mark": 4, "thumb": THUMB[0]}     # column widths that never move
SORT = Binding.Group("Sort ", compact=True)
BULK = Binding.Group("Keep in all ", compact=True)


def group_cells(index: int, group: PlanGroup, width: int) -> list[Text]:
    """A group's row in the group list: number (red, with !, when large) and the kept file's
    name cut to `width`."""
    number = Text(str(index + 1) + ("!" if group.large else ""),
                  style="b red" if group.large else "")
    return [number, Text(_cut(Path(group.keeper.path).name, width))]


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, its middle cut (the folder starts it, the name ends
    it: both tell copies apart)."""
    if len(text) <= width:
        return text
    head = (width - 1) // 3
    return text[:head] + "…" + text[-(width - 1 - head):]


class DedupReviewScreen(Screen):
    BINDINGS = [
        Binding("space", "toggle", "Keep/drop", key_display="spc"),
        Binding("enter", "keeper", "Keeper", key_display="⏎", show=False),
        *[Binding(str(n), f"sort('{col}')", f"Sort by {col}", group=SORT)
          for n, col in enumerate(review.SORT_COLUMNS, 1)],
        Binding("l", "bulk('largest')", "Largest", group=BULK),
        Binding("r", "bulk('resolution')", "Resolution", group=BULK),
        Binding("n", "bulk('newest')", "Newest", group=BULK),
        Binding("f", "bulk('folder')", "In folder", group=BULK),
        Binding("c", "compare", "Compare"),
        Binding("a", "apply", "Apply"),
        Binding("w", "write", "Save"),
        Binding("t", "thumbs", "Thumbnails", show=False),
        Binding("right_square_bracket", "group(1)", "Next group", show=False),
        Binding("left_square_bracket", "group(-1)", "Previous group", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, report: Report) -> None:
        super().__init__()
        self.report = report
        self.plan = review.load_plan(report)
        self.groups = self.plan.groups if self.plan else []
        self.group_index = 0
        self.sort_by = ("distance", False)   # the keeper first
        self.order: list[int] = []
        self.thumbs = True
        self.applied: Report | None = None
        self.allow_large = bool(report.params.get("allow_large_groups"))
        self.busy = False
        self.apply_cancel = CancelToken()
        self.apply_pass = ""
        self.slots: dict[str, tuple[str, bool]] = {}     # slot -> (file shown, picture drawn)
        self.group_names_width = 0

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield TitleBar("Review duplicates")
        yield Static("", id="review-summary")
        yield Static(KEYS, id="review-keys")
        with Horizontal(id="review-body"):
            yield DataTable(id="review-groups", cursor_type="row", zebra_stripes=False)
            with Vertical(id="review-detail"):
                yield DataTable(id="review-members", cursor_type="row", zebra_stripes=True)
                with Horizontal(id="review-previews"):
                    yield Vertical(id="preview-keep", classes="preview-slot")
                    yield Vertical(id="preview-other", classes="preview-slot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#review-members", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=FIXED.get(key))
        groups = self.query_one("#review-groups", DataTable)
        groups.add_column("#", key="n", width=len(str(len(self.groups))) + 1)
        groups.add_column("kept file", key="keeper", width=self.name_width)
        self._fill_groups()
        if self.groups:
            self._show_group(0)
            table.focus()
        else:
            self.query_one("#review-summary", Static).update(
                "No duplicate groups in this report: nothing to review.")
        self._summarise()

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW, "-narrow")
        self.call_after_refresh(self._fit_groups)
        if self.groups:
            self.call_after_refresh(self._refill)

    def _refill(self) -> None:
        self._fill_table(keep_member=self.highlighted)

    @property
    def name_width(self) -> int:
        """Cells the kept file's name may use in the group list (the other columns, their
        padding and the scroll bar off)."""
        groups = self.query_one("#review-groups", DataTable)
        fixed = len(str(len(self.groups))) + 1 + 4 + 2
        return max(6, groups.size.width - fixed)

    def _fill_groups(self) -> None:
        """Every group's row; the cursor stays on the current group."""
        groups = self.query_one("#review-groups", DataTable)
        width = self.name_width
        self.group_names_width = width
        groups.columns["keeper"].width = width
        groups.clear()
        groups.add_rows([group_cells(i, g, width) for i, g in enumerate(self.groups)])
        if self.groups:
            groups.move_cursor(row=self.group_index)

    def _fit_groups(self) -> None:
        if self.name_width != self.group_names_width:
            self._fill_groups()

    def _relabel(self, *indices: int) -> None:
        """Rows of groups whose kept file changed (all of them: `_fill_groups` after a resize)."""
        if not indices or self.name_width != self.group_names_width:
            self._fill_groups()
            return
        groups = self.query_one("#review-groups", DataTable)
        for i in indices:
            groups.update_cell_at(Coordinate(i, 1), group_cells(i, self.groups[i],
                                                                self.group_names_width)[1])

    @property
    def group(self) -> PlanGroup:
        return self.groups[self.group_index]

    @property
    def table(self) -> DataTable:
        return self.query_one("#review-members", DataTable)

    @property
    def highlighted(self) -> int | None:
        """The member (index into the group) under the table's cursor."""
        row = self.table.cursor_row
        return self.order[row] if self.groups and 0 <= row < len(self.order) else None

    # ------------------------------------------------------------------ drawing
    def _row(self, k: int) -> list:
        g, m = self.group, self.group.members[k]
        d = review.distance_to_keeper(g, k)
        when = time.strftime("%y-%m-%d %H:%M", time.localtime(m.mtime))
        thumb = thumbnail(m.file, *THUMB, cached_only=True) if self.show_thumbs else None
        return [Text.from_markup(MARKS[review.status(g, k)]),
                thumb or Text("·" * THUMB[0] if self.show_thumbs else "", style="dim"),
                _cut(m.path, self.file_width), f"{m.width}x{m.height}", review.human_bytes(m.bytes),
                "" if d is None else f"{d:g}", review.image_format(m.file, m.mtime_ns), when]

    def _fill_table(self, keep_member: int | None = None) -> None:
        table = self.table
        column, reverse = self.sort_by
        similarity = bool(self.plan.meta.get("higher_is_closer"))    # CLIP: cosine similarity
        for key, label in COLUMNS:
            arrow = (" ▼" if reverse else " ▲") if key == column else ""
            if key == "distance" and similarity:
                label = "similarity"
            table.columns[key].label = Text(label + arrow)
        table.columns["thumb"].width = THUMB[0] if self.show_thumbs else 0
        table.clear()
        self.order = review.sort_members(self.group, column, reverse)
        height = THUMB[1] if self.show_thumbs else 1
        for k in self.order:
            table.add_row(*self._row(k), height=height, key=str(k))
        if keep_member is not None:
            table.move_cursor(row=self.order.index(keep_member))
        table.refresh()

    @property
    def file_width(self) -> int:
        """The file column fills what the table has left (paths are cut in the middle)."""
        spare = self.table.size.width - OTHER_COLUMNS - (0 if self.show_thumbs else THUMB[0])
        return min(max(spare, FILE_WIDTH[0]), FILE_WIDTH[1])

    @property
    def show_thumbs(self) -> bool:
        return self.thumbs and self.app.pictures

    def _show_group(self, index: int) -> None:
        self.group_index = index
        self._fill_table()
        self.table.move_cursor(row=0)
        self._show_previews()
        if self.app.pictures:
            self._load_pictures(index)

    @work(thread=True, exclusive=True, group="review-pictures", exit_on_error=False)
    def _load_pictures(self, index: int) -> None:
        """Decode the group's pictures (the kept file first) off the UI thread, drawing each
        as it is ready; then the next group's, ahead of the reviewer."""
        worker = get_current_worker()
        for at in (index, (index + 1) % len(self.groups)):
            g = self.groups[at]
            for k in [g.keep] + [j for j in range(len(g.members)) if j != g.keep]:
                if worker.is_cancelled:
                    return
                thumbnail(g.members[k].file, *THUMB)
                if at == index:
                    self.app.call_from_thread(self._picture_ready, index, k)

    def _picture_ready(self, index: int, k: int) -> None:
        if index != self.group_index or not self.is_mounted:
            return
        if self.show_thumbs:
            text = thumbnail(self.group.members[k].file, *THUMB, cached_only=True)
            if text is not None:
                self.table.update_cell(str(k), "thumb", text)
        self._show_previews()

    @property
    def pictures_pending(self) -> bool:
        """Some picture of the current group is still being decoded."""
        return bool(self.groups) and self.app.pictures and not all(
            is_decoded(m.file) for m in self.group.members)

    def _refresh_group(self, keeper_changed: bool = True) -> None:
        """Redraw after a change in the current group: marks, its label, the summary."""
        self._fill_table(keep_member=self.highlighted)
        if keeper_changed:
            self._relabel(self.group_index)
        self._show_previews()
        self._summarise()

    def _show_previews(self) -> None:
        if not self.groups:
            return
        other = self.highlighted
        if other is None or other == self.group.keep:
            rest = [k for k in self.order if k != self.group.keep]
            other = rest[0] if rest else self.group.keep
        for slot, k in (("#preview-keep", self.group.keep), ("#preview-other", other)):
            m = self.group.members[k]
            box = self.query_one(slot, Vertical)
            box.border_title = f"{review.status(self.group, k)} {escape(m.path)}"
            box.border_subtitle = f"{m.width}x{m.height} · {review.human_bytes(m.bytes)}"
            ready = self.app.pictures and is_decoded(m.file)
            if self.slots.get(slot) == (m.file, ready):
                continue
            self.slots[slot] = (m.file, ready)
            box.remove_children()
            im = picture(m.file) if ready else None
            if self.app.pictures and not ready:
                box.mount(text_card(Path(m.file), "(decoding...)"))
            else:
                box.mount(best_picture(Path(m.file), im, pictures=self.app.pictures))

    def _summarise(self, note: str = "") -> None:
        if not self.plan:
            return
        line = review.tally(self.plan, allow_large=self.allow_large).line()
        column, reverse = self.sort_by
        text = f"[b]{escape(line)}[/b]  [dim]sorted by {column} {'▼' if reverse else '▲'}[/dim]"
        if self.applied is not None:
            text = f"[b green]Applied.[/b green] {escape(self.undo_hint())}"
        if note:
            text += f"\n{note}"
        self.query_one("#review-summary", Static).update(text)

    # ------------------------------------------------------------------ events
    @on(DataTable.RowHighlighted, "#review-groups")
    def _group_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != self.group_index or not self.order:
            self._show_group(event.cursor_row)

    @on(DataTable.RowHighlighted, "#review-members")
    def _member_highlighted(self) -> None:
        self._show_previews()

    @on(DataTable.RowSelected, "#review-members")
    def _member_selected(self) -> None:
        self.action_keeper()

    @on(DataTable.HeaderSelected, "#review-members")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in review.SORT_COLUMNS:
            self.action_sort(key)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle", "keeper", "sort", "bulk", "compare", "apply", "write", "group"):
            return bool(self.groups) and not self.busy
        return True

    def action_group(self, step: int) -> None:
        groups = self.query_one("#review-groups", DataTable)
        groups.move_cursor(row=(self.group_index + step) % len(self.groups))

    def action_toggle(self) -> None:
        k = self.highlighted
        if k is None:
            return
        keeper = self.group.keep
        refused = review.toggle(self.group, k)
        if refused:
            self.notify(refused, title="Not changed", severity="warning")
            return
        self._refresh_group(keeper_changed=self.group.keep != keeper)

    def action_keeper(self) -> None:
        k = self.highlighted
        if k is None:
            return
        keeper = self.group.keep
        review.set_keep(self.group, k)
        self._refresh_group(keeper_changed=self.group.keep != keeper)

    def action_sort(self, column: str) -> None:
        current, reverse = self.sort_by
        self.sort_by = (column, not reverse if column == current else column in
                        ("resolution", "size", "modified"))
        self._fill_table(keep_member=self.highlighted)
        self._summarise()

    def action_thumbs(self) -> None:
        self.thumbs = not self.thumbs
        self._fill_table(keep_member=self.highlighted)

    def action_bulk(self, policy: str) -> None:
        if policy == "folder":
            self.app.push_screen(FolderChoice(review.folders(self.plan)), self._bulk_folder)
            return
        self._bulk(policy, None)

    def _bulk_folder(self, folder: Path | None) -> None:
        if folder is not None:
            self._bulk("folder", folder)

    def _bulk(self, policy: str, folder: Path | None) -> None:
        changed, unmatched = review.bulk_keep(self.plan, policy, folder)
        what = {"largest": "the largest file", "resolution": "the highest resolution",
                "newest": "the newest file"}.get(policy, f"the file in {folder}")
        note = f"Every group keeps {what}: {changed} group(s) changed"
        if unmatched:
            note += f", {unmatched} without a file there left as they were"
        self._relabel()
        self._fill_table()
        self.table.move_cursor(row=0)
        self._show_previews()
        self._summarise(escape(note))
        self.notify(note, title="Bulk selection")

    def action_compare(self) -> None:
        from .dedup_compare import CompareScreen
        k = self.highlighted
        g = self.group
        if k is None or len(g.members) < 2:
            return
        other = k if k != g.keep else next(j for j in self.order if j != g.keep)
        self.app.push_screen(CompareScreen(g.members[g.keep], g.members[other],
                                           pictures=self.app.pictures))

    def plan_folder(self) -> Path:
        report_file = self.report.files.get("report")
        return Path(report_file).parent if report_file else Path.cwd()

    def action_write(self) -> Path | None:
        if self.plan is None:
            return None
        path = review.write_reviewed(self.plan, self.plan_folder())
        self.notify(str(path), title="Choices saved")
        return path

    # ------------------------------------------------------------------ apply
    def refuse_if_changed(self) -> bool:
        """True (and says so) when a file of the plan changed or went since the search."""
        changed = self.plan.changed_files()
        if not changed:
            return False
        message = (f"{len(changed)} file(s) changed or gone since the dedup run (first: "
                   f"{changed[0]}). Nothing was applied: run dedup again and review anew.")
        self.notify(message, title="Plan out of date", severity="error", timeout=15)
        self._summarise(f"[b red]Plan out of date:[/b red] {escape(message)}")
        return True

    def action_apply(self) -> None:
        if self.refuse_if_changed():
            return
        action = self.app.actions.get("dedup")
        if action is None:
            self.notify("the dedup action is not available", severity="error")
            return
        mode = self.report.params.get("mode")
        dest = self.report.params.get("dest")
        self.app.push_screen(
            ApplyDialog(self.plan, allow_large=self.allow_large,
                        mode=mode if mode not in (None, "report") else "move",
                        dest=Path(dest) if dest else review.default_dest(self.plan)),
            self._apply_chosen)

    def _apply_chosen(self, choice: ApplyChoice | None) -> None:
        if choice is None or self.refuse_if_changed():
            return
        path = self.action_write()
        raw = {k: v for k, v in self.report.params.items() if k in PASSED_ON and v is not None}
        raw.update({"plan": str(path), "mode": choice.mode, "apply": True})
        if choice.dest is not None:
            raw["dest"] = str(choice.dest)
        self.busy = True
        self.apply_cancel = CancelToken()
        self.refresh_bindings()
        self._summarise("[b]Applying...[/b]  Esc stops (what is done stays undoable)")
        self._run_apply(raw)

    @work(thread=True, exclusive=True, exit_on_error=False, name="dedup-apply")
    def _run_apply(self, raw: dict) -> None:
        """The reviewed plan through `dedup --plan` (the same path as the command line)."""
        settings = load_settings(self.app.settings_path).settings
        try:
            report = run_action(self.app.actions["dedup"], raw,
                                config=ParallelConfig.from_settings(settings), settings=settings,
                                sink=EventBridge(self), cancel=self.apply_cancel,
                                log_dir=settings.log_dir())
        except UsageError as exc:
            self.app.call_from_thread(self._apply_failed, str(exc))
        except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
            self.app.call_from_thread(self._apply_failed, f"unexpected {type(exc).__name__}: {exc}")
        else:
            self.app.call_from_thread(self._applied, report)

    @on(RunStarted)
    def _apply_pass(self, message: RunStarted) -> None:
        self.apply_pass = message.label

    @on(RunAdvanced)
    def _apply_progress(self, message: RunAdvanced) -> None:
        if self.busy:
            total = f"/{message.total:,}" if message.total else ""
            self._summarise(f"[b]Applying[/b] ({escape(self.apply_pass)}): {message.done:,}{total}"
                            "  Esc stops (what is done stays undoable)")

    def action_back(self) -> None:
        """Back to the results; while applying, stop the apply instead."""
        if self.busy:
            self.apply_cancel.cancel()
            self._summarise("[b]Stopping...[/b] the files done so far are in the undo manifest")
        else:
            self.app.pop_screen()

    def _apply_failed(self, error: str) -> None:
        self.busy = False
        self.refresh_bindings()
        first = error.splitlines()[0] if error else "unknown error"
        title = "Plan out of date" if "changed or gone" in first else "Not applied"
        self.notify(first, title=title, severity="error", timeout=15)
        self._summarise(f"[b red]{title}:[/b red] {escape(first)}")

    def undo_command(self) -> str | None:
        manifest = self.applied.files.get("undo_manifest") if self.applied else None
        return f"dataset-forge undo {manifest} --apply" if manifest else None

    def undo_hint(self) -> str:
        command = self.undo_command()
        return f"Undo: {command}" if command else "Nothing to undo."

    def _applied(self, report: Report) -> None:
        self.busy = False
        self.applied = report
        self.refresh_bindings()
        self._summarise()
        self.app.push_screen(AppliedDialog(report, self.undo_command()))
