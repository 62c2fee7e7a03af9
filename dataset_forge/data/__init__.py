"""Streaming loaders for training on what Dataset Forge prepared (needs torch).

    from dataset_forge.data import PairedImageDataset
    ds = PairedImageDataset("export/train", hq_size=128, scale=4, shuffle_buffer=512)

Sources: a folder, an HQ/LQ pair set, WebDataset shards (a folder, list or glob of `.tar`), or an
LMDB export (`hq.lmdb` + `lq.lmdb`, or `images.lmdb`). The rest of Dataset Forge never imports
this package, so torch stays optional.
"""
try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dataset_forge.data needs PyTorch: pip install torch") from exc

from .augment import SampleError, flip_rotate, paired_crop, random_crop
from .dataset import ImageDataset, PairedImageDataset, decode, to_tensor
from .sources import SourceError, open_source

__all__ = ["ImageDataset", "PairedImageDataset", "SampleError", "SourceError", "decode",
           "flip_rotate", "open_source", "paired_crop", "random_crop", "to_tensor"]
