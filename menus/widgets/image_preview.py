"""Image previews: real pixels through textual-image where the terminal can show them (Sixel,
Kitty graphics, or coloured half-cells), a text card everywhere else.

`textual_image.widget` asks the terminal about its cell size when first imported, which only
works before Textual takes over the screen, so `run_app` calls `prepare()` first.
"""
from __future__ import annotations

from pathlib import Path

from textual.widget import Widget
from textual.widgets import Static

_IMAGE_WIDGET = None
_TRIED = False


def prepare() -> None:
    """Import textual-image once (before the app starts); remember if it is unusable."""
    global _IMAGE_WIDGET, _TRIED
    if _TRIED:
        return
    _TRIED = True
    try:
        from textual_image.widget import Image
        _IMAGE_WIDGET = Image
    except Exception:  # noqa: BLE001 - no preview is better than no app
        _IMAGE_WIDGET = None


def text_card(path: Path, caption: str = "") -> Static:
    """The fallback that works in any terminal: name, folder and caption."""
    size = f"{path.stat().st_size / 1024:,.0f} KB" if path.exists() else "missing"
    return Static(f"[b]{path.name}[/b]\n[dim]{path.parent}[/dim]\n{size} {caption}".rstrip(),
                  classes="preview-card", markup=True)


def preview(path: Path, caption: str = "", *, pictures: bool = True) -> Widget:
    """A widget showing `path`; the text card when pictures are off or unavailable."""
    if pictures and _IMAGE_WIDGET is not None and path.is_file():
        try:
            return _IMAGE_WIDGET(str(path), classes="preview-image")
        except Exception:  # noqa: BLE001 - an unreadable file gets the card
            pass
    return text_card(path, caption)


def protocol_widget():
    """textual-image's widget when the terminal speaks a real graphics protocol (Sixel or
    Kitty's), else None (half blocks are then ours: `widgets.halfblock`)."""
    if _IMAGE_WIDGET is None:
        return None
    from textual_image.renderable import Image as chosen, SixelImage, TGPImage
    return _IMAGE_WIDGET if chosen in (SixelImage, TGPImage) else None


def best_picture(path: Path, image=None, *, pictures: bool = True, caption: str = "") -> Widget:
    """`image` (a PIL image, e.g. a crop) or the file at `path`, drawn the best way the
    terminal allows: its graphics protocol, else half blocks; the text card when pictures are
    off or the file does not read."""
    from .halfblock import HalfBlockPicture, picture
    if not pictures:
        return text_card(path, caption)
    widget = protocol_widget()
    if widget is not None:
        try:
            return widget(image if image is not None else str(path), classes="preview-image")
        except Exception:  # noqa: BLE001 - fall back to half blocks
            pass
    im = image if image is not None else picture(path)
    return HalfBlockPicture(im, classes="preview-image") if im is not None else \
        text_card(path, caption)
