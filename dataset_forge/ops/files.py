"""Reading inputs for transforms (alpha kept) and writing outputs atomically in a chosen format."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from ..io import atomic_save, decode, open_image, to_rgb
from ..io.images import ALPHA_MODES

OUTPUT_FORMATS = ("same", "png", "jpg", "webp")
WRITABLE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
SAVE_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
               ".tif": "TIFF", ".tiff": "TIFF"}


def load_image(path: str | Path) -> Image.Image:
    """Decode with EXIF orientation applied: RGBA when the file has transparency, else RGB."""
    with open_image(path) as im:
        im = ImageOps.exif_transpose(decode(im))
        alpha = im.mode in ALPHA_MODES or (
            im.mode == "P" and "transparency" in im.info)
        out = im.convert("RGBA") if alpha else to_rgb(im)
        return out.copy() if out is im else out


def output_suffix(source: Path, fmt: str) -> str:
    """The output extension: the source's own for "same" (PNG where we cannot write it)."""
    if fmt != "same":
        return "." + fmt
    suffix = source.suffix.lower()
    return suffix if suffix in WRITABLE else ".png"


def encode(img: Image.Image, suffix: str, quality: int) -> bytes:
    fmt = SAVE_FORMAT[suffix]
    if fmt in ("JPEG", "BMP") and img.mode not in ("RGB", "L"):
        img = to_rgb(img)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def save_image(img: Image.Image, path: Path, quality: int = 95) -> Path:
    """Encode by the path's extension and write atomically."""
    data = encode(img, path.suffix.lower(), quality)
    return atomic_save(path, lambda fh: fh.write(data))
