"""The files a Curation action works on: plain files under --input, or HQ files with their LQ
partners (--hq/--lq), so partners always travel together.

    data = Dataset.from_params(params)
    for path, partner, pair_mode in data.items: ...
    root_index, rel = data.relative(path)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..io.pairs import pair_folders
from ..io.discover import discover


@dataclass
class Dataset:
    """The files a curation action works on: plain files, or HQ files with LQ partners."""

    roots: list[Path]
    items: list[tuple[Path, Path | None, bool]]   # (file, partner, pair mode)
    pair_mode: bool

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Dataset":
        if params.get("input") is None and not (params.get("hq") and params.get("lq")):
            raise UsageError("give --input DIR, or --hq DIR and --lq DIR")
        if params.get("input") is not None and (params.get("hq") or params.get("lq")):
            raise UsageError("give either --input or --hq/--lq, not both")
        hidden = bool(params.get("include_hidden"))
        if params.get("input") is not None:
            found = discover(params["input"], include_hidden=hidden)
            return cls([params["input"]], [(p, None, False) for p in found.images], False)
        pairing = pair_folders(params["hq"], params["lq"], include_hidden=hidden)
        items = [(hq, lq, True) for hq, lq in pairing.pairs]
        items += [(hq, None, True) for hq in pairing.missing_lq]
        items += [(lq, None, True) for lq in pairing.missing_hq]
        return cls([params["hq"], params["lq"]], items, True)

    def relative(self, path: Path) -> tuple[int, str]:
        """(index of the root holding `path`, path relative to it)."""
        for n, root in enumerate(self.roots):
            if path.is_relative_to(root):
                return n, path.relative_to(root).as_posix()
        raise ValueError(f"{path} is outside the inputs")
