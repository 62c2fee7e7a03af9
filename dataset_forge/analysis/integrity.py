"""Is each file a complete, readable image? Two tiers.

- header (default): the header parses, the pixel count is within the bomb limit, and the file
  ends the way its format says it must (JPEG end marker, PNG IEND chunk, WebP RIFF length).
  A file failing the ending test is confirmed with a small reduced decode, so a JPEG with data
  appended after its end (motion photos) is not reported as truncated.
- deep: every frame is fully decoded; Pillow warnings (bad EXIF, ...) are kept as notes.

`check_file` never raises: it returns a row with `status` (one of STATUSES) and `message`.
"""
from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path
from typing import Any

from PIL import Image

from ..io.images import DEFAULT_MAX_PIXELS, ImageReadError, decode, open_image
from ..io.sniff import extension_mismatch
from .header import read_header

STATUSES = ("ok", "empty", "not_image", "truncated", "corrupt", "bomb", "unreadable")
BAD_STATUSES = STATUSES[1:]  # what the curation rules select on
MAX_DEEP_FRAMES = 1000
TAIL_BYTES = 4096

COLUMNS = ["path", "status", "message", "format", "mode", "width", "height", "bytes", "frames",
           "extension_ok", "content_format"]


def ending_is_complete(path: Path, fmt: str | None, size: int) -> bool:
    """The format's end-of-data sign is where it should be (True for other formats)."""
    if fmt not in ("JPEG", "MPO", "PNG", "WEBP"):
        return True
    with open(path, "rb") as fh:
        if fmt == "WEBP":
            head = fh.read(12)
            return len(head) == 12 and struct.unpack("<I", head[4:8])[0] + 8 <= size
        fh.seek(max(0, size - TAIL_BYTES))
        tail = fh.read()
    return (b"\xff\xd9" in tail) if fmt in ("JPEG", "MPO") else (b"IEND" in tail)


def classify_error(error: Exception) -> str:
    text = str(error).lower().removeprefix("corrupt or truncated image data")
    if isinstance(error, (PermissionError, IsADirectoryError)):
        return "unreadable"
    if text.startswith("empty file"):
        return "empty"
    if "bomb" in text:
        return "bomb"
    if "not an image" in text:
        return "not_image"
    if "truncated" in text or "premature end" in text or "broken data stream" in text:
        return "truncated"
    if isinstance(error, FileNotFoundError):
        return "unreadable"
    return "corrupt"


def _decode_all(path: Path, max_pixels: int) -> list[str]:
    """Fully decode every frame; return Pillow's warnings as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_image(path, max_pixels=max_pixels) as im:
            frames = min(int(getattr(im, "n_frames", 1)), MAX_DEEP_FRAMES)
            for index in range(frames):
                if index:
                    im.seek(index)
                decode(im)
    return sorted({str(w.message) for w in caught
                   if not issubclass(w.category, Image.DecompressionBombWarning)})


def _confirm_reduced(path: Path, max_pixels: int) -> None:
    with open_image(path, max_pixels=max_pixels) as im:
        decode(im, max_side=64)


def check_file(path: str | Path, *, deep: bool = False,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """One integrity row for `path` (see COLUMNS); never raises for a bad file."""
    path = Path(path)
    row: dict[str, Any] = {"status": "ok", "message": ""}
    try:
        row.update(read_header(path, max_pixels=max_pixels))
        if deep:
            notes = _decode_all(path, max_pixels)
            row["message"] = "; ".join(notes)
        elif not ending_is_complete(path, row["content_format"], row["bytes"]):
            _confirm_reduced(path, max_pixels)
            row["message"] = "no end marker but the data decodes (extra bytes after the image?)"
    except (ImageReadError, OSError, SyntaxError, ValueError, EOFError,
            struct.error, Image.DecompressionBombError) as exc:
        row["status"] = classify_error(exc)
        row["message"] = str(exc) if isinstance(exc, ImageReadError) else \
            f"{type(exc).__name__}: {exc}"
    if row["status"] == "not_image":
        row["extension_ok"] = not extension_mismatch(path, None)
    if row["status"] != "ok":
        try:
            row.setdefault("bytes", os.stat(path).st_size)
        except OSError:
            pass
    return row
