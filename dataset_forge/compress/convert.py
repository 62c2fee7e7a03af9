"""Convert one file: read, choose how (its route), encode or optimise, write, verify.

    settings = ConvertSettings(EncodeOptions(format="webp"), target=Target(ssim=0.95))
    row = convert_file(settings, Job(src, dest, keep_dest, key="a/b.png", format="webp",
                                     route=LOSSY))

Runs inside workers (module-level, picklable); the action journals and reports the rows.
Lossless routes (`routes.py`) are checked pixel for pixel against the source and every row says
whether the result is pixel-identical. Nothing is written unless the result reads back at the
expected size. In place, the original is replaced by a verified swap (`swap.py`): it goes to the
system trash, logged in the undo manifest first, unless the new file has the same name and
identical pixels; a rerun recognises the swaps it already made.
"""
from __future__ import annotations

import hashlib
import io
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..io import atomic_copy, atomic_save, decode, open_image
from ..io.images import DEFAULT_MAX_PIXELS, first_frame_only
from ..io.undo import UndoManifest, sha256_of
from .encoders import encode, optimise_jpeg, optimise_png
from .options import PIL_NAMES, EncodeOptions
from .pixels import PixelPrint, canonical_digest, comparable_only_canonically, pixel_print
from .policy import prepare
from .routes import KEEP, LOSSLESS, LOSSY, OPTIMISE_JPEG, OPTIMISE_PNG
from .search import SearchResult, Target, search_quality, score_bytes, ssim_reference
from .swap import IntentLog, swap_in


class VerifyError(ValueError):
    """A freshly written file did not read back as expected; nothing was replaced."""


@dataclass(frozen=True)
class Job:
    source: Path
    dest: Path                  # where the encoded file goes
    keep_dest: Path | None      # where --only-if-smaller copies the original (None in place)
    key: str                    # journal key: the output's relative path (tree-prefixed)
    format: str                 # target format for this file
    label: str = ""             # the source's relative path, for reports
    route: str = LOSSY          # how the output is made (routes.py)

    def __str__(self) -> str:
        return str(self.source)


@dataclass(frozen=True)
class ConvertSettings:
    options: EncodeOptions
    target: Target | None = None
    only_if_smaller: bool = False
    in_place: bool = False
    measure: bool = False       # score the fixed-quality result with SSIM too
    max_pixels: int = DEFAULT_MAX_PIXELS
    asked_lossy: bool = False   # a quality, target SSIM or target size was given
    #: in place: the undo manifest that logs originals sent to the trash
    undo_manifest: str | None = field(default=None, repr=False, compare=False)
    #: in place: the write-ahead intents of swaps, so a rerun recognises its outputs
    intents: IntentLog | None = field(default=None, repr=False, compare=False)


@dataclass
class Made:
    """What a route produced: the bytes, the output's facts and what was done."""

    data: bytes
    mode: str
    size: tuple[int, int]
    result: SearchResult | None = None
    identical: bool | None = None
    lost_alpha: bool = False
    notes: list[str] = field(default_factory=list)
    decoded: bool = False       # the bytes were decoded in full already (checked routes)


def convert_file(settings: ConvertSettings, job: Job) -> dict[str, Any]:
    """Convert one image; return its report row. Raises with a one-line reason on failure."""
    t0 = time.perf_counter()
    lossless_webp = settings.options.lossless or (job.route == LOSSLESS and job.format == "webp")
    opts = replace(settings.options, format=job.format, lossless=lossless_webp)
    bytes_in = os.stat(job.source).st_size
    with open_image(job.source, max_pixels=settings.max_pixels) as opened:
        frames = getattr(opened, "n_frames", 1)
        if frames > 1 and settings.in_place:
            raise ValueError(f"animated image ({frames} frames): converting in place would "
                             "drop all frames but the first; use --output")
        row: dict[str, Any] = {"format_in": opened.format, "mode_in": opened.mode,
                               "frames_in": frames}
        route, notes = job.route, []
        if frames > 1 and route not in (LOSSY, LOSSLESS):
            route, notes = KEEP, [f"animated ({frames} frames): kept as it is"]
        if route == KEEP:
            made = Made(b"", opened.mode, opened.size, identical=True)
        elif route in (OPTIMISE_JPEG, OPTIMISE_PNG):
            source_print = pixel_print(decode(opened))
        else:
            made = _reencode(decode(opened), opts, settings, route, job)
    if route in (OPTIMISE_JPEG, OPTIMISE_PNG):   # the source's pixels are freed by now
        made = _optimise(job, opts, source_print, route, settings.max_pixels)
    made.notes[:0] = notes
    kept_format = str(row["format_in"]).lower()
    row.update(route=route, format_out=opts.format if route != KEEP else kept_format,
               mode_out=made.mode, width=made.size[0], height=made.size[1], bytes_in=bytes_in,
               quality=made.result.quality if made.result and opts.lossy else None,
               ssim=None if not made.result or made.result.score is None
               else round(made.result.score, 5),
               encodes=made.result.encodes if made.result else 0,
               target_reached=made.result.reached if made.result else True,
               lost_alpha=made.lost_alpha, pixel_identical=made.identical)
    if route == KEEP or (settings.only_if_smaller and len(made.data) >= bytes_in):
        if route != KEEP:
            made.notes.append(f"re-encoding gave {len(made.data):,} bytes; original kept")
        elif job.route == KEEP:
            made.notes.append(f"{opts.format}: no lossless re-encode exists; give --quality, "
                              "--target-ssim or --target-bytes to re-encode lossily")
        row.update(status="kept-original", bytes_out=bytes_in, lost_alpha=False,
                   pixel_identical=True, format_out=kept_format, mode_out=row["mode_in"],
                   output=str(_keep_original(job, settings.in_place)))
    else:
        row.update(status="written", bytes_out=len(made.data), output=str(job.dest))
        if frames > 1:
            made.notes.append(first_frame_only(frames))
        trash = settings.in_place and (job.dest != job.source or not made.identical)
        if trash:
            made.notes.append("original in the trash (dataset-forge undo restores it)")
        row.update(notes="; ".join(made.notes), seconds=round(time.perf_counter() - t0, 4))
        _write(job, made, opts.format, settings, row, trash)
    row.update(notes="; ".join(made.notes), seconds=round(time.perf_counter() - t0, 4))
    return row


def _optimise(job: Job, opts: EncodeOptions, source_print: PixelPrint, route: str,
              max_pixels: int) -> Made:
    """Byte-level lossless optimisation of the source file, checked pixel for pixel."""
    data = Path(job.source).read_bytes()
    data = optimise_jpeg(data, opts) if route == OPTIMISE_JPEG else optimise_png(data, opts)
    return _checked(data, job.source, source_print, max_pixels)


def _checked(data: bytes, source: Path, source_print: PixelPrint | None, max_pixels: int,
             **facts) -> Made:
    """Decode `data` once: its mode and size, and whether its pixels match the source's
    (compared canonically, the source decoded again, only when the two store them
    differently)."""
    with Image.open(io.BytesIO(data)) as out:
        out.load()
        made = Made(data, out.mode, out.size, decoded=True, **facts)
        if source_print is None:
            return made
        out_print = pixel_print(out)
        made.identical = out_print == source_print
        if made.identical or not comparable_only_canonically(source_print, out_print):
            return made
        out_digest = canonical_digest(out)
    with open_image(source, max_pixels=max_pixels) as again:
        made.identical = canonical_digest(decode(again)) == out_digest
    return made


def _reencode(im: Image.Image, opts: EncodeOptions, settings: ConvertSettings,
              route: str, job: Job) -> Made:
    """Decode, apply the mode/metadata policy, encode (losslessly, at a quality, or searched)."""
    source_print = pixel_print(im) if route == LOSSLESS else None
    prepared = prepare(im, opts)
    del im
    result = _encode(prepared, opts, settings)
    facts = {"result": result, "lost_alpha": prepared.lost_alpha, "notes": prepared.notes}
    if route == LOSSLESS:
        del prepared      # frees the pixels before the output is decoded for the check
        return _checked(result.data, job.source, source_print, settings.max_pixels, **facts)
    return Made(result.data, prepared.image.mode, prepared.image.size, identical=False,
                **facts)


def _encode(prepared, opts: EncodeOptions, settings: ConvertSettings) -> SearchResult:
    if settings.target is not None and opts.lossy:
        return search_quality(prepared, opts, settings.target)
    if settings.target is not None:
        prepared.notes.append(f"{opts.format} is lossless here: no quality to search")
    data = encode(prepared, opts)
    score = None
    if settings.measure and opts.lossy:
        score = score_bytes(ssim_reference(prepared.image), data)
    return SearchResult(opts.effective_quality() or 0, data, score, 1, True)


def _write(job: Job, made: Made, fmt: str, settings: ConvertSettings, row: dict[str, Any],
           trash: bool) -> None:
    """Verified write: atomically into --output, or a swap in place (see swap.py)."""
    def verify(path: Path) -> None:
        with Image.open(path) as im:
            if im.format != PIL_NAMES[fmt] or im.size != made.size:
                raise VerifyError(f"written file reads back as {im.format} {im.size}, "
                                  f"expected {PIL_NAMES[fmt]} {made.size}; original left "
                                  "untouched")
            if settings.in_place and not made.decoded:
                im.load()   # lossless results were already decoded in full

    if not settings.in_place:
        atomic_save(job.dest, lambda fh: fh.write(made.data), verify)
        return
    if trash:
        _log_replacement(job, made.data, settings.undo_manifest)
    swap_in(job.source, job.dest, made.data, verify, key=job.key, row=row,
            intents=settings.intents, trash=trash)


def _log_replacement(job: Job, data: bytes, manifest_path: str | None) -> None:
    """Write-ahead undo entries: the original goes to the trash and the new file takes its
    place (same name: one `replace` entry) or stands beside it (new name: `copy`, then
    `trash`; replayed newest first: restore the original, then remove the new file)."""
    if manifest_path is None:
        return
    digest = hashlib.sha256(data).hexdigest()
    with UndoManifest(manifest_path, "compress") as manifest:
        if job.dest == job.source:
            manifest.record("replace", job.source, None, sha256=sha256_of(job.source),
                            size=os.stat(job.source).st_size, new_sha256=digest)
            return
        manifest.record("copy", job.source, job.dest, sha256=digest, size=len(data))
        manifest.record("trash", job.source, None, sha256=sha256_of(job.source),
                        size=os.stat(job.source).st_size)


def _keep_original(job: Job, in_place: bool) -> Path:
    """The original stays: left alone (in place) or copied as it is into --output."""
    if in_place or job.keep_dest is None:
        return job.source
    return atomic_copy(job.source, job.keep_dest)
