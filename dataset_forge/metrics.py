"""Image similarity metrics on uint8 arrays: SSIM and PSNR, vectorised with numpy/scipy.

    ssim(a, b)   # 1.0 for identical images; grey-scale SSIM (Wang et al. 2004), Gaussian window
    ref = SsimReference(a); ref.score(b1), ref.score(b2)   # the same, reference work done once
    psnr(a, b)   # dB; inf for identical images
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def luma(arr: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as float64 from an HxW or HxWx3/4 uint8 array."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        return arr
    return arr[..., 0] * 0.299 + arr[..., 1] * 0.587 + arr[..., 2] * 0.114


class SsimReference:
    """SSIM against one fixed reference, for scoring many candidates (a quality search).

    The reference's luma, local mean and variance are computed once; each candidate costs three
    Gaussian filters. `dtype=np.float32` halves the memory traffic, within ~1e-4 of float64.
    """

    def __init__(self, reference: np.ndarray, sigma: float = 1.5,
                 dtype: type = np.float64) -> None:
        self.sigma, self.dtype = sigma, dtype
        self.x = luma(reference).astype(dtype, copy=False)
        self.mx = gaussian_filter(self.x, sigma)
        self.vx = gaussian_filter(self.x * self.x, sigma) - self.mx * self.mx

    def score(self, candidate: np.ndarray) -> float:
        """Mean SSIM of `candidate`'s luma against the reference's (same size)."""
        y = luma(candidate).astype(self.dtype, copy=False)
        if y.shape != self.x.shape:
            raise ValueError(f"ssim needs equal sizes, got {self.x.shape} and {y.shape}")
        s = self.sigma
        my = gaussian_filter(y, s)
        vy = gaussian_filter(y * y, s) - my * my
        cov = gaussian_filter(self.x * y, s) - self.mx * my
        num = (2 * self.mx * my + _C1) * (2 * cov + _C2)
        den = (self.mx * self.mx + my * my + _C1) * (self.vx + vy + _C2)
        return float(np.mean(num / den, dtype=np.float64))


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> float:
    """Mean structural similarity of the luma of two same-sized images (float64)."""
    return SsimReference(a, sigma).score(b)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all channels."""
    if a.shape != b.shape:
        raise ValueError(f"psnr needs equal shapes, got {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)
