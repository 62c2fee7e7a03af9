"""Near-duplicate copies for labelled evaluation sets, shared by the tests' look-alike families
and the dedup quality benchmark: a watermark stamped in a corner, and a centre crop."""
from __future__ import annotations

from PIL import Image, ImageDraw


def watermark(im: Image.Image, text: str = "(c) forge", text_y: float = 0.86) -> Image.Image:
    """A translucent white box with a copyright line in the lower right corner; `text_y` places
    the line as a fraction of the height."""
    out = im.copy()
    draw = ImageDraw.Draw(out, "RGBA")
    w, h = out.size
    draw.rectangle([w * 0.6, h * 0.85, w * 0.98, h * 0.97], fill=(255, 255, 255, 110))
    draw.text((w * 0.62, h * text_y), text, fill=(0, 0, 0, 200))
    return out


def crop_area(im: Image.Image, area: float) -> Image.Image:
    """The centre part holding `area` of the pixels."""
    side = area ** 0.5
    w, h = im.size
    dx, dy = round(w * (1 - side) / 2), round(h * (1 - side) / 2)
    return im.crop((dx, dy, w - dx, h - dy))
