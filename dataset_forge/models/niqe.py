"""NIQE, the natural image quality evaluator (Mittal, Soundararajan and Bovik, 2013), in numpy.

    model = load_pristine()                 # the pristine model shipped with the package
    score = niqe(grey_float_0_255, model)   # lower = more natural; blur, noise, blocking raise it

No weights to download, no extra to install. An image's local statistics are compared with those
of pristine photographs: the grey image is normalised by its local mean and contrast (MSCN
coefficients, a 7x7 Gaussian window); in each patch a generalised Gaussian is fitted to the
coefficients and asymmetric ones to the products of neighbours in four directions (18 numbers),
at two scales (36). A multivariate Gaussian fitted to an image's patches is compared with the
pristine one (a Mahalanobis-like distance with the pooled covariance).

The pristine model (`data/niqe_pristine.npz`) was fitted by `scripts/fit_niqe.py` on the
sharpest patches of freely licensed photographs; `fit_pristine` refits it on your own pristine
set (`score --niqe-model FILE`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image
from scipy import ndimage, special

PATCH = 96
SIGMA = 7 / 6
SHARP_FRACTION = 0.75      # pristine fitting keeps patches at least this sharp (of the sharpest)
PRISTINE = Path(__file__).with_name("data") / "niqe_pristine.npz"

_GAMMAS = np.arange(0.2, 10.0, 0.001)
_G1, _G2, _G3 = (special.gamma(k / _GAMMAS) for k in (1, 2, 3))
_GGD_RATIO = _G1 * _G3 / _G2 ** 2            # E[x^2] / E[|x|]^2 of a GGD, by shape
_AGGD_RATIO = _G2 ** 2 / (_G1 * _G3)


@dataclass(frozen=True)
class Pristine:
    mean: np.ndarray       # (36,)
    cov: np.ndarray        # (36, 36)
    patch: int = PATCH


def mscn(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients and the local contrast."""
    mu = ndimage.gaussian_filter(grey, SIGMA, truncate=3 / SIGMA, mode="nearest")
    var = ndimage.gaussian_filter(grey * grey, SIGMA, truncate=3 / SIGMA, mode="nearest") - mu * mu
    sigma = np.sqrt(np.abs(var))
    return (grey - mu) / (sigma + 1.0), sigma


def _ggd(x: np.ndarray) -> np.ndarray:
    """(shape, variance) of a zero-mean generalised Gaussian per row, by moment matching."""
    var = (x * x).mean(axis=1)
    e_abs = np.abs(x).mean(axis=1)
    rho = var / np.maximum(e_abs * e_abs, 1e-12)
    shape = _GAMMAS[np.abs(rho[:, None] - _GGD_RATIO[None, :]).argmin(axis=1)]
    return np.stack([shape, var], axis=1)


def _aggd(x: np.ndarray) -> np.ndarray:
    """(shape, mean, left variance, right variance) of an asymmetric GGD per row."""
    neg, pos = x < 0, x > 0
    left = np.sqrt((x * x * neg).sum(axis=1) / np.maximum(neg.sum(axis=1), 1))
    right = np.sqrt((x * x * pos).sum(axis=1) / np.maximum(pos.sum(axis=1), 1))
    g = left / np.maximum(right, 1e-12)
    r = np.abs(x).mean(axis=1) ** 2 / np.maximum((x * x).mean(axis=1), 1e-12)
    r_norm = r * (g ** 3 + 1) * (g + 1) / np.maximum((g * g + 1) ** 2, 1e-12)
    k = np.abs(r_norm[:, None] - _AGGD_RATIO[None, :]).argmin(axis=1)
    shape = _GAMMAS[k]
    scale = np.sqrt(_G1[k] / _G3[k])
    mean = (right - left) * scale * (_G2[k] / _G1[k])
    return np.stack([shape, mean, left ** 2, right ** 2], axis=1)


def _patches(a: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping p x p patches as rows (the image cropped to whole patches)."""
    h, w = a.shape[0] // p * p, a.shape[1] // p * p
    return a[:h, :w].reshape(h // p, p, w // p, p).swapaxes(1, 2).reshape(-1, p * p)


def _scale_features(grey: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """(patches x 18 features, patch sharpness) at one scale."""
    coef, sigma = mscn(grey)
    shifted = [coef[:, 1:] * coef[:, :-1], coef[1:, :] * coef[:-1, :],
               coef[1:, 1:] * coef[:-1, :-1], coef[1:, :-1] * coef[:-1, 1:]]
    h, w = coef.shape[0] - 1, coef.shape[1] - 1
    cols = [_ggd(_patches(coef[:h, :w], p))]
    cols += [_aggd(_patches(s[:h, :w], p)) for s in shifted]
    return np.concatenate(cols, axis=1), _patches(sigma[:h, :w], p).mean(axis=1)


def _half(grey: np.ndarray) -> np.ndarray:
    img = Image.fromarray(grey.astype(np.float32), "F")
    return np.asarray(img.resize((grey.shape[1] // 2, grey.shape[0] // 2),
                                 Image.Resampling.BICUBIC), dtype=np.float64)


def features(grey: np.ndarray, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """(patches x 36 features, patch sharpness) of a grey image in 0..255."""
    grey = np.asarray(grey, dtype=np.float64)
    if min(grey.shape) < patch:
        raise ValueError(f"image is {grey.shape[1]}x{grey.shape[0]}; NIQE needs at least "
                         f"{patch}x{patch}")
    f1, sharp = _scale_features(grey, patch)
    f2, _ = _scale_features(_half(grey), patch // 2)
    n = min(len(f1), len(f2))
    return np.concatenate([f1[:n], f2[:n]], axis=1), sharp[:n]


def distance(feats: np.ndarray, model: Pristine) -> float:
    """NIQE: the distance between the image's patch statistics and the pristine model."""
    feats = feats[np.isfinite(feats).all(axis=1)]
    if len(feats) == 0:
        return float("nan")
    mu = feats.mean(axis=0)
    cov = np.cov(feats, rowvar=False) if len(feats) > 1 else np.zeros_like(model.cov)
    d = model.mean - mu
    pooled = (model.cov + np.nan_to_num(cov)) / 2
    return float(np.sqrt(max(0.0, d @ np.linalg.pinv(pooled) @ d)))


def niqe(grey: np.ndarray, model: Pristine) -> float:
    return distance(features(grey, model.patch)[0], model)


def fit_pristine(greys: Iterable[np.ndarray], patch: int = PATCH) -> Pristine:
    """A pristine model from grey images: their sharpest patches (at least SHARP_FRACTION of
    each image's sharpest), a mean and covariance of the 36 features."""
    rows = []
    for grey in greys:
        if min(grey.shape) < patch:
            continue
        feats, sharp = features(grey, patch)
        keep = sharp > SHARP_FRACTION * sharp.max() if sharp.max() > 0 else sharp >= 0
        rows.append(feats[keep & np.isfinite(feats).all(axis=1)])
    data = np.concatenate(rows) if rows else np.empty((0, 36))
    if len(data) < 40:
        raise ValueError(f"{len(data)} sharp patches; fitting needs at least 40 (more images, "
                         "or larger ones)")
    return Pristine(data.mean(axis=0), np.cov(data, rowvar=False), patch)


def save_pristine(model: Pristine, path: Path, **meta: str) -> None:
    np.savez(path, mean=model.mean, cov=model.cov, patch=model.patch,
             **{k: np.array(v) for k, v in meta.items()})


def load_pristine(path: str | Path | None = None) -> Pristine:
    with np.load(Path(path) if path else PRISTINE) as data:
        return Pristine(data["mean"], data["cov"], int(data["patch"]))
