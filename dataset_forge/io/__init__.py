"""Files: discovery, safe image reads, HQ/LQ pairing, atomic writes, journals of finished work."""
from .atomic import (atomic_copy, atomic_save, atomic_write, leftover_temporaries,
                     remove_leftover_temporaries)
from .discover import IMAGE_EXTENSIONS, Discovery, WalkProblem, first_image, iter_files, iter_images
from .images import ImageReadError, decode, load_rgb, open_image, to_rgb
from .journal import Journal, file_digest, fingerprint
from .pairs import Pairing, pair_folders, pair_key
from .paths import OutputClaims, check_output

__all__ = ["Discovery", "IMAGE_EXTENSIONS", "WalkProblem", "first_image", "ImageReadError", "Journal", "OutputClaims", "Pairing", "atomic_copy",
           "atomic_save", "atomic_write", "check_output", "decode", "file_digest", "fingerprint", "iter_files", "iter_images", "leftover_temporaries",
           "load_rgb", "open_image", "pair_folders", "pair_key", "remove_leftover_temporaries", "to_rgb"]
