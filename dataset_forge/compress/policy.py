"""Mode, alpha and metadata policy: turn any decoded image into what a target format can store.

    prepared = prepare(im, opts)     # upright (EXIF orientation applied), right mode, metadata
    prepared.image, prepared.icc, prepared.exif, prepared.lost_alpha, prepared.notes

Decisions per source mode (docs/compress.md has the table):
- RGBA / LA / P or PA with transparency: kept for PNG, WebP and AVIF; flattened onto
  `opts.background` for JPEG, and `lost_alpha` says whether any pixel was not opaque.
- P (palette): kept as a palette for PNG (lossless, smallest); expanded to RGB(A) for the others.
- I;16 (16-bit grey): kept 16-bit for PNG; scaled (not clipped) to 8-bit grey for lossy targets.
  I (32-bit) goes to 16-bit PNG when its values fit, otherwise it is scaled to 8 bits, as is F.
- 1 (bilevel): kept for PNG, grey elsewhere. L: grey, except WebP which only stores RGB.
- CMYK: converted to RGB for every target, through its ICC profile when it has one.
ICC profiles are kept unless stripped, but only where they describe the output's colour space.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageCms

from ..io import to_rgb
from ..io.images import has_transparency
from .options import EncodeOptions
from .pixels import upright

ORIENTATION_TAG = 0x0112
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
KEPT_INFO = ("transparency", "dpi")
ICC_SPACE = {"RGB": "RGB", "RGBA": "RGB", "P": "RGB", "L": "GRAY", "LA": "GRAY", "1": "GRAY",
             "I;16": "GRAY"}


@dataclass
class Prepared:
    """An image ready for an encoder, with the metadata to write and what the policy did."""

    image: Image.Image
    icc: bytes | None = None
    exif: bytes | None = None
    lost_alpha: bool = False
    notes: list[str] = field(default_factory=list)


def prepare(im: Image.Image, opts: EncodeOptions) -> Prepared:
    """Apply EXIF orientation, the mode policy for `opts.format`, and the metadata policy."""
    icc = im.info.get("icc_profile")
    upright = _upright_view(im)
    notes: list[str] = []
    image, icc = _normalise(upright, opts.format, icc, notes)
    image, lost_alpha = _fit_alpha(image, opts, notes)
    # encoders fall back on info for metadata: only what the policy below allows may pass
    image.info = {k: v for k, v in image.info.items() if k in KEPT_INFO}
    prepared = Prepared(image, lost_alpha=lost_alpha, notes=notes)
    if not opts.strip_metadata:
        prepared.icc = _matching_icc(icc, image.mode, notes)
        if opts.keep_exif:
            prepared.exif = _upright_exif(upright)
    return prepared


def _normalise(im: Image.Image, fmt: str, icc: bytes | None,
               notes: list[str]) -> tuple[Image.Image, bytes | None]:
    """Bring odd modes to one the target stores (alpha still present where it was)."""
    mode = im.mode
    if mode in SIXTEEN_BIT:
        if fmt == "png":
            return (im if mode == "I;16" else im.convert("I;16")), icc
        notes.append(f"16-bit grey scaled to 8 bits for {fmt}")
        return _normalise(to_rgb(im).convert("L"), fmt, icc, notes)
    if mode in ("I", "F"):
        arr = np.asarray(im)
        if mode == "I" and fmt == "png" and arr.min() >= 0 and arr.max() <= 65535:
            return Image.fromarray(arr.astype(np.uint16)), icc   # uint16 arrays are I;16
        notes.append(f"{mode} image scaled to 8-bit grey by its range")
        return _normalise(to_rgb(im).convert("L"), fmt, icc, notes)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
        return _cmyk_to_rgb(im, icc), None  # the CMYK profile no longer applies
    if mode in ("RGBa", "PA"):
        return im.convert("RGBA"), icc
    if mode == "La":
        return _normalise(im.convert("LA"), fmt, icc, notes)
    if mode == "P":
        if fmt == "png":
            return im, icc
        return im.convert("RGBA" if "transparency" in im.info else "RGB"), icc
    if mode == "1" and fmt != "png":
        return _normalise(im.convert("L"), fmt, icc, notes)
    if mode in ("L", "LA") and fmt == "webp":
        return im.convert("RGB" if mode == "L" else "RGBA"), icc
    if mode == "LA" and fmt == "avif":
        return im.convert("RGBA"), icc
    if mode not in ("RGB", "RGBA", "L", "LA", "1"):
        notes.append(f"{mode} converted to RGB")
        return im.convert("RGB"), icc
    return im, icc


def _upright_view(im: Image.Image) -> Image.Image:
    """EXIF orientation applied. Without one, a new Image object over the same pixels (no copy
    of a 100 Mpx photo; ImageOps.exif_transpose copies even then) whose info can be changed
    without touching the caller's image."""
    turned = upright(im)
    if turned is not im:
        return turned
    im.load()
    return im._new(im.im)


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return im.convert("RGB")


def _fit_alpha(im: Image.Image, opts: EncodeOptions,
               notes: list[str]) -> tuple[Image.Image, bool]:
    """JPEG stores no alpha: flatten onto the background and say whether anything was lost."""
    if opts.format != "jpeg" or im.mode not in ("RGBA", "LA"):
        return im, False
    lost = has_transparency(im)
    rgba = im.convert("RGBA")
    flat = Image.new("RGB", im.size, opts.background)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    if lost:
        notes.append("transparency flattened onto the background")
    return (flat.convert("L") if im.mode == "LA" else flat), lost


def _matching_icc(icc: bytes | None, mode: str, notes: list[str]) -> bytes | None:
    """The ICC profile if it describes the output mode's colour space, else None (with a note)."""
    if not icc:
        return None
    try:
        space = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except (ImageCms.PyCMSError, OSError, ValueError):
        notes.append("unreadable ICC profile dropped")
        return None
    if space != ICC_SPACE.get(mode, "RGB"):
        notes.append(f"{space} ICC profile dropped: output is {mode}")
        return None
    return icc


def _upright_exif(upright: Image.Image) -> bytes | None:
    """EXIF with the orientation reset: the pixels were already turned upright."""
    exif = upright.getexif()
    if not exif:
        return None
    if ORIENTATION_TAG in exif:
        exif[ORIENTATION_TAG] = 1
    return exif.tobytes()
