"""What an encode should produce: the target format and every knob that shapes its bytes.

    opts = EncodeOptions(format="webp", quality=85)
    opts.extension            # ".webp"
    opts.effective_quality()  # 85 (the format's default when quality is None; None if lossless)
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

FORMATS = ("jpeg", "webp", "png", "avif")
EXTENSIONS = {"jpeg": ".jpg", "webp": ".webp", "png": ".png", "avif": ".avif"}
PIL_NAMES = {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG", "avif": "AVIF"}
DEFAULT_QUALITY = {"jpeg": 90, "webp": 90, "avif": 80}
SUBSAMPLING = ("auto", "4:4:4", "4:2:2", "4:2:0")

@dataclass(frozen=True)
class EncodeOptions:
    """Encoder settings for one target format (fields that do not apply to it are ignored)."""

    format: str = "webp"
    quality: int | None = None          # lossy formats; None = the format's default
    progressive: bool = True            # JPEG
    subsampling: str = "auto"           # JPEG and AVIF chroma subsampling
    jpeg_optimize: bool = True          # JPEG: optimised Huffman tables (lossless, cheap)
    lossless: bool = False              # WebP
    effort: int = 4                     # WebP method 0 (fast) .. 6 (small)
    png_compress_level: int = 9         # Pillow's zlib level when oxipng is off
    oxipng: bool = True                 # PNG: lossless optimisation through pyoxipng
    oxipng_level: int = 2               # oxipng preset 0 (fast) .. 6 (small)
    png_reduce: bool = False            # let oxipng change colour type / bit depth (lossless)
    avif_speed: int = 6                 # AVIF encoder speed 0 (small) .. 10 (fast)
    strip_metadata: bool = False        # drop ICC and EXIF
    keep_exif: bool = False             # copy EXIF (orientation reset, pixels already upright)
    background: tuple[int, int, int] = (255, 255, 255)  # flattening colour for alpha

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.subsampling not in SUBSAMPLING:
            raise ValueError(f"unknown subsampling {self.subsampling!r}")

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def lossy(self) -> bool:
        """True when the encoder has a quality knob that the search can turn."""
        return self.format in ("jpeg", "avif") or (self.format == "webp" and not self.lossless)

    def effective_quality(self) -> int | None:
        if not self.lossy:
            return None
        return self.quality if self.quality is not None else DEFAULT_QUALITY[self.format]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "ki": 1024, "mi": 1024**2,
          "gi": 1024**3}


def parse_size(text: str) -> int:
    """'150k', '1.5MB', '200KiB', '4096' -> bytes (k/M/G are powers of 1000, Ki/Mi/Gi of 1024)."""
    match = _SIZE.match(str(text))
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 4096, 150k, 1.5MB, 200KiB)")
    value = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if value < 1:
        raise ValueError(f"size must be at least 1 byte, got {text!r}")
    return int(value)
