"""Pictures of flagged images for the HTML report, made from the decode the scores used.

    preview = make_preview(assessment)     # in the worker: {"thumb": uri, "crop": uri | ""}
    keeper = PreviewKeeper(limit=60)       # in the parent: memory bounded per check
    keeper.offer(row)                      # keeps row["_preview"] only while among the worst

The crop is the busiest full-resolution tile, stored losslessly (PNG) so that blur, upscaling
and block edges look exactly as the signals saw them.
"""
from __future__ import annotations

import heapq
import itertools
from typing import Any

from PIL import Image

from ..reports import html as hr
from . import quality as q

THUMB_SIDE = 160
#: flags whose evidence is in the full-resolution pixels: those rows get a crop
CROP_FLAGS = frozenset({"blurry", "blocky", "upscaled"})


def make_preview(assessment: "q.Assessment") -> dict[str, str]:
    """Thumbnail (JPEG) and, for native-resolution flags, a 1:1 crop (PNG) as data: URIs."""
    thumb = assessment.small.rgb.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    crop = assessment.crop() if CROP_FLAGS.intersection(assessment.flags) else None
    return {"thumb": hr.image_uri(thumb),
            "crop": "" if crop is None else hr.image_uri(Image.fromarray(crop), lossless=True)}


class PreviewKeeper:
    """Keeps `_preview` on at most `limit` rows per check, the worst scores first; rows that
    fall out of every check's top lose theirs, so memory does not grow with the dataset."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._heaps: dict[str, list[tuple[float, int, dict[str, Any]]]] = {}
        self._held: dict[int, int] = {}
        self._seq = itertools.count()

    def offer(self, row: dict[str, Any]) -> None:
        if "_preview" not in row:
            return
        kept = 0
        for name in row["flags"]:
            check = q.CHECKS_BY_NAME[name]
            value = float(row[check.score])
            badness = value if check.direction == "above" else -value
            heap = self._heaps.setdefault(name, [])
            entry = (badness, next(self._seq), row)
            if len(heap) < self.limit:
                heapq.heappush(heap, entry)
                kept += 1
            elif badness > heap[0][0]:
                _, _, dropped = heapq.heapreplace(heap, entry)
                kept += 1
                self._release(dropped)
        if kept:
            self._held[id(row)] = self._held.get(id(row), 0) + kept
        else:
            del row["_preview"]

    def _release(self, row: dict[str, Any]) -> None:
        left = self._held.get(id(row), 1) - 1
        if left <= 0:
            self._held.pop(id(row), None)
            row.pop("_preview", None)
        else:
            self._held[id(row)] = left
