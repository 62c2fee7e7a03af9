"""How one file becomes its output: lossless first, lossy only when asked.

    route = choose_route(content="jpeg", fmt="jpeg", opts=opts, asked_lossy=False)  # OPTIMISE_JPEG

| route | what happens | pixels |
|---|---|---|
| `optimise-jpeg` | the JPEG's entropy coding is rewritten (mozjpeg-lossless-optimization) | identical |
| `optimise-png` | the PNG is recompressed by oxipng, chunks and bit depth kept | identical |
| `lossless` | decoded and written as PNG or lossless WebP | identical unless the mode policy converts (CMYK, float) |
| `lossy` | decoded and encoded at a quality (asked for, searched, or a conversion's default) | changed |
| `keep` | no lossless way exists (lossy WebP, AVIF) and no quality was asked: original kept | identical |

A lossy re-encode of a file into its own format happens only when the user asks for a quality,
a target SSIM or a target size; `--format keep` never turns lossless WebP lossy.
"""
from __future__ import annotations

import struct
from pathlib import Path

from .options import EncodeOptions

OPTIMISE_JPEG = "optimise-jpeg"
OPTIMISE_PNG = "optimise-png"
LOSSLESS = "lossless"
LOSSY = "lossy"
KEEP = "keep"
#: routes whose output is checked pixel for pixel against the source
CHECKED = (OPTIMISE_JPEG, OPTIMISE_PNG, LOSSLESS)


def choose_route(content: str | None, fmt: str, opts: EncodeOptions, *, asked_lossy: bool,
                 webp_lossless: bool = False, keep_format: bool = False) -> str:
    """The route for a source whose content is `content` (jpeg/png/webp/avif or None for
    other formats) going to `fmt`. `asked_lossy`: a quality, target SSIM or size was given."""
    if fmt == "png":
        return OPTIMISE_PNG if content == "png" and opts.oxipng else LOSSLESS
    if fmt == "webp" and (opts.lossless or (keep_format and webp_lossless)):
        return LOSSLESS
    if asked_lossy:
        return LOSSY
    if content == fmt:
        return OPTIMISE_JPEG if fmt == "jpeg" else KEEP
    return LOSSY


def webp_is_lossless(path: str | Path) -> bool:
    """True when the WebP's (first) image is VP8L, lossless; walks the RIFF chunks."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return False
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return False
                kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if kind == b"VP8L":
                    return True
                if kind == b"VP8 ":
                    return False
                if kind == b"ANMF":          # animation frame: its image chunks follow inside
                    fh.seek(16, 1)
                    continue
                fh.seek(size + (size & 1), 1)
    except OSError:
        return False
