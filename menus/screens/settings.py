"""The settings screen: every key of the schema as a validated field, saved with
`dataset_forge.settings.set_value` (the file's comments and layout are kept); the next run
reads the file again, so changes apply to it."""
from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Label, Static

from dataset_forge.settings import SECTIONS, SettingsError, iter_keys, load_settings, set_value

from ..widgets.footer import ForgeFooter
from ..widgets.title_bar import TitleBar
from ..fields import as_text, from_setting
from ..widgets.form_field import FormField


def field_id(key: str) -> str:
    return "setting-" + key.replace(".", "--")


class SettingsScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        loaded = load_settings(self.app.settings_path)
        self.saved = loaded.settings.to_flat()
        self.old_names = set(loaded.old_names)   # saved under their new names on Save
        yield TitleBar("Settings")
        where = "" if loaded.exists else "  (not created yet: Save creates it)"
        yield Static(f"Settings file: [b]{escape(str(loaded.path))}[/b]{where}", id="settings-path", markup=True)
        if loaded.errors or loaded.notes:
            yield Static("\n".join([f"{e} (using the default)" for e in loaded.errors]
                                   + [f"note: {n}; Save writes the new name"
                                      for n in loaded.notes]),
                         id="settings-problems", markup=False)
        docs = {name: (cls.__doc__ or "").strip().splitlines()[0] for name, cls in SECTIONS}
        with VerticalScroll(id="settings-form"):
            section = object()
            for spec in iter_keys():
                if spec.section != section:
                    section = spec.section
                    title = f"[{section}]  {docs[section]}" if section else "General"
                    yield Label(title, classes="settings-section", markup=False)
                yield FormField(from_setting(spec), self.saved[spec.key], id=field_id(spec.key))
        with Horizontal(id="form-buttons"):
            yield Button("Save  Ctrl+S", variant="primary", id="save", compact=True)
            yield Button("Back  Esc", id="back", compact=True)
        yield ForgeFooter()

    def changed(self) -> dict[str, object]:
        """{key: raw} for every field that differs from the file."""
        out = {}
        for f in self.query(FormField):
            try:
                value = f.spec.parse(f.raw)
            except Exception:  # noqa: BLE001 - invalid fields are reported by save
                value = object()
            if value != self.saved[f.spec.key]:
                out[f.spec.key] = f.raw
        return out

    @on(Button.Pressed, "#save")
    def action_save(self) -> bool:
        """Write the changed keys; True when the file now matches the form."""
        invalid = [f for f in self.query(FormField) if f.validate() is not None]
        if invalid:
            self.notify(invalid[0].error or "", title="Not saved", severity="error")
            invalid[0].query(".field-control").first().focus()
            return False
        changes = self.changed()
        changes.update({key: as_text(self.saved[key]) for key in self.old_names
                        if key not in changes})
        if not changes:
            self.notify("Nothing changed")
            return True
        try:
            for key, raw in changes.items():
                loaded = set_value(self.app.settings_path, key, as_text(raw))
        except SettingsError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return False
        self.saved = loaded.settings.to_flat()
        self.old_names = set(loaded.old_names)
        self.query_one("#settings-path", Static).update(
            f"Settings file: [b]{escape(str(loaded.path))}[/b]")
        self.notify(f"{len(changes)} setting(s) saved to {loaded.path}; the next run uses them",
                    title="Saved")
        return True

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        """Leave; with unsaved edits, ask whether to save them, drop them or stay."""
        from .confirm import Choice
        if not self.changed():
            self.app.pop_screen()
            return

        def answered(answer: str | None) -> None:
            if answer == "save" and self.action_save() or answer == "discard":
                self.app.pop_screen()
        self.app.push_screen(Choice(f"{len(self.changed())} unsaved change(s).",
                                    [("save", "Save"), ("discard", "Discard"), ("stay", "Stay")],
                                    yes="save", no="discard"),
                             answered)
