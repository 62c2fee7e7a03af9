"""Reading inputs for transforms (alpha kept) and writing outputs atomically in a chosen format."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from PIL import Image, ImageOps

from ...io import atomic_save, decode, open_image, to_rgb
from ...io.images import ALPHA_MODES

OUTPUT_FORMATS = ("same", "png", "jpg", "webp")
WRITABLE = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
SAVE_FORMAT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
               ".tif": "TIFF", ".tiff": "TIFF"}


ICC_SPACES = {"RGB": b"RGB ", "RGBA": b"RGB ", "L": b"GRAY", "LA": b"GRAY"}
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: modes deeper than 8 bits a channel: transforms work in 8 bits, so they are scaled down
DEEP_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
ICC_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")


def load_image(path: str | Path) -> Image.Image:
    """Decode with EXIF orientation applied: RGBA when the file has transparency, else RGB.
    The file's ICC profile, if any, is in `info["icc_profile"]` (see `icc_of`); an animated
    file gives its first frame, with its frame count in `info["frames"]`; a 16-bit, 32-bit or
    float file is scaled to 8 bits, its mode kept in `info["deep_source"]`.

    One full-size buffer at a time: the orientation is applied in place, and an RGB/RGBA file
    is returned as decoded (Pillow closed a single-frame file after loading it), not copied."""
    src = open_image(path)
    out = None
    try:
        icc = src.info.get("icc_profile")
        frames = int(getattr(src, "n_frames", 1))   # before decoding: counting seeks
        im = decode(src)
        ImageOps.exif_transpose(im, in_place=True)
        grey = im.mode in GREY_MODES
        alpha = im.mode in ALPHA_MODES or (im.mode == "P" and "transparency" in im.info)
        out = (im if im.mode == "RGBA" else im.convert("RGBA")) if alpha else to_rgb(im)
        if out is src and frames > 1:
            out = src.copy()  # a multi-frame file stays open while its image lives: detach
    finally:
        if out is not src:
            with src:  # leaving the context closes the file too (Image.close() alone does not)
                pass
    if icc:
        out.info["icc_profile"] = icc
    out.info["grey_source"] = grey
    out.info["frames"] = frames
    out.info["deep_source"] = im.mode if im.mode in DEEP_MODES else None
    return out


def icc_of(img: Image.Image) -> bytes | None:
    """The ICC profile a loaded input carries (ops return new images without it: take it
    before transforming and give it to `save_image`)."""
    return img.info.get("icc_profile") or None


def is_grey_source(img: Image.Image) -> bool:
    """Whether a loaded input was single-channel (take it before transforming, like `icc_of`)."""
    return bool(img.info.get("grey_source"))


def as_grey(img: Image.Image) -> Image.Image:
    """L / LA when every pixel is still grey (R = G = B); the image unchanged otherwise."""
    if img.mode not in ("RGB", "RGBA"):
        return img
    arr = np.asarray(img)
    if not (np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 1], arr[..., 2])):
        return img
    grey = Image.fromarray(arr[..., 0], "L")
    if img.mode == "RGBA":
        grey = Image.merge("LA", (grey, img.getchannel("A")))
    return grey


def output_suffix(source: Path, fmt: str) -> str:
    """The output extension: the source's own for "same" (PNG where we cannot write it)."""
    if fmt != "same":
        return "." + fmt
    suffix = source.suffix.lower()
    return suffix if suffix in WRITABLE else ".png"


def save_image(img: Image.Image, path: Path, quality: int = 95,
               icc: bytes | None = None, grey: bool = False) -> Path:
    """Encode by the path's extension straight into an atomically swapped temporary file (no
    in-memory copy of the encoded bytes). `icc` is embedded where the format stores one and the
    profile's colour space fits the image (a CMYK source's profile never lands on RGB pixels).
    With `grey` (the source was single-channel) a still-grey result is stored as L / LA."""
    fmt = SAVE_FORMAT[path.suffix.lower()]
    if grey:
        img = as_grey(img)
    if fmt in ("JPEG", "BMP") and img.mode not in ("RGB", "L"):
        img = to_rgb(img)
    options: dict = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if icc and fmt in ICC_FORMATS and icc[16:20] == ICC_SPACES.get(img.mode):
        options["icc_profile"] = icc
    return atomic_save(path, lambda fh: img.save(fh, fmt, **options))
