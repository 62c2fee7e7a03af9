"""CLIP image embeddings (open_clip) compared by cosine similarity.

    method = ClipEmbedding("ViT-B-32", "laion2b_s34b_b79k", min_similarity=0.95)
    method = ClipEmbedding("ViT-B-32", "/models/vit-b-32.safetensors")   # offline: a local file
    method = ClipEmbedding("my_model.json", "/models/my_model.pt")       # a custom model config

Batches run through `ctx.image_map` (ImageProcessor): on the GPU when there is one, with the
memory fraction, an automatic batch size and halving on out-of-memory; on the CPU otherwise.
Images are decoded at reduced size in loader threads while the model works.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import UsageError
from ..io import load_rgb
from ..parallel import Outcome, resolve_device
from . import clip_weights
from .index import Pairs, cosine_pairs

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_WEIGHTS = "laion2b_s34b_b79k"
RANDOM_WEIGHTS = "random"   # random-initialised: only for smoke tests, scores mean nothing
DEFAULT_MIN_SIMILARITY = 0.95


def _open_clip():
    from .torch_compat import import_torchvision
    import_torchvision()
    import open_clip
    return open_clip


def _model_name(model: str) -> str:
    """A built-in name, or the stem of an open_clip model-config JSON file (registered here)."""
    if model.endswith(".json"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise UsageError(f"--clip-model {model}: no such model config file")
        _open_clip().add_model_config(path)
        return path.stem
    return model


def weights_id(weights: str) -> str:
    """What identifies the weights in the feature cache: the tag, or file path, size and time."""
    path = Path(weights).expanduser()
    if path.is_file():
        st = path.stat()
        return f"file:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    return weights


def check_weights(model: str, weights: str) -> None:
    """The load error at once when tagged weights are neither cached nor downloadable now
    (`clip_weights.check`); random weights need nothing."""
    if weights != RANDOM_WEIGHTS:
        clip_weights.check(model, weights)


def load_model(model: str, weights: str, device: str):
    """(model in eval mode on `device`, preprocess transform). Clear errors when weights are
    not available offline, before open_clip is imported or tries to download."""
    check_weights(model, weights)
    open_clip = _open_clip()
    name = _model_name(model)
    if name not in open_clip.list_models():
        raise UsageError(f"unknown CLIP model {model!r}; e.g. {DEFAULT_MODEL}, or a model-config "
                         ".json file")
    path = Path(weights).expanduser()
    pretrained = None if weights == RANDOM_WEIGHTS else (str(path) if path.is_file() else weights)
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained,
                                                                   device=device)
    except Exception as exc:  # noqa: BLE001 - downloads, bad files and unknown tags alike
        raise clip_weights.load_error(weights, name,
                                      f"{type(exc).__name__}: {str(exc)[:200]}") from None
    net.eval()
    return net, preprocess


def clip_input(path: Any, preprocess: Any, side: int) -> Any:
    """Decode at reduced size and preprocess (runs in loader threads)."""
    return preprocess(load_rgb(path, max_side=side))


def embed_batch(tensors: list, net: Any, device: str) -> list[np.ndarray]:
    """L2-normalised image embeddings of a batch, as float32 rows."""
    import torch
    with torch.inference_mode():
        batch = torch.stack(tensors).to(device)
        emb = net.encode_image(batch).float()
        emb = torch.nn.functional.normalize(emb, dim=-1)
    return list(emb.cpu().numpy())


class ClipEmbedding:
    name = "clip"
    metric = "cosine similarity"
    higher_is_closer = True
    feature_dtype = np.float32

    def __init__(self, model: str = DEFAULT_MODEL, weights: str = DEFAULT_WEIGHTS,
                 min_similarity: float | None = None, batch_size: int = 0) -> None:
        self.model, self.weights, self.batch_size = model, weights, batch_size
        self.min_similarity = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
        self._loaded: tuple | None = None

    @functools.cached_property
    def feature_shape(self) -> tuple[int]:
        config = _open_clip().get_model_config(_model_name(self.model))
        if not config:
            raise UsageError(f"unknown CLIP model {self.model!r}")
        return (int(config["embed_dim"]),)

    @property
    def key(self) -> str:
        return f"clip:{self.model}:{weights_id(self.weights)}"

    def encode(self, ctx: Any, paths: list) -> Iterator[Outcome]:
        if not paths:
            return iter(())
        device = resolve_device(ctx.config.device)
        if self._loaded is None:
            self._loaded = load_model(self.model, self.weights, device)
        net, preprocess = self._loaded
        size = getattr(net.visual, "image_size", 224)
        side = 2 * (max(size) if isinstance(size, (tuple, list)) else int(size))
        return ctx.image_map(functools.partial(embed_batch, net=net, device=device), paths,
                             load=functools.partial(clip_input, preprocess=preprocess, side=side),
                             batch_size=self.batch_size, label="CLIP embeddings")

    def find_pairs(self, features: np.ndarray, *, first_query: int = 0) -> Pairs:
        return cosine_pairs(features, self.min_similarity, first_query=first_query)

    def score_pairs(self, features: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", features[i], features[j]).astype(np.float32)

