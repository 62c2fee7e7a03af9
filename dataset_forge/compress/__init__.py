"""Compression and conversion: encoders per format, the mode/alpha/metadata policy, quality search.

    from dataset_forge.compress import EncodeOptions, prepare, encode, search_quality, Target
    prepared = prepare(Image.open(path), EncodeOptions(format="webp"))
    data = encode(prepared, EncodeOptions(format="webp", quality=85))

The `compress` and `convert` actions (`dataset_forge/actions/compress.py`) drive this per file
through `convert.convert_file`.
"""
from .convert import ConvertSettings, Job, VerifyError, convert_file
from .encoders import encode
from .options import DEFAULT_QUALITY, EXTENSIONS, FORMATS, EncodeOptions, parse_size
from .policy import Prepared, has_transparency, prepare
from .search import SearchResult, Target, search_quality, ssim_pixels, ssim_reference

__all__ = ["ConvertSettings", "DEFAULT_QUALITY", "EXTENSIONS", "EncodeOptions", "FORMATS", "Job",
           "Prepared", "SearchResult", "Target", "VerifyError", "convert_file", "encode",
           "has_transparency", "parse_size", "prepare", "search_quality", "ssim_pixels",
           "ssim_reference"]
