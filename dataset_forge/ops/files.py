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


ICC_SPACES = {"RGB": b"RGB ", "RGBA": b"RGB ", "L": b"GRAY", "LA": b"GRAY"}
ICC_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")


def load_image(path: str | Path) -> Image.Image:
    """Decode with EXIF orientation applied: RGBA when the file has transparency, else RGB.
    The file's ICC profile, if any, is in `info["icc_profile"]` (see `icc_of`)."""
    with open_image(path) as im:
        icc = im.info.get("icc_profile")
        im = ImageOps.exif_transpose(decode(im))
        alpha = im.mode in ALPHA_MODES or (
            im.mode == "P" and "transparency" in im.info)
        out = im.convert("RGBA") if alpha else to_rgb(im)
        out = out.copy() if out is im else out
        if icc:
            out.info["icc_profile"] = icc
        return out


def icc_of(img: Image.Image) -> bytes | None:
    """The ICC profile a loaded input carries (ops return new images without it: take it
    before transforming and give it to `save_image`)."""
    return img.info.get("icc_profile") or None


def output_suffix(source: Path, fmt: str) -> str:
    """The output extension: the source's own for "same" (PNG where we cannot write it)."""
    if fmt != "same":
        return "." + fmt
    suffix = source.suffix.lower()
    return suffix if suffix in WRITABLE else ".png"


def encode(img: Image.Image, suffix: str, quality: int, icc: bytes | None = None) -> bytes:
    """Encoded bytes; `icc` is embedded where the format stores one and the profile's colour
    space fits the image (a CMYK source's profile never lands on RGB pixels)."""
    fmt = SAVE_FORMAT[suffix]
    if fmt in ("JPEG", "BMP") and img.mode not in ("RGB", "L"):
        img = to_rgb(img)
    options: dict = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if icc and fmt in ICC_FORMATS and icc[16:20] == ICC_SPACES.get(img.mode):
        options["icc_profile"] = icc
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def save_image(img: Image.Image, path: Path, quality: int = 95,
               icc: bytes | None = None) -> Path:
    """Encode by the path's extension (embedding `icc`) and write atomically."""
    data = encode(img, path.suffix.lower(), quality, icc)
    return atomic_save(path, lambda fh: fh.write(data))
