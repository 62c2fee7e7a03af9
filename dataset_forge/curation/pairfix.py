"""Making real-world HQ/LQ pairs usable: exact scale, no translation, files written as before.

    dx, dy = measure_shift(hq, lq, scale)          # LQ pixels, sub-pixel: LQ(x) ~ HQ(s(x + d))
    hq2, lq2, record = fit(hq, lq, scale, "trim")  # HQ = LQ x scale (trim or pad HQ)
    hq3, lq3, (ox, oy) = crop_to_overlap(hq2, lq2, scale, dx, dy)
    row = fix_pair(job)                            # the per-pair worker: measure, fix, write

A shift is measured by phase correlation of HQ (box-reduced to the LQ grid) against LQ, with a
parabola through the peak for the sub-pixel part, and corrected by cropping both images to
their overlap: HQ moves in whole HQ pixels, so a shift is corrected to within half an HQ pixel
(1/(2 x scale) LQ pixels). Nothing is resampled: pixels are only cut (or, with `pad`, edge
pixels repeated).

A measured shift is applied only when cropping it away makes the pair agree better
(`mismatch`, the mean grey difference of HQ on the LQ grid against LQ, falls by
`CONFIRM_GAIN`): repeating patterns and screenshots can give phase correlation a false peak
of a fraction of a pixel, and cropping an aligned pair by it would misalign it. The same check
comes before `--max-shift`: a stripe pattern's false peak tens of pixels away, which no crop
confirms, leaves an aligned pair alone instead of calling it unfixable.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..io.atomic import atomic_copy, atomic_write
from ..io.images import DEFAULT_MAX_PIXELS, open_image
from ..io.undo import append_record, sha256_of
from ..transforms.pairfit import pair_scale

MAX_MEASURE_SIDE = 1024   # LQ pixels: the centre crop the shift is measured on
MIN_MEASURE_SIDE = 16
CONFIRM_GAIN = 0.03       # a crop must cut the mismatch by at least this fraction


def grey(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("L"), dtype=np.float64)


def _peak_offset(c: np.ndarray, axis_values: tuple[float, float, float]) -> float:
    """Sub-pixel offset of a peak from the values left of, at and right of it (a parabola)."""
    left, mid, right = axis_values
    denom = left - 2 * mid + right
    return 0.0 if denom == 0 else float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def phase_correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) such that b(x) ~ a(x + d), sub-pixel, for two same-size grey arrays."""
    h, w = a.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    fa = np.fft.fft2((a - a.mean()) * window)
    fb = np.fft.fft2((b - b.mean()) * window)
    cross = fa * np.conj(fb)
    cross /= np.maximum(np.abs(cross), 1e-12)
    corr = np.fft.ifft2(cross).real
    py, px = np.unravel_index(int(np.argmax(corr)), corr.shape)
    sub_x = _peak_offset(corr, (corr[py, (px - 1) % w], corr[py, px], corr[py, (px + 1) % w]))
    sub_y = _peak_offset(corr, (corr[(py - 1) % h, px], corr[py, px], corr[(py + 1) % h, px]))
    dx = px + sub_x if px <= w // 2 else px + sub_x - w
    dy = py + sub_y if py <= h // 2 else py + sub_y - h
    return float(dx), float(dy)


def reduce_to(hq: Image.Image, size: tuple[int, int]) -> Image.Image:
    """HQ on the LQ grid (box filter: each LQ pixel the mean of its HQ block)."""
    return hq.convert("L").resize(size, Image.Resampling.BOX)


def measure_shift(hq: Image.Image, lq: Image.Image, scale: int) -> tuple[float, float]:
    """Translation of LQ against HQ in LQ pixels; HQ must be LQ x scale (see `fit`)."""
    a, b = grey(reduce_to(hq, lq.size)), grey(lq)
    h, w = b.shape
    side_h, side_w = min(h, MAX_MEASURE_SIDE), min(w, MAX_MEASURE_SIDE)
    if min(side_h, side_w) < MIN_MEASURE_SIDE:
        return 0.0, 0.0
    y0, x0 = (h - side_h) // 2, (w - side_w) // 2
    return phase_correlation(a[y0:y0 + side_h, x0:x0 + side_w],
                             b[y0:y0 + side_h, x0:x0 + side_w])


def mismatch(hq: Image.Image, lq: Image.Image) -> float:
    """Mean absolute grey difference between HQ box-reduced to the LQ grid and LQ, over the
    centre crop `measure_shift` reads."""
    a, b = grey(reduce_to(hq, lq.size)), grey(lq)
    h, w = b.shape
    side_h, side_w = min(h, MAX_MEASURE_SIDE), min(w, MAX_MEASURE_SIDE)
    y0, x0 = (h - side_h) // 2, (w - side_w) // 2
    return float(np.abs(a[y0:y0 + side_h, x0:x0 + side_w] -
                        b[y0:y0 + side_h, x0:x0 + side_w]).mean())


def fit(hq: Image.Image, lq: Image.Image, scale: int, how: str
        ) -> tuple[Image.Image, Image.Image, str]:
    """HQ = LQ x scale exactly: `trim` cuts HQ (or LQ) at the right and bottom edges; `pad`
    extends HQ by repeating its edge pixels when it is short. Returns the note of what changed."""
    lw, lh = lq.size
    tw, th = lw * scale, lh * scale
    if (tw, th) == hq.size:
        return hq, lq, ""
    note = f"HQ {hq.width}x{hq.height}"
    if how == "pad" and (tw >= hq.width and th >= hq.height):
        arr = np.asarray(hq)
        pads = [(0, th - hq.height), (0, tw - hq.width)] + [(0, 0)] * (arr.ndim - 2)
        padded = Image.fromarray(np.pad(arr, pads, mode="edge"), hq.mode)
        padded.info = hq.info
        return padded, lq, f"{note} padded to {tw}x{th}"
    lw, lh = min(lw, hq.width // scale), min(lh, hq.height // scale)
    if (lw, lh) != lq.size:
        note += f", LQ {lq.width}x{lq.height} -> {lw}x{lh}"
        lq = lq.crop((0, 0, lw, lh))
    return hq.crop((0, 0, lw * scale, lh * scale)), lq, f"{note} trimmed to " \
        f"{lw * scale}x{lh * scale}"


def crop_to_overlap(hq: Image.Image, lq: Image.Image, scale: int, dx: float, dy: float
                    ) -> tuple[Image.Image, Image.Image, tuple[int, int]]:
    """Crop both to where they show the same scene: LQ(x) ~ HQ(scale (x + d)). HQ moves by the
    whole HQ pixels nearest to `d x scale`; returns the shift applied, in HQ pixels."""
    shift = (round(dx * scale), round(dy * scale))
    boxes = []
    for d, lq_len, hq_len in ((shift[0], lq.width, hq.width), (shift[1], lq.height, hq.height)):
        lq_from = 0 if d >= 0 else math.ceil(-d / scale)
        hq_from = scale * lq_from + d
        length = min(lq_len - lq_from, (hq_len - hq_from) // scale)
        boxes.append((lq_from, hq_from, max(0, length)))
    (lx, hx, w), (ly, hy, h) = boxes
    if w <= 0 or h <= 0:
        raise ValueError("no overlap left after the shift")
    return (hq.crop((hx, hy, hx + w * scale, hy + h * scale)), lq.crop((lx, ly, lx + w, ly + h)),
            shift)


def encode(im: Image.Image, fmt: str | None, source: Image.Image) -> bytes:
    """The image in its source's format; JPEG keeps the source's quantisation tables."""
    fmt = fmt or "PNG"
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if fmt in ("JPEG", "MPO"):
        fmt = "JPEG"
        tables = getattr(source, "quantization", None)
        kwargs = {"qtables": tables} if tables else {"quality": 95}
        if im.mode not in ("RGB", "L", "CMYK"):
            im = im.convert("RGB")
    elif fmt == "WEBP":
        kwargs = {"lossless": True}
    if source.info.get("icc_profile"):
        kwargs["icc_profile"] = source.info["icc_profile"]
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


@dataclass(frozen=True)
class FixJob:
    hq: Path
    lq: Path
    out_hq: Path
    out_lq: Path
    scale: int            # 0 = from the pair's sizes
    fit: str              # trim | pad
    align: bool
    max_shift: float      # LQ pixels; beyond it the pair is reported, not fixed
    min_shift: float      # LQ pixels; below it a measured shift is left alone
    tolerance: float      # LQ pixels off HQ / scale that `fit` may absorb
    write: bool
    max_pixels: int = DEFAULT_MAX_PIXELS
    manifest: Path | None = None   # the undo manifest each output is logged in before it is written


def fix_pair(job: FixJob) -> dict[str, Any]:
    """Measure and fix one pair (worker function); writes the outputs when `job.write`.
    Returns the pair's row: status ok (unchanged), fixed, or unfixable with the reason."""
    with open_image(job.hq, max_pixels=job.max_pixels) as h, \
            open_image(job.lq, max_pixels=job.max_pixels) as l:
        h.load()
        l.load()
        hq, lq = h.copy(), l.copy()
        hq_fmt, lq_fmt = h.format, l.format
        hq.info, lq.info = dict(h.info), dict(l.info)
        hq_src, lq_src = h, l
        scale = job.scale or pair_scale(hq.size, lq.size)
        row: dict[str, Any] = {"scale": scale, "hq_size": f"{hq.width}x{hq.height}",
                               "lq_size": f"{lq.width}x{lq.height}", "status": "ok", "fix": ""}
        off = max(abs(lq.width - hq.width / scale), abs(lq.height - hq.height / scale))
        if off > job.tolerance:
            return {**row, "status": "unfixable",
                    "reason": f"LQ is {off:.1f} px off HQ / {scale} (beyond --pixel-tolerance)"}
        hq2, lq2, note = fit(hq, lq, scale, job.fit)
        fixes = [note] if note else []
        dx = dy = 0.0
        if job.align:
            dx, dy = measure_shift(hq2, lq2, scale)
            row.update(shift_x=round(dx, 2), shift_y=round(dy, 2))
            beyond = math.hypot(dx, dy) > job.max_shift
            beyond_reason = f"shifted by {dx:+.1f},{dy:+.1f} LQ px (beyond --max-shift)"
            if math.hypot(dx, dy) < job.min_shift:
                dx = dy = 0.0
            try:
                hq3, lq3, applied = crop_to_overlap(hq2, lq2, scale, dx, dy)
            except ValueError as exc:
                return {**row, "status": "unfixable", "reason": beyond_reason if beyond
                        else str(exc)}
            # the zero shift wins when it matches as well: a repeating pattern (stripes, a
            # grid) gives false peaks, even tens of pixels away, that no crop confirms
            if applied != (0, 0) and \
                    mismatch(hq3, lq3) > mismatch(hq2, lq2) * (1 - CONFIRM_GAIN):
                row["note"] = (f"measured shift {dx:+.2f},{dy:+.2f} LQ px left alone: cropping "
                               "it away did not make the pair agree better")
            elif beyond:
                return {**row, "status": "unfixable", "reason": beyond_reason}
            elif applied != (0, 0):
                fixes.append(f"shift {applied[0]:+d},{applied[1]:+d} HQ px cropped away")
                hq2, lq2 = hq3, lq3
                rx, ry = measure_shift(hq2, lq2, scale)
                row.update(residual_x=round(rx, 2), residual_y=round(ry, 2))
        row.update(fix="; ".join(fixes), out_hq_size=f"{hq2.width}x{hq2.height}",
                   out_lq_size=f"{lq2.width}x{lq2.height}", status="fixed" if fixes else "ok")
        if job.write:
            # fitting and cropping only ever cut or extend, so an unchanged size is an
            # unchanged image: copied byte for byte
            row["hq_sha256"] = _write(hq2, hq2.size == hq.size, job.hq, job.out_hq, hq_fmt,
                                      hq_src, job.manifest)
            row["lq_sha256"] = _write(lq2, lq2.size == lq.size, job.lq, job.out_lq, lq_fmt,
                                      lq_src, job.manifest)
    return row


def _write(im: Image.Image, unchanged: bool, src: Path, dst: Path, fmt: str | None,
           source: Image.Image, manifest: Path | None) -> str:
    """Copy an unchanged file byte for byte; encode a changed one. The copy is logged in
    `manifest` with its SHA-256 before it is written (write-ahead: a kill -9 leaves no output
    that undo does not know). Returns the SHA-256."""
    data = None if unchanged else encode(im, fmt, source)
    digest = sha256_of(src) if data is None else hashlib.sha256(data).hexdigest()
    if manifest is not None:
        append_record(manifest, "copy", src, dst, sha256=digest)
    if data is None:
        atomic_copy(src, dst)
    else:
        with atomic_write(dst) as fh:
            fh.write(data)
    return digest
