"""Pictures drawn with coloured half blocks: each terminal cell shows two pixels, one above
the other (`▀`, foreground the upper pixel, background the lower), which works in every
terminal with true colour and needs no graphics protocol.

    text = halfblock(im, cols=40, rows=12)      # a rich Text fitted into 40 x 12 cells
    text = thumbnail("a.jpg", 6, 2)             # cached per file, size and modification time
    thumbnail("a.jpg", 6, 2, cached_only=True)  # None until made (the UI asks, a worker makes)
    HalfBlockPicture(im)                        # a widget that fits the picture to its size
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from dataset_forge.io.images import load_rgb

PREVIEW_SIDE = 768          # previews decode at most this many pixels on the long side


@lru_cache(maxsize=65536)
def _style(top: tuple[int, int, int], bottom: tuple[int, int, int] | None) -> Style:
    return Style(color=Color.from_rgb(*top),
                 bgcolor=Color.from_rgb(*bottom) if bottom is not None else None)


def fit(size: tuple[int, int], cols: int, rows: int) -> tuple[int, int]:
    """The largest pixel size with `size`'s aspect that fits in cols x rows cells (a cell is
    one pixel wide and two high)."""
    w, h = size
    scale = min(cols / max(w, 1), 2 * rows / max(h, 1))
    return max(1, round(w * scale)), max(1, round(h * scale))


def cells(im: Image.Image, *, pad_to: int = 0) -> Text:
    """The picture, one cell per pixel column and two pixel rows; lines padded (centred) to
    `pad_to` cells."""
    px = np.asarray(im.convert("RGB"))
    h, w = px.shape[:2]
    left = max(0, (pad_to - w) // 2)
    text = Text(no_wrap=True, overflow="crop")
    for y in range(0, h, 2):
        if y:
            text.append("\n")
        text.append(" " * left)
        top = px[y]
        bottom = px[y + 1] if y + 1 < h else None
        for x in range(w):
            t = tuple(int(v) for v in top[x])
            b = None if bottom is None else tuple(int(v) for v in bottom[x])
            text.append("▀", _style(t, b))
    return text


def halfblock(im: Image.Image, cols: int, rows: int, *,
              resample: Image.Resampling = Image.Resampling.LANCZOS) -> Text:
    """`im` scaled (aspect kept) to fit in cols x rows cells, centred horizontally."""
    if cols < 1 or rows < 1:
        return Text("")
    size = fit(im.size, cols, rows)
    return cells(im.resize(size, resample) if size != im.size else im, pad_to=cols)


class _Recent:
    """A small least-recently-used cache whose lookups can be made without computing (so the
    app asks it on the UI thread and fills it from a worker)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_PICTURES = _Recent(64)
_THUMBS = _Recent(4096)


def _stamp(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def picture(path: str | Path, side: int = PREVIEW_SIDE, *, cached_only: bool = False
            ) -> Image.Image | None:
    """The file decoded (at most `side` pixels on the long side), cached while unchanged;
    None when it does not read (or, with `cached_only`, is not decoded yet)."""
    key = (str(path), _stamp(path), side)
    found = _PICTURES.get(key)
    if found is not None or cached_only:
        return found or None
    try:
        im = load_rgb(path, max_side=side)
    except Exception:  # noqa: BLE001 - a picture that does not read is shown as a card
        im = False
    _PICTURES.put(key, im)
    return im or None


def is_decoded(path: str | Path, side: int = PREVIEW_SIDE) -> bool:
    """Whether `picture(path)` answers at once (decoded, or known not to read)."""
    return _PICTURES.get((str(path), _stamp(path), side)) is not None


def thumbnail(path: str | Path, cols: int, rows: int, *, cached_only: bool = False
              ) -> Text | None:
    """A tiny half-block thumbnail of the file (`?` when it does not read); None with
    `cached_only` when it is not made yet."""
    key = (str(path), _stamp(path), cols, rows)
    found = _THUMBS.get(key)
    if found is not None or cached_only:
        return found
    im = picture(path)                 # the preview's decode: one per file
    text = halfblock(im, cols, rows) if im is not None else Text("?" * cols, style="dim")
    _THUMBS.put(key, text)
    return text


class HalfBlockPicture(Widget):
    """A picture that fills the widget (aspect kept), redrawn when the widget resizes."""

    DEFAULT_CSS = "HalfBlockPicture { width: 1fr; height: 1fr; }"

    def __init__(self, image: Image.Image, *, resample: Image.Resampling =
                 Image.Resampling.LANCZOS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.resample = resample
        self._drawn: tuple[tuple[int, int], Text] | None = None

    def set_image(self, image: Image.Image) -> None:
        self.image = image
        self._drawn = None
        self.refresh()

    def render(self) -> Text:
        size = (self.size.width, self.size.height)
        if self._drawn is None or self._drawn[0] != size:
            self._drawn = (size, halfblock(self.image, *size, resample=self.resample))
        return self._drawn[1]
