"""Which files a deduplication run looks at, how it names them, and which it may never touch.

Order matters: files of an `--against` collection come first (searched, never queried, so
duplicates inside the collection are not reported), then the input. Files of the collection
and of a reference folder are protected: always kept, never moved or removed, also when the
folder lies inside the input (`--input data --against data/archive`: the archive stays the
collection, the rest of `data` is the input). In HQ/LQ mode the input is the HQ folder and
each HQ file carries its LQ partner along.

Symbolic links are resolved first: a link to a file that is also scanned is the same file, not
a duplicate, so it is left out of the comparison (listed in `links`), and the file it points
to is never moved or removed (that would leave the link dangling).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..io import iter_images, open_image, pair_folders
from .encoding import encoding_facts


@dataclass
class Catalog:
    paths: list[Path] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)       # path as users see it
    dest_rel: list[Path] = field(default_factory=list)   # where it goes under --dest
    protected: list[bool] = field(default_factory=list)
    first_query: int = 0                                 # rows before it: --against collection
    partners: dict[int, tuple[Path, Path]] = field(default_factory=dict)  # row -> (LQ, dest rel)
    unpaired_lq: list[Path] = field(default_factory=list)
    links: list[tuple[str, int]] = field(default_factory=list)   # (link as shown, target row)

    @property
    def linked(self) -> dict[int, str]:
        """Rows that a left-out link points to -> the first such link."""
        out: dict[int, str] = {}
        for shown, row in self.links:
            out.setdefault(row, shown)
        return out

    def __len__(self) -> int:
        return len(self.paths)

    def add(self, path: Path, shown: str, dest_rel: Path, protected: bool) -> None:
        self.paths.append(path)
        self.shown.append(shown)
        self.dest_rel.append(dest_rel)
        self.protected.append(protected)


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder.resolve())


def build_catalog(*, input: Path | None, hq: Path | None = None, lq: Path | None = None,
                  reference: Path | None = None, against: Path | None = None,
                  include_hidden: bool = False) -> Catalog:
    root = hq or input
    catalog = Catalog()
    if against is not None:
        for path in iter_images(against, include_hidden=include_hidden):
            catalog.add(path, str(path), Path("against") / path.relative_to(against), True)
    catalog.first_query = len(catalog)
    prefix = Path("hq") if hq else Path()
    lq_of: dict[Path, Path] = {}
    if hq and lq:
        pairing = pair_folders(hq, lq, include_hidden=include_hidden)
        lq_of = dict(pairing.pairs)
        catalog.unpaired_lq = pairing.missing_hq
    for path in iter_images(root, include_hidden=include_hidden):
        if _inside(path, against):
            continue        # already in the collection: protected, never queried
        rel = path.relative_to(root)
        row = len(catalog)
        catalog.add(path, rel.as_posix(), prefix / rel, _inside(path, reference))
        if path in lq_of:
            partner = lq_of[path]
            catalog.partners[row] = (partner, Path("lq") / partner.relative_to(lq))
    if reference is not None and not _inside(reference, root):
        for path in iter_images(reference, include_hidden=include_hidden):
            if _inside(path, against):
                continue
            catalog.add(path, str(path), Path("reference") / path.relative_to(reference), True)
    return _resolve_links(catalog)


def _resolve_links(catalog: Catalog) -> Catalog:
    """Leave out links whose target is scanned under another name (real files win)."""
    real = {}
    for row, path in enumerate(catalog.paths):
        if not path.is_symlink():
            real.setdefault(os.path.realpath(path), row)
    drop: dict[int, int] = {}
    for row, path in enumerate(catalog.paths):
        if path.is_symlink():
            target = real.setdefault(os.path.realpath(path), row)
            if target != row:
                drop[row] = target
    if not drop:
        return catalog
    out = Catalog(first_query=catalog.first_query, unpaired_lq=catalog.unpaired_lq)
    new_row: dict[int, int] = {}
    for row in range(len(catalog)):
        if row in drop:
            if row < catalog.first_query:
                out.first_query -= 1
            continue
        new_row[row] = len(out)
        out.add(catalog.paths[row], catalog.shown[row], catalog.dest_rel[row],
                catalog.protected[row])
        if row in catalog.partners:
            out.partners[new_row[row]] = catalog.partners[row]
    out.links = [(catalog.shown[row], new_row[target]) for row, target in drop.items()]
    return out


def member_facts(path: Path) -> tuple[int, int, int, int, bool | None, int | None, bool]:
    """(bytes, modification time in ns, width, height, lossless?, JPEG quality, colour-reduced?);
    0 x 0 and unknown encoding when the header does not read (`encoding.encoding_facts`)."""
    st = os.stat(path)
    try:
        with open_image(path) as im:
            width, height = im.size
            lossless, quality, reduced = encoding_facts(im, path)
    except Exception:  # noqa: BLE001 - a file that hashed but whose header fails to open
        width = height = 0
        lossless = quality = None
        reduced = False
    return st.st_size, st.st_mtime_ns, width, height, lossless, quality, reduced
