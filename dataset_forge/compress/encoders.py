"""One encoder per target format, into memory: `encode(prepared, opts, quality) -> bytes`,
and the two byte-level lossless optimisers: `optimise_jpeg(data)`, `optimise_png(data, opts)`.

PNG goes through Pillow at its fastest zlib level and then pyoxipng, which picks filters and
recompresses losslessly (smaller than Pillow's best level, in less time). By default oxipng keeps
the colour type and bit depth, so a 16-bit or RGB file decodes to the same mode as before.
JPEG files are optimised by mozjpeg-lossless-optimization, which rewrites the entropy coding
(optimised Huffman tables, progressive scans) of the same DCT coefficients: pixels unchanged.
"""
from __future__ import annotations

import io
from typing import Any, Callable

import mozjpeg_lossless_optimization as mozjpeg
import oxipng

from .options import PIL_NAMES, EncodeOptions
from .policy import Prepared

JPEG_SUBSAMPLING = {"auto": -1, "4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def encode(prepared: Prepared, opts: EncodeOptions, quality: int | None = None) -> bytes:
    """Encode `prepared.image` with `opts` (quality overrides opts for lossy formats)."""
    kwargs = _ENCODER_ARGS[opts.format](opts, quality if quality is not None
                                         else opts.effective_quality())
    if prepared.icc:
        kwargs["icc_profile"] = prepared.icc
    if prepared.exif:
        kwargs["exif"] = prepared.exif
    buffer = io.BytesIO()
    prepared.image.save(buffer, PIL_NAMES[opts.format], **kwargs)
    data = buffer.getvalue()
    if opts.format == "png" and opts.oxipng:
        data = optimise_png(data, opts, strip=False)   # prepare() already chose the metadata
    return data


def optimise_png(data: bytes, opts: EncodeOptions, *, strip: bool | None = None) -> bytes:
    """oxipng on PNG bytes; metadata chunks kept unless stripped (default: opts.strip_metadata)."""
    strip = opts.strip_metadata if strip is None else strip
    reduce = opts.png_reduce  # off: the file decodes to the same mode and bit depth
    return oxipng.optimize_from_memory(
        data, level=opts.oxipng_level,
        strip=oxipng.StripChunks.safe() if strip else oxipng.StripChunks.none(),
        bit_depth_reduction=reduce, color_type_reduction=reduce, grayscale_reduction=reduce)


def optimise_jpeg(data: bytes, opts: EncodeOptions) -> bytes:
    """Lossless JPEG optimisation; every marker (EXIF, ICC, comments) is kept unless
    opts.strip_metadata. Raises ValueError with a one-line reason on a JPEG it cannot read."""
    copy = mozjpeg.COPY_MARKERS.NONE if opts.strip_metadata else mozjpeg.COPY_MARKERS.ALL
    try:
        return mozjpeg.optimize(data, copy)
    except ValueError as exc:
        raise ValueError(f"lossless JPEG optimisation failed: {exc}") from None


def _jpeg(opts: EncodeOptions, quality: int | None) -> dict[str, Any]:
    args: dict[str, Any] = {"quality": quality, "optimize": opts.jpeg_optimize,
                            "progressive": opts.progressive}
    if opts.subsampling != "auto":
        args["subsampling"] = JPEG_SUBSAMPLING[opts.subsampling]
    return args


def _webp(opts: EncodeOptions, quality: int | None) -> dict[str, Any]:
    if opts.lossless:
        return {"lossless": True, "quality": 100, "method": opts.effort, "exact": True}
    return {"quality": quality, "method": opts.effort}


def _png(opts: EncodeOptions, quality: int | None) -> dict[str, Any]:
    # oxipng redoes the compression, so Pillow's own effort would be wasted
    return {"compress_level": 1 if opts.oxipng else opts.png_compress_level}


def _avif(opts: EncodeOptions, quality: int | None) -> dict[str, Any]:
    args: dict[str, Any] = {"quality": quality, "speed": opts.avif_speed}
    if opts.subsampling != "auto":
        args["subsampling"] = opts.subsampling
    return args


_ENCODER_ARGS: dict[str, Callable[[EncodeOptions, int | None], dict[str, Any]]] = {
    "jpeg": _jpeg, "webp": _webp, "png": _png, "avif": _avif}
