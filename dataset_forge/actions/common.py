"""Parameters many actions share, declared once."""
from __future__ import annotations

from .registry import Param

INPUT = Param("input", "dir", help="folder of images to read (never modified)", required=True)
OUTPUT = Param("output", "path", help="folder for outputs and the report (created if missing)")
HQ = Param("hq", "dir", help="folder of high-quality images (HQ/LQ pair mode)")
LQ = Param("lq", "dir", help="folder of low-quality images paired with --hq by relative path and stem")
INCLUDE_HIDDEN = Param("include_hidden", "bool", False, "also read hidden files and folders")
APPLY = Param("apply", "bool", False, "really change files; without it the action is a dry run")
SEED = Param("seed", "int", 0, "random seed: same seed and input give the same output", min=0)
