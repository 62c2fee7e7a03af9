"""Files: discovery, atomic writes, journals of finished work."""
from .atomic import atomic_save, atomic_write, leftover_temporaries
from .discover import IMAGE_EXTENSIONS, iter_files, iter_images
from .journal import Journal, fingerprint

__all__ = ["IMAGE_EXTENSIONS", "Journal", "atomic_save", "atomic_write", "fingerprint",
           "iter_files", "iter_images", "leftover_temporaries"]
