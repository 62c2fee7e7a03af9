"""Fit the NIQE pristine model shipped in dataset_forge/models/data/niqe_pristine.npz.

    python scripts/fit_niqe.py /tmp/real-images [--out PATH]

The pristine set: the photographs among the freely licensed desktop wallpapers of the real-image
folder (`bash ../shared/data/real-images.sh DIR` builds it): MATE's nature set and Plasma's
2560x1600 JPEG photographs, each reduced to at most 1280 px (Lanczos), which also hides their
JPEG artefacts. The names of the images used are stored in the file.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dataset_forge.models.niqe import PRISTINE, fit_pristine, save_pristine  # noqa: E402

PATTERNS = ("mate-backgrounds__usr_share_backgrounds_mate_nature_*.jpg",
            "plasma-workspace-wallpapers__*_contents_images_2560x1600.jpg")
MAX_SIDE = 1280


def grey(path: Path) -> np.ndarray:
    img = Image.open(path).convert("L")
    img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path)
    ap.add_argument("--out", type=Path, default=PRISTINE)
    args = ap.parse_args()
    paths = sorted(p for pat in PATTERNS for p in args.folder.glob(pat))
    if not paths:
        sys.exit(f"no pristine photographs under {args.folder}")
    model = fit_pristine(grey(p) for p in paths)
    save_pristine(model, args.out, images="\n".join(p.name for p in paths))
    print(f"{len(paths)} images -> {args.out}")


if __name__ == "__main__":
    main()
