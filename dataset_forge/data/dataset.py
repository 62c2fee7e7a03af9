"""Streaming datasets for training: `ImageDataset` and `PairedImageDataset`.

    ds = PairedImageDataset("export/train", hq_size=128, scale=4, shuffle_buffer=512, seed=0)
    loader = DataLoader(ds, batch_size=16, num_workers=4)
    for epoch in range(epochs):
        ds.set_epoch(epoch)        # before iterating: a new, reproducible order
        for batch in loader: batch["hq"], batch["lq"], batch["key"]

Parts (files, pairs, shards, LMDB keys) are dealt out round-robin to every (rank, worker), so
each sample is read exactly once per epoch across DataLoader workers and distributed ranks;
with fewer shards than readers, every reader walks all shards and keeps every n-th sample.
Rank and world size come from `torch.distributed` when it is initialised, or are given.
Only a shuffle buffer of samples (still encoded) is held. A sample that cannot be read or used
is counted in `failures`, warned about, and skipped.
"""
from __future__ import annotations

import io
import tarfile
import warnings
from typing import Any, Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from ..io.images import ImageReadError, to_rgb
from .augment import SampleError, flip_rotate, paired_crop, pair_scale, random_crop
from .sources import Sample, open_source

MAX_WARNINGS = 20


def _distributed(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return rank or 0, world_size or 1


def decode(data: bytes | None) -> np.ndarray:
    """Encoded bytes to an HxWx3 uint8 array (any mode to RGB)."""
    if not data:
        raise ImageReadError("missing or empty image data")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return np.asarray(to_rgb(im))
    except Image.UnidentifiedImageError:
        raise ImageReadError("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot decode ({exc})") from None


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWxC uint8 to CxHxW float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255)


class _Streaming(IterableDataset):
    """What both datasets share: sharding, shuffling, epochs, failure counting."""

    paired = False

    def __init__(self, source: Any = None, *, hq: Any = None, lq: Any = None, kind: str = "auto",
                 shuffle_buffer: int = 0, seed: int = 0, rank: int | None = None,
                 world_size: int | None = None, hflip: bool = False, vflip: bool = False,
                 rot90: bool = False, transform: Callable[[dict], dict] | None = None) -> None:
        self.source = open_source(source, hq=hq, lq=lq, kind=kind)
        want = ("hq", "lq") if self.paired else ("image",)
        if tuple(self.source.roles) != want:
            raise ValueError(f"{source or hq}: holds {'/'.join(self.source.roles)} samples; "
                             f"{type(self).__name__} needs {'/'.join(want)}")
        self.shuffle_buffer, self.seed, self.epoch = shuffle_buffer, seed, 0
        self.rank, self.world_size = _distributed(rank, world_size)
        self.hflip, self.vflip, self.rot90, self.transform = hflip, vflip, rot90, transform
        self.failures = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for `epoch` (call before iterating; same epoch, same order)."""
        self.epoch = epoch

    def _reader(self) -> tuple[int, int]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        return self.rank * workers + worker, self.world_size * workers

    def _fail(self, key: str, reason: str) -> None:
        self.failures += 1
        if self.failures <= MAX_WARNINGS:
            more = " (further failures are counted, not shown)" if self.failures == MAX_WARNINGS else ""
            warnings.warn(f"dataset_forge.data: skipped {key}: {reason}{more}", RuntimeWarning,
                          stacklevel=3)

    def _samples(self, reader: int, readers: int) -> Iterator[Sample]:
        parts = list(self.source.parts())
        if self.shuffle_buffer:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(parts))
            parts = [parts[i] for i in order]
        by_part = self.source.part_level or len(parts) >= readers
        mine = parts[reader::readers] if by_part else parts
        index = 0
        for part in mine:
            try:
                for sample in self.source.read(part):
                    if by_part or index % readers == reader:
                        yield sample
                    index += 1
            except (OSError, EOFError, ValueError, tarfile.TarError) as exc:
                self._fail(str(part), f"unreadable ({exc})")

    def _shuffled(self, samples: Iterator[Sample], rng: np.random.Generator) -> Iterator[Sample]:
        if self.shuffle_buffer <= 1:
            yield from samples
            return
        buffer: list[Sample] = []
        for sample in samples:
            if len(buffer) < self.shuffle_buffer:
                buffer.append(sample)
                continue
            i = int(rng.integers(len(buffer)))
            buffer[i], sample = sample, buffer[i]
            yield sample
        rng.shuffle(buffer)
        yield from buffer

    def __iter__(self) -> Iterator[dict[str, Any]]:
        reader, readers = self._reader()
        rng = np.random.default_rng([self.seed, self.epoch, reader])
        for key, images in self._shuffled(self._samples(reader, readers), rng):
            try:
                item = self._make(key, images, rng)
            except (ImageReadError, SampleError, KeyError) as exc:
                self._fail(key, str(exc) if not isinstance(exc, KeyError) else f"no {exc} image")
                continue
            yield self.transform(item) if self.transform else item

    def _make(self, key: str, images: dict[str, bytes], rng: np.random.Generator) -> dict:
        raise NotImplementedError


class ImageDataset(_Streaming):
    """Unpaired images: `{"key": str, "image": CxHxW float tensor}`, optionally a random
    `crop` (square, pixels) and flips/rotations."""

    def __init__(self, source: Any = None, *, crop: int | None = None, **kwargs) -> None:
        super().__init__(source, **kwargs)
        self.crop = crop

    def _make(self, key: str, images: dict[str, bytes], rng: np.random.Generator) -> dict:
        image = decode(images["image"])
        if self.crop:
            image = random_crop(image, self.crop, rng)
        [image] = flip_rotate([image], rng, hflip=self.hflip, vflip=self.vflip, rot90=self.rot90)
        return {"key": key, "image": to_tensor(image)}


class PairedImageDataset(_Streaming):
    """HQ/LQ pairs: `{"key", "hq", "lq"}` tensors. With `hq_size`, a random HQ crop of that
    size and the LQ crop covering exactly the same area (`hq_size / scale`); `scale` is
    checked when given, else read from each pair's sizes (it must be an integer)."""

    paired = True

    def __init__(self, source: Any = None, *, hq_size: int | None = None,
                 scale: int | None = None, **kwargs) -> None:
        super().__init__(source, **kwargs)
        self.hq_size, self.scale = hq_size, scale

    def _make(self, key: str, images: dict[str, bytes], rng: np.random.Generator) -> dict:
        hq, lq = decode(images["hq"]), decode(images["lq"])
        scale = pair_scale(hq, lq, self.scale)
        if self.hq_size:
            hq, lq = paired_crop(hq, lq, self.hq_size, scale, rng)
        hq, lq = flip_rotate([hq, lq], rng, hflip=self.hflip, vflip=self.vflip, rot90=self.rot90)
        return {"key": key, "hq": to_tensor(hq), "lq": to_tensor(lq)}
