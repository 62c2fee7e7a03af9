"""Convert one file: read, prepare, encode (or search a quality), write atomically, verify.

    settings = ConvertSettings(EncodeOptions(format="webp"), target=Target(ssim=0.95))
    row = convert_file(settings, Job(src, dest, keep_dest, key="a/b.png", format="webp"))

Runs inside workers (module-level, picklable); the action journals and reports the rows.
Nothing is written unless the result decodes back at the expected size; the original is only
replaced (`in_place`) by an atomic swap after a full decode of the new file. In place with a new
extension, the original goes to the system trash (never unlinked) and the swap is logged in the
undo manifest first, so `dataset-forge undo` restores the original and removes the new file.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PIL import Image

from ..io import atomic_copy, atomic_save, decode, open_image
from ..io.undo import UndoManifest, sha256_of
from .encoders import encode
from .options import PIL_NAMES, EncodeOptions
from .policy import prepare
from .search import (SearchResult, Target, decode_bytes, search_quality, ssim_pixels,
                     ssim_reference)


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

    def __str__(self) -> str:
        return str(self.source)


@dataclass(frozen=True)
class ConvertSettings:
    options: EncodeOptions
    target: Target | None = None
    only_if_smaller: bool = False
    in_place: bool = False
    measure: bool = False       # score the fixed-quality result with SSIM too
    #: in place: the undo manifest that logs originals replaced under a new extension
    undo_manifest: str | None = field(default=None, repr=False, compare=False)


def convert_file(settings: ConvertSettings, job: Job) -> dict[str, Any]:
    """Convert one image; return its report row. Raises with a one-line reason on failure."""
    t0 = time.perf_counter()
    opts = replace(settings.options, format=job.format)
    bytes_in = os.stat(job.source).st_size
    with open_image(job.source) as opened:
        frames = getattr(opened, "n_frames", 1)
        if frames > 1 and settings.in_place:
            raise ValueError(f"animated image ({frames} frames): converting in place would "
                             "drop all frames but the first; use --output")
        im = decode(opened)
        row: dict[str, Any] = {"format_in": opened.format, "mode_in": opened.mode}
        prepared = prepare(im, opts)
    if frames > 1:
        prepared.notes.append(f"animated: first of {frames} frames kept")
    result = _encode(prepared, opts, settings)
    size = prepared.image.size
    row.update(format_out=opts.format, mode_out=prepared.image.mode, width=size[0],
               height=size[1], bytes_in=bytes_in, quality=result.quality if opts.lossy else None,
               ssim=None if result.score is None else round(result.score, 5),
               encodes=result.encodes, target_reached=result.reached,
               lost_alpha=prepared.lost_alpha)
    if settings.only_if_smaller and len(result.data) >= bytes_in:
        written = _keep_original(job, settings.in_place)
        row.update(status="kept-original", bytes_out=bytes_in, lost_alpha=False)
        prepared.notes.append(f"re-encoding gave {len(result.data):,} bytes; original kept")
    else:
        written = _write(job, result.data, opts.format, size, settings)
        row.update(status="written", bytes_out=len(result.data))
    row.update(output=str(written), notes="; ".join(prepared.notes),
               seconds=round(time.perf_counter() - t0, 4))
    return row


def _encode(prepared, opts: EncodeOptions, settings: ConvertSettings) -> SearchResult:
    if settings.target is not None and opts.lossy:
        return search_quality(prepared, opts, settings.target)
    if settings.target is not None:
        prepared.notes.append(f"{opts.format} is lossless here: no quality to search")
    data = encode(prepared, opts)
    score = None
    if settings.measure and opts.lossy:
        score = ssim_reference(prepared.image).score(ssim_pixels(decode_bytes(data)))
    return SearchResult(opts.effective_quality() or 0, data, score, 1, True)


def _write(job: Job, data: bytes, fmt: str, size: tuple[int, int],
           settings: ConvertSettings) -> Path:
    """Atomic write, verified first (header always, full decode in place)."""
    def verify(path: Path) -> None:
        with Image.open(path) as im:
            if im.format != PIL_NAMES[fmt] or im.size != size:
                raise VerifyError(f"written file reads back as {im.format} {im.size}, "
                                  f"expected {PIL_NAMES[fmt]} {size}; original left untouched")
            if settings.in_place:
                im.load()

    renamed = settings.in_place and job.dest != job.source
    if renamed:
        _log_replacement(job, data, settings.undo_manifest)
    atomic_save(job.dest, lambda fh: fh.write(data), verify)
    if renamed:
        from send2trash import send2trash
        send2trash(str(job.source))  # the verified new file replaces it; undo can bring it back
    return job.dest


def _log_replacement(job: Job, data: bytes, manifest_path: str | None) -> None:
    """Write-ahead undo entries: the new file was made from the original, which goes to the
    trash (replayed newest first: restore the original, then remove the new file)."""
    if manifest_path is None:
        return
    with UndoManifest(manifest_path, "compress") as manifest:
        manifest.record("copy", job.source, job.dest, sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data))
        manifest.record("trash", job.source, None, sha256=sha256_of(job.source),
                        size=os.stat(job.source).st_size)


def _keep_original(job: Job, in_place: bool) -> Path:
    """--only-if-smaller lost: leave the original (in place) or copy it as it is (output)."""
    if in_place or job.keep_dest is None:
        return job.source
    return atomic_copy(job.source, job.keep_dest)
