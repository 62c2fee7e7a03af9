"""Image similarity metrics on uint8 arrays: SSIM and PSNR, vectorised with numpy/scipy.

    ssim(a, b)   # 1.0 for identical images; grey-scale SSIM (Wang et al. 2004), Gaussian window
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


def ssim(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> float:
    """Mean structural similarity of the luma of two same-sized images."""
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"ssim needs equal sizes, got {a.shape[:2]} and {b.shape[:2]}")
    x, y = luma(a), luma(b)
    mx, my = gaussian_filter(x, sigma), gaussian_filter(y, sigma)
    vx = gaussian_filter(x * x, sigma) - mx * mx
    vy = gaussian_filter(y * y, sigma) - my * my
    cov = gaussian_filter(x * y, sigma) - mx * my
    num = (2 * mx * my + _C1) * (2 * cov + _C2)
    den = (mx * mx + my * my + _C1) * (vx + vy + _C2)
    return float(np.mean(num / den))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all channels."""
    if a.shape != b.shape:
        raise ValueError(f"psnr needs equal shapes, got {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)
