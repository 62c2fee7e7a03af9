"""Degradations for LQ images: blur, noise, re-compression, pixelate, chroma subsampling,
dithering, down-then-up resampling, and the `downscale` step of LQ generation.

In pair mode these touch the LQ image only. Random pixels (noise) come from the `rng` the
pipeline derives for this image and step, so outputs are reproducible.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageFilter

from .channels import array_op, colour_only, resample
from .fields import Bool, Choice, Float, Int
from .geometric import FILTER_NAMES, FILTERS
from .registry import DEGRADE, RESAMPLE, op

# ---------------------------------------------------------------------------------- blur


@op("gaussian_blur", DEGRADE, "Gaussian blur", fields=[
    Float("sigma", 1.0, "standard deviation in pixels", min=0.0, max=50.0)])
def gaussian_blur(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return colour_only(lambda im: im.filter(ImageFilter.GaussianBlur(p["sigma"])), img)


@op("box_blur", DEGRADE, "Box (mean) blur", fields=[
    Int("radius", 1, "pixels on each side of the centre", min=0, max=100)])
def box_blur(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return colour_only(lambda im: im.filter(ImageFilter.BoxBlur(p["radius"])), img)


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """A normalised line of `length` pixels at `angle` degrees (counter-clockwise)."""
    size = length if length % 2 else length + 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, length * 4))
    rad = math.radians(angle)
    xs = np.clip(np.rint(c + t * math.cos(rad)).astype(int), 0, size - 1)
    ys = np.clip(np.rint(c - t * math.sin(rad)).astype(int), 0, size - 1)
    kernel[ys, xs] = 1.0
    return kernel / kernel.sum()


STRIP_PIXELS = 1 << 21   # output pixels per FFT: memory stays flat whatever the image size


def reflect(index: np.ndarray, n: int) -> np.ndarray:
    """Indices outside 0..n-1 mirrored as numpy's pad mode "reflect" does (edge not repeated)."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    index = np.abs(index) % period
    return np.where(index >= n, period - index, index)


def convolve(arr: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Same-size convolution of uint8 HxWxC with reflected edges, rounded back to uint8.

    FFT (fast for big kernels) over strips of rows, so the float and complex temporaries are a
    few times one strip (about STRIP_PIXELS), not twenty times the image (7 GB at 89 Mpx)."""
    from scipy.signal import fftconvolve  # imported on use: scipy.signal costs seconds at start-up

    r = kernel.shape[0] // 2
    h, w = arr.shape[:2]
    rows = max(4 * r + 1, STRIP_PIXELS // max(1, w))
    out = np.empty_like(arr)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        strip = arr[reflect(np.arange(y0 - r, y1 + r), h)].astype(np.float32)
        strip = np.pad(strip, ((0, 0), (r, r), (0, 0)), mode="reflect")
        blurred = fftconvolve(strip, kernel[:, :, None], mode="valid", axes=(0, 1))
        out[y0:y1] = np.clip(np.rint(blurred), 0, 255)
    return out


@op("motion_blur", DEGRADE, "Linear motion blur", fields=[
    Int("length", 9, "streak length in pixels", min=1, max=201),
    Float("angle", 0.0, "direction in degrees counter-clockwise", min=-360.0, max=360.0)])
def motion_blur(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    if p["length"] <= 1:
        return img
    kernel = motion_kernel(p["length"], p["angle"])

    def run(im: Image.Image) -> Image.Image:
        arr = np.asarray(im)
        out = convolve(arr[..., None] if arr.ndim == 2 else arr, kernel)
        return Image.fromarray(out[..., 0] if arr.ndim == 2 else out, im.mode)
    return colour_only(run, img)


# ---------------------------------------------------------------------------------- noise

@op("gaussian_noise", DEGRADE, "Additive Gaussian noise", fields=[
    Float("sigma", 5.0, "standard deviation on the 0-255 scale", min=0.0, max=255.0),
    Bool("gray", False, "the same noise on every channel (luminance noise)")])
def gaussian_noise(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    def run(a: np.ndarray) -> np.ndarray:
        shape = a.shape[:2] + ((1,) if p["gray"] else a.shape[2:])
        return a + rng.normal(0.0, p["sigma"], shape).astype(np.float32)
    return array_op(run, img)


@op("poisson_noise", DEGRADE, "Shot noise: counts drawn from Poisson(value * peak / 255)",
    fields=[Float("peak", 255.0, "photon count of white; lower is noisier", min=0.1, max=1e6),
            Bool("gray", False, "the same noise on every channel")])
def poisson_noise(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    def run(a: np.ndarray) -> np.ndarray:
        base = a.mean(axis=2, keepdims=True) if p["gray"] else a
        noisy = rng.poisson(base * (p["peak"] / 255.0)) * (255.0 / p["peak"])
        return a + (noisy - base)
    return array_op(run, img)


@op("salt_pepper", DEGRADE, "Set a fraction of pixels to white (salt) or black (pepper)",
    fields=[Float("amount", 0.01, "fraction of pixels hit", min=0.0, max=1.0),
            Float("salt_ratio", 0.5, "share of hits that are white", min=0.0, max=1.0)])
def salt_pepper(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    def run(a: np.ndarray) -> np.ndarray:
        hit = rng.random(a.shape[:2]) < p["amount"]
        salt = rng.random(a.shape[:2]) < p["salt_ratio"]
        out = a.copy()
        out[hit & salt] = 255.0
        out[hit & ~salt] = 0.0
        return out
    return array_op(run, img)


# ---------------------------------------------------------------------------------- codecs

def _recompress(img: Image.Image, fmt: str, **options) -> Image.Image:
    def run(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, fmt, **options)
        buf.seek(0)
        with Image.open(buf) as out:
            return out.convert(im.mode)
    return colour_only(run, img)


@op("jpeg", DEGRADE, "JPEG re-compression", fields=[
    Int("quality", 75, "JPEG quality", min=1, max=100),
    Choice("subsampling", "4:2:0", ("4:4:4", "4:2:2", "4:2:0"), "chroma subsampling")])
def jpeg(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return _recompress(img, "JPEG", quality=p["quality"], subsampling=p["subsampling"])


@op("webp", DEGRADE, "WebP (lossy) re-compression", fields=[
    Int("quality", 75, "WebP quality", min=1, max=100)])
def webp(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return _recompress(img, "WEBP", quality=p["quality"], method=4)


# ---------------------------------------------------------------------------------- resampling

@op("pixelate", DEGRADE, "Mosaic of square blocks", fields=[
    Int("block", 4, "block size in pixels", min=1, max=512)])
def pixelate(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    b = p["block"]
    small = resample(img, (math.ceil(img.width / b), math.ceil(img.height / b)),
                     Image.Resampling.BOX)
    big = small.resize((small.width * b, small.height * b), Image.Resampling.NEAREST)
    return big.crop((0, 0, img.width, img.height))


CHROMA = {"4:2:0": (2, 2), "4:2:2": (2, 1), "4:1:1": (4, 1)}


@op("chroma_subsample", DEGRADE, "Store colour at lower resolution than brightness", fields=[
    Choice("mode", "4:2:0", tuple(CHROMA), "subsampling pattern")])
def chroma_subsample(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    fx, fy = CHROMA[p["mode"]]

    def run(im: Image.Image) -> Image.Image:
        if im.mode != "RGB":
            return im
        y, cb, cr = im.convert("YCbCr").split()
        small = (max(1, math.ceil(im.width / fx)), max(1, math.ceil(im.height / fy)))
        cb, cr = (c.resize(small, Image.Resampling.BOX).resize(im.size, Image.Resampling.BILINEAR)
                  for c in (cb, cr))
        return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")
    return colour_only(run, img)


BAYER4 = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]],
                  np.float32) / 16.0 - 0.5 + 1 / 32


@op("dither", DEGRADE, "Reduce to few colours with dithering", fields=[
    Int("colors", 16, "palette size (ordered: total levels, split per channel)", min=2, max=256),
    Choice("method", "floyd_steinberg", ("floyd_steinberg", "ordered", "none"),
           "error diffusion, Bayer pattern, or plain quantisation")])
def dither(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    if p["method"] == "ordered":
        def run(a: np.ndarray) -> np.ndarray:
            levels = max(2, round(p["colors"] ** (1 / a.shape[2])))
            step = 255.0 / (levels - 1)
            h, w = a.shape[:2]
            threshold = np.tile(BAYER4, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
            return np.clip(np.floor(a / step + 0.5 + threshold), 0, levels - 1) * step
        return array_op(run, img)
    mode = Image.Dither.FLOYDSTEINBERG if p["method"] == "floyd_steinberg" else Image.Dither.NONE
    return colour_only(lambda im: im.convert("RGB").quantize(p["colors"], dither=mode)
                       .convert(im.mode), img)


@op("down_up", DEGRADE, "Downscale then upscale back to the same size (resampling blur)",
    fields=[Float("scale", 0.5, "intermediate size as a fraction", min=0.01, max=1.0),
            Choice("down_filter", "bicubic", FILTER_NAMES), Choice("up_filter", "bicubic", FILTER_NAMES)])
def down_up(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    small = (max(1, round(img.width * p["scale"])), max(1, round(img.height * p["scale"])))
    return resample(resample(img, small, FILTERS[p["down_filter"]]), img.size,
                    FILTERS[p["up_filter"]])


@op("downscale", RESAMPLE, "make-lq's downscale by the run's scale (LQ only, pair stays aligned)",
    fields=[Int("scale", 0, "integer factor (0 = the run's --scale)", min=0, max=16),
            Choice("filter", "bicubic", FILTER_NAMES)])
def downscale(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return resample(img, tuple(p["size"]), FILTERS[p["filter"]])
