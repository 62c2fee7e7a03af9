"""Content-based file typing: what a file really is, whatever its name says.

    sniff_format(path)          # 'JPEG', 'PNG', ... from magic bytes (None if unknown)
    extension_format(path)      # the format the file name promises ('JPEG' for .jpg)

Magic bytes decide for the common formats (one 64-byte read); formats without a signature
(TGA, some ICO/PCX variants) fall back to Pillow's identify. Which files count as images is
decided in one place, `dataset_forge.io.discover`.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

HEAD_BYTES = 64

EXTENSION_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".png": "PNG",
    ".webp": "WEBP", ".bmp": "BMP", ".dib": "BMP", ".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF",
    ".avif": "AVIF", ".heic": "HEIF", ".ppm": "PPM", ".pgm": "PPM", ".pbm": "PPM", ".pnm": "PPM",
    ".tga": "TGA", ".ico": "ICO", ".jp2": "JPEG2000", ".j2k": "JPEG2000", ".qoi": "QOI",
    ".dds": "DDS", ".psd": "PSD", ".pcx": "PCX", ".sgi": "SGI", ".im": "IM", ".xbm": "XBM",
}

#: file extensions that name an image format (discovery takes these files without reading them)
IMAGE_EXTENSIONS = frozenset(EXTENSION_FORMATS)

#: formats Pillow reports under another name than the one we sniff (MPO is a multi-picture JPEG)
_SAME_FORMAT = {"MPO": "JPEG", "APNG": "PNG", "DIB": "BMP", "JPEG2000": "JPEG2000"}

_FTYP_BRANDS = {b"avif": "AVIF", b"avis": "AVIF", b"heic": "HEIF", b"heix": "HEIF",
                b"mif1": "HEIF", b"msf1": "HEIF", b"hevc": "HEIF"}


def magic_format(head: bytes) -> str | None:
    """The image format whose signature starts `head`, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM" and len(head) >= 14:
        return "BMP"
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12])
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xffO\xffQ"):
        return "JPEG2000"
    if head[:4] == b"qoif":
        return "QOI"
    if head[:4] == b"8BPS":
        return "PSD"
    if head[:4] == b"DDS ":
        return "DDS"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    if len(head) > 2 and head[0:1] == b"P" and head[1:2] in b"1234567" and head[2:3].isspace():
        return "PPM"
    return None


def canonical(fmt: str | None) -> str | None:
    """Pillow's format name folded onto the family a file extension names."""
    return _SAME_FORMAT.get(fmt, fmt) if fmt else None


def extension_format(path: str | Path) -> str | None:
    return EXTENSION_FORMATS.get(Path(path).suffix.lower())


def _pillow_format(path: Path) -> str | None:
    try:
        with Image.open(path) as im:
            return canonical(im.format)
    except Exception:  # anything Pillow cannot identify is simply not an image
        return None


def sniff_format(path: str | Path, *, identify: bool = True) -> str | None:
    """The file's real format: magic bytes first, then (if `identify`) Pillow's identify."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return None
    if not head:
        return None
    found = magic_format(head)
    if found is None and identify:
        found = _pillow_format(path)
    return found


def extension_mismatch(path: str | Path, content_format: str | None) -> bool:
    """True when the name promises one format and the content is another (or not an image).

    Files with no recognised image extension and zero-byte files are not mismatches."""
    expected = extension_format(path)
    if expected is None:
        return content_format is not None
    return canonical(content_format) != expected
