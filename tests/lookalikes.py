"""Families of distinct pictures that look alike (hard negatives for deduplication), and true
near-duplicates of them. Real files, generated: star fields (random dots), diagrams (boxes
joined by lines), colour designs and their recolourings, light pictures that clip when
brightened."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from dataset_forge.dedup.copies import crop_area


def star_field(seed: int, size=(192, 144)) -> Image.Image:
    """Dark sky with the same glowing band (one telescope, one part of the sky) and a few
    hundred stars of random brightness: different seeds, different skies, similar hashes."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    band = 70 * np.exp(-(((xx / w) - (yy / h)) ** 2) / 0.05)     # the same for every seed
    sky = band + rng.normal(8, 2, (h, w)).astype(np.float32)
    for _ in range(260):
        x, y, b = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(90, 255)
        r = rng.choice([0.6, 0.9, 1.4], p=[0.6, 0.3, 0.1])
        yy, xx = np.ogrid[:h, :w]
        sky += b * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * r * r))
    grey = np.clip(sky, 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def diagram(seed: int, size=(192, 144)) -> Image.Image:
    """White page with one tool's look: a title bar, class boxes on a 3 x 2 grid, text lines
    and links. Which cells hold a box, the boxes' heights, their text and links vary with the
    seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, w, 14), fill=(40, 60, 120))
    cells = [(r, c) for r in range(2) for c in range(3)]
    boxes = []
    for r, c in [cells[k] for k in sorted(rng.choice(6, 4, replace=False))]:
        x, y = 8 + c * w // 3, 24 + r * (h - 24) // 2
        box = (x, y, x + w // 3 - 16, y + int(rng.integers(24, (h - 24) // 2 - 6)))
        boxes.append(box)
        draw.rectangle(box, outline="black", width=2)
        draw.line((box[0], box[1] + 8, box[2], box[1] + 8), fill="black")
        for line in range((box[3] - box[1] - 12) // 6):
            ty = box[1] + 12 + 6 * line
            draw.line((box[0] + 4, ty, box[0] + 4 + int(rng.integers(6, box[2] - box[0] - 8)),
                       ty), fill=(70, 70, 70), width=2)
    for a, b in zip(boxes, boxes[1:]):
        draw.line(((a[0] + a[2]) / 2, a[3], (b[0] + b[2]) / 2, b[1]), fill="black", width=1)
    return im


NEAR_DUPLICATES = {   # name -> (make the copy, file suffix, save options)
    "small": (lambda im: im.resize((im.width * 2 // 3, im.height * 2 // 3),
                                   Image.Resampling.LANCZOS), ".png", {}),
    "q70": (lambda im: im, ".jpg", {"quality": 70}),
    "blur": (lambda im: im.filter(ImageFilter.GaussianBlur(1)), ".png", {}),
    "bright": (lambda im: ImageEnhance.Brightness(im).enhance(1.2), ".png", {}),
    "mirror": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ".png", {}),
    "crop85": (lambda im: crop_area(im, 0.85), ".png", {}),
    "rot3": (lambda im: im.rotate(3, Image.Resampling.BICUBIC), ".png", {}),
}


def write_family(folder: Path, make, name: str, seeds: range, copied: int) -> list[set[str]]:
    """`make(seed)` for every seed, and every near-duplicate kind of the first `copied`; returns
    the true groups (file names)."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = []
    for n, seed in enumerate(seeds):
        im = make(seed)
        original = f"{name}{seed:02d}.png"
        im.save(folder / original)
        if n >= copied:
            continue
        group = {original}
        for kind, (fn, suffix, opts) in NEAR_DUPLICATES.items():
            copy = f"{name}{seed:02d}_{kind}{suffix}"
            fn(im).save(folder / copy, **opts)
            group.add(copy)
        groups.append(group)
    return groups


def colour_design(seed: int, size=(192, 128)) -> Image.Image:
    """A wallpaper-like design: coloured glowing bands over a dark sky, with grain."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for _ in range(4):
        cy = rng.uniform(0.2, 0.6) * h + 10 * np.sin(xx / w * rng.uniform(3, 7) + rng.uniform(0, 6))
        band = np.exp(-((yy - cy) ** 2) / (2 * rng.uniform(6, 14) ** 2))
        img += band[..., None] * rng.uniform(0.3, 1.0, 3) * 200
    img += rng.normal(0, 6, (h, w, 1))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def recolour(im: Image.Image, degrees: float) -> Image.Image:
    """The same design in other colours: the chroma turned by `degrees`, the luma kept (the
    grey picture is unchanged)."""
    y, cb, cr = (np.asarray(c, np.float32) for c in im.convert("YCbCr").split())
    t = np.radians(degrees)
    u, v = cb - 128, cr - 128
    turned = np.stack([y, 128 + u * np.cos(t) - v * np.sin(t), 128 + u * np.sin(t) + v * np.cos(t)],
                      axis=-1)
    return Image.fromarray(np.clip(turned, 0, 255).astype(np.uint8), "YCbCr").convert("RGB")


def light_picture(seed: int, size=(192, 128)) -> Image.Image:
    """A light map-like picture: a pale textured ground (tones 185-245) crossed by darker
    roads; brightening it by 30% clips the whole ground to white and leaves the roads."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    phase, freq = rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.02, 0.08, 3)
    channels = [30 * np.sin(xx * freq[i] + phase[i]) * np.cos(yy * freq[(i + 1) % 3])
                for i in range(3)]
    arr = 215 + np.stack(channels, axis=-1) + rng.normal(0, 5, (h, w, 1))
    im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0, x1, y1 = rng.uniform(0, 1, 4) * (w, h, w, h)
        tone = tuple(int(t) for t in rng.integers(60, 170, 3))
        draw.line((x0, y0, x1, y1), fill=tone, width=int(rng.integers(1, 4)))
    return im


def brighten(im: Image.Image, factor: float = 1.3) -> Image.Image:
    return ImageEnhance.Brightness(im).enhance(factor)
