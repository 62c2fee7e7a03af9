"""Parameters many actions share, declared once."""
from __future__ import annotations

from ..analysis import pairs as pa
from ..analysis import quality as q
from ..io.images import DEFAULT_MAX_PIXELS
from ..transforms.ops import all_ops
from ..transforms.ops.files import OUTPUT_FORMATS
from .registry import Param

INPUT = Param("input", "dir", help="folder of images to read (never modified)", required=True)
OUTPUT = Param("output", "path", help="folder for outputs and the report (created if missing)")
HQ = Param("hq", "dir", help="folder of high-quality images (HQ/LQ pair mode)")
LQ = Param("lq", "dir", help="folder of low-quality images paired with --hq by relative path and stem")
INCLUDE_HIDDEN = Param("include_hidden", "bool", False, "also read hidden files and folders")
APPLY = Param("apply", "bool", False, "really change files; without it the action is a dry run")
MAX_PIXELS = Param("max_pixels", "int", DEFAULT_MAX_PIXELS,
                   "decompression-bomb limit: images with more pixels are reported, not opened",
                   min=1)
SEED = Param("seed", "int", 0, "random seed: same seed and input give the same output", min=0)


# ------------------------------------------------------------- transforms and augmentation

IN = Param("input", "dir", help="folder of images to read (never modified)")
OUT = Param("output", "path", help="new folder for the outputs (never the input folder)",
            required=True)
HQ_IN = Param("hq", "dir", help="HQ folder: pair mode, outputs in OUTPUT/hq and OUTPUT/lq")
LQ_IN = Param("lq", "dir", help="LQ folder paired with --hq by relative path and stem")
FORMAT = Param("format", "choice", "same", "output format (same = the input's)",
               choices=OUTPUT_FORMATS)
PNG_FORMAT = Param("format", "choice", "png", "output format (png keeps degradations exact)",
                   choices=OUTPUT_FORMATS)
MODEL_BATCH = Param("batch_size", "int", 0, "images per model batch (0 = automatic); halved on "
                    "out-of-memory", min=0)
QUALITY = Param("quality", "int", 95, "JPEG/WebP output quality", min=1, max=100)
VARIATIONS = Param("variations", "int", 1, "outputs per input, each with its own draws "
                   "(named NAME_v01, NAME_v02, ...)", min=1, max=10_000)
PIPELINE = Param("pipeline", "str", help="pipeline file (.toml/.json) or inline JSON list of ops")
TRIM = Param("trim", "bool", True, "pair mode: trim pairs a few pixels off an integer scale "
             "(HQ 1774x1089, LQ 443x272) at the right and bottom to HQ = LQ x scale, instead of "
             "failing them")
TRIM_TOLERANCE = Param("pixel_tolerance", "float", 2.0, "with --trim: how many LQ pixels LQ may "
                       "be off HQ / scale on either side; pairs further off fail", min=0)
PLUGIN = Param("plugin", "list", [], help="Python file(s) registering custom ops "
               "(comma-separated)")


def op_params(op_name: str, skip: tuple[str, ...] = ()) -> list[Param]:
    """An op's fields as action parameters, so an action and its op are declared once.
    A field whose default lies outside its range has no usable default: the flag is required."""
    op = all_ops()[op_name]
    return [Param.of(f, required=f.min is not None and f.default is not None and f.default < f.min)
            for f in op.fields if f.name not in skip]


# ------------------------------------------------------------- analysis and validation

DEEP_INTEGRITY = Param("deep", "bool", False, "decode every frame of every image in full "
                       "(slower, finds damage inside the data); default: header tier")
PAIR_PARAMS = [
    Param("align", "bool", True, "compare HQ downsized to LQ (SSIM, PSNR, shift); "
          "--no-align checks sizes only (headers, much faster)"),
    Param("align_size", "int", pa.ALIGN_SIZE, "long side in pixels at which pairs are compared",
          min=32, max=4096),
    Param("min_ssim", "float", 0.6, "pairs below this SSIM are flagged as not the same picture "
          "(cropped differently, swapped, ...)", min=-1, max=1),
    Param("max_shift", "float", 0.5, "pairs shifted by more LQ pixels than this are flagged",
          min=0),
    Param("pixel_tolerance", "float", 2.0, "LQ sizes within this many pixels of HQ/scale are "
          "listed as off_by_pixels rather than non_integer", min=0),
    MAX_PIXELS,
]

ANALYSIS_SIZE = Param("analysis_size", "int", q.DEFAULT_SIZE, "long side, in pixels, of the "
                      "reduced copy brightness, entropy and colourfulness are computed on "
                      "(sharpness, blockiness and upscaling are measured at full resolution)",
                      min=32, max=4096)
QUALITY_CHECKS = Param("checks", "list", [c.name for c in q.CHECKS], "checks to run, comma-separated: "
               + ", ".join(c.name for c in q.CHECKS))
QUALITY_THRESHOLDS = [Param(f"{c.name}_threshold", "float", c.threshold,
                    f"flag {c.name} when {c.score} is {c.direction} this ({c.help})")
              for c in q.CHECKS]
QUALITY_PARAMS = [ANALYSIS_SIZE, QUALITY_CHECKS, *QUALITY_THRESHOLDS, MAX_PIXELS]
