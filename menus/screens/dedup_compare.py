"""Two members of a duplicate group side by side at full resolution: the same region of both
(as fractions of each picture), zoomed and moved together, so a re-encode, a resize or a
watermark shows where it differs.

Zoom counts screen pixels per pixel of the larger picture (1 = 1:1; 0 = the whole picture);
the smaller one is scaled to the same region with nearest-neighbour, so its pixels show.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from dataset_forge.dedup.plan import PlanMember
from dataset_forge.io.images import load_rgb

from ..widgets.halfblock import HalfBlockPicture, fit
from ..widgets.image_preview import best_picture, protocol_widget, text_card
from ..widgets.title_bar import TitleBar

ZOOMS = (0, 0.5, 1, 2, 4, 8)
MOVE = Binding.Group("Move ", compact=True)


@dataclass(frozen=True)
class View:
    """Centre of the region (fractions of the picture) and the zoom."""
    cx: float = 0.5
    cy: float = 0.5
    zoom: float = 0

    def region(self, big: tuple[int, int], display: tuple[int, int]) -> tuple[float, ...]:
        """(x0, y0, x1, y1) as fractions: what `display` pixels show of a picture of `big`
        pixels at this zoom, the centre kept inside the picture."""
        if self.zoom == 0:
            return (0.0, 0.0, 1.0, 1.0)
        wn = min(1.0, display[0] / (self.zoom * big[0]))
        hn = min(1.0, display[1] / (self.zoom * big[1]))
        cx = min(max(self.cx, wn / 2), 1 - wn / 2)
        cy = min(max(self.cy, hn / 2), 1 - hn / 2)
        return (cx - wn / 2, cy - hn / 2, cx + wn / 2, cy + hn / 2)

    def moved(self, dx: int, dy: int, big: tuple[int, int], display: tuple[int, int]) -> "View":
        """A quarter of the shown region per step, kept inside the picture."""
        x0, y0, x1, y1 = self.region(big, display)
        cx = min(max((x0 + x1) / 2 + dx * (x1 - x0) / 4, (x1 - x0) / 2), 1 - (x1 - x0) / 2)
        cy = min(max((y0 + y1) / 2 + dy * (y1 - y0) / 4, (y1 - y0) / 2), 1 - (y1 - y0) / 2)
        return View(cx, cy, self.zoom)


def crop(im: Image.Image, region: tuple[float, ...], out: tuple[int, int]) -> Image.Image:
    """The fractional `region` of `im` scaled to `out` pixels (nearest when enlarging, so the
    picture's own pixels show)."""
    w, h = im.size
    box = (region[0] * w, region[1] * h, region[2] * w, region[3] * h)
    enlarging = out[0] > (box[2] - box[0])
    return im.resize(out, Image.Resampling.NEAREST if enlarging else Image.Resampling.LANCZOS,
                     box=box)


def output_size(big: tuple[int, int], region: tuple[float, ...], display: tuple[int, int],
                zoom: float) -> tuple[int, int]:
    """Pixels the region takes on screen: zoom x its size in the larger picture (fitted into
    the display at zoom 0)."""
    w = (region[2] - region[0]) * big[0]
    h = (region[3] - region[1]) * big[1]
    if zoom == 0:
        return fit((round(w), round(h)), display[0], display[1] // 2)
    return max(1, min(display[0], round(w * zoom))), max(1, min(display[1], round(h * zoom)))


class CompareScreen(Screen):
    BINDINGS = [
        Binding("left", "move(-1, 0)", "Left", group=MOVE, key_display="←"),
        Binding("right", "move(1, 0)", "Right", group=MOVE, key_display="→"),
        Binding("up", "move(0, -1)", "Up", group=MOVE, key_display="↑"),
        Binding("down", "move(0, 1)", "Down", group=MOVE, key_display="↓"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", key_display="+"),
        Binding("minus", "zoom(-1)", "Zoom out", key_display="-"),
        Binding("1", "set_zoom(1)", "1:1"),
        Binding("0", "set_zoom(0)", "Whole"),
        Binding("x", "swap", "Swap"),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, left: PlanMember, right: PlanMember, *, pictures: bool = True) -> None:
        super().__init__()
        self.members = [left, right]
        self.pictures = pictures
        self.images: list[Image.Image | None] = [None, None]
        self.loaded = False
        self.view = View()
        self.shown: tuple[float, ...] = (0.0, 0.0, 1.0, 1.0)    # the region on screen now

    @staticmethod
    def _load(m: PlanMember) -> Image.Image | None:
        try:
            return load_rgb(m.file)
        except Exception:  # noqa: BLE001 - a picture that does not read gets its card
            return None

    def compose(self) -> ComposeResult:
        yield TitleBar("Compare")
        yield Static("", id="compare-status")
        with Horizontal(id="compare-body"):
            yield Vertical(id="compare-left", classes="preview-slot")
            yield Vertical(id="compare-right", classes="preview-slot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#compare-status", Static).update("Decoding both pictures at full size...")
        self._load_both()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load_both(self) -> None:
        images = [self._load(m) for m in self.members]
        self.app.call_from_thread(self._loaded, images)

    def _loaded(self, images: list[Image.Image | None]) -> None:
        self.images, self.loaded = images, True
        self.draw()

    def on_resize(self) -> None:
        if self.loaded:
            self.call_after_refresh(self.draw)

    @property
    def big(self) -> tuple[int, int]:
        """The larger picture's size (the zoom's unit)."""
        sizes = [im.size for im in self.images if im is not None] or [(1, 1)]
        return max(sizes, key=lambda s: s[0] * s[1])

    def display(self) -> tuple[int, int]:
        """Screen pixels of one slot: half blocks give one per column and two per row; a
        graphics protocol gives the terminal's cell size in pixels."""
        slot = self.query_one("#compare-left", Vertical).content_size
        if protocol_widget() is not None:
            from textual_image._terminal import get_cell_size
            cell = get_cell_size()
            return max(1, slot.width * cell.width), max(1, slot.height * cell.height)
        return max(1, slot.width), max(1, slot.height * 2)

    def draw(self) -> None:
        display = self.display()
        region = self.view.region(self.big, display)
        out = output_size(self.big, region, display, self.view.zoom)
        for slot_id, m, im in zip(("#compare-left", "#compare-right"), self.members, self.images):
            slot = self.query_one(slot_id, Vertical)
            slot.border_title = escape(m.path)
            slot.border_subtitle = f"{m.width}x{m.height}"
            picture = None if im is None or not self.pictures else crop(im, region, out)
            current = slot.children[0] if slot.children else None
            if isinstance(current, HalfBlockPicture) and picture is not None:
                current.set_image(picture)
                continue
            slot.remove_children()
            slot.mount(best_picture(Path(m.file), picture, pictures=self.pictures)
                       if picture is not None else text_card(Path(m.file)))
        x0, y0, x1, y1 = region
        zoom = "whole picture" if self.view.zoom == 0 else f"zoom {self.view.zoom:g}x"
        self.query_one("#compare-status", Static).update(
            f"[b]{zoom}[/b] of {self.big[0]}x{self.big[1]}  region x {x0:.0%}-{x1:.0%}, "
            f"y {y0:.0%}-{y1:.0%}  [dim]same region of both[/dim]")
        self.shown = region

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("move", "zoom", "set_zoom", "swap"):
            return self.loaded
        return True

    def action_move(self, dx: int, dy: int) -> None:
        if self.view.zoom == 0:
            self.view = View(self.view.cx, self.view.cy, 1)
        self.view = self.view.moved(dx, dy, self.big, self.display())
        self.draw()

    def action_zoom(self, step: int) -> None:
        at = ZOOMS.index(self.view.zoom) if self.view.zoom in ZOOMS else 0
        self.action_set_zoom(ZOOMS[min(max(at + step, 0), len(ZOOMS) - 1)])

    def action_set_zoom(self, zoom: float) -> None:
        self.view = View(self.view.cx, self.view.cy, zoom)
        self.draw()

    def action_swap(self) -> None:
        self.members.reverse()
        self.images.reverse()
        self.draw()
