"""Geometric operations: resize, crop, flip, rotate.

In HQ/LQ pair mode `plan` draws once and returns concrete HQ coordinates that are multiples of
the pair's scale (`snap`); `apply` divides them by `factor` (1 for HQ, the scale for LQ), so the
LQ result is exactly the HQ result's region at the lower resolution.
"""
from __future__ import annotations

from typing import Any

from PIL import Image, ImageColor

from .channels import resample
from .fields import Bool, Choice, Colour, Float, Int
from .registry import GEOMETRIC, op

FILTERS = {"nearest": Image.Resampling.NEAREST, "box": Image.Resampling.BOX,
           "bilinear": Image.Resampling.BILINEAR, "hamming": Image.Resampling.HAMMING,
           "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
FILTER_NAMES = tuple(FILTERS)


def snap_down(value: float, snap: int) -> int:
    """The largest multiple of `snap` not above `value` (at least `snap`)."""
    return max(snap, int(value) // snap * snap)


def color(text: str, mode: str) -> Any:
    rgb = ImageColor.getrgb(text)[:3]
    return (*rgb, 255) if mode == "RGBA" else rgb[0] if mode == "L" else rgb


# ---------------------------------------------------------------------------------- resize

def _target(p: dict, w: int, h: int) -> tuple[int, int]:
    if p["scale"] > 0:
        return round(w * p["scale"]), round(h * p["scale"])
    tw, th = p["width"], p["height"]
    if tw and th:
        return tw, th
    if tw:
        return tw, round(h * tw / w)
    if th:
        return round(w * th / h), th
    raise ValueError("resize needs scale, or width and/or height")


def plan_resize(p: dict, size: tuple[int, int], snap: int, rng) -> dict:
    w, h = size
    tw, th = (snap_down(v, snap) for v in _target(p, w, h))
    inner = (tw, th)
    if p["fit"] != "stretch" and p["width"] and p["height"]:
        ratio = (max if p["fit"] == "crop" else min)(tw / w, th / h)
        inner = (snap_down(round(w * ratio), snap), snap_down(round(h * ratio), snap))
    offset = [((tw - inner[0]) // 2) // snap * snap, ((th - inner[1]) // 2) // snap * snap]
    return {**p, "size": [tw, th], "resized": list(inner), "offset": offset}


@op("resize", GEOMETRIC, "Resize by a scale or to a size; keep the aspect by crop or pad",
    plan=plan_resize, fields=[
        Float("scale", 0.0, "scale factor (0 = use width/height)", min=0.0, max=64.0),
        Int("width", 0, "target width (0 = from height and aspect)", min=0, max=65535),
        Int("height", 0, "target height (0 = from width and aspect)", min=0, max=65535),
        Choice("filter", "lanczos", FILTER_NAMES, "resampling filter"),
        Choice("fit", "stretch", ("stretch", "crop", "pad"),
               "with width and height: stretch, fill then centre-crop, or fit then pad"),
        Colour("pad_color", "#000000", "padding colour for fit = pad")])
def resize(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    tw, th = (v // factor for v in p["size"])
    rw, rh = (v // factor for v in p["resized"])
    out = resample(img, (rw, rh), FILTERS[p["filter"]])
    if (rw, rh) == (tw, th):
        return out
    ox, oy = (v // factor for v in p["offset"])
    if p["fit"] == "crop":
        return out.crop((-ox, -oy, -ox + tw, -oy + th))
    canvas = Image.new(img.mode, (tw, th), color(p["pad_color"], img.mode))
    canvas.paste(out, (ox, oy))
    return canvas


# ---------------------------------------------------------------------------------- crop

def plan_crop(p: dict, size: tuple[int, int], snap: int, rng) -> dict:
    w, h = size
    if p["width"] <= 0 or p["height"] <= 0:
        raise ValueError("crop needs width and height")
    cw, ch = snap_down(min(p["width"], w), snap), snap_down(min(p["height"], h), snap)
    if p["mode"] == "centre":
        x, y = (w - cw) // 2 // snap * snap, (h - ch) // 2 // snap * snap
    elif p["mode"] == "random":
        x = int(rng.integers(0, (w - cw) // snap + 1)) * snap
        y = int(rng.integers(0, (h - ch) // snap + 1)) * snap
    else:
        x, y = p["x"], p["y"]
        cw, ch = p["width"], p["height"]
        if x % snap or y % snap or cw % snap or ch % snap:
            raise ValueError(f"crop box {x},{y} {cw}x{ch} is not a multiple of the pair scale {snap}")
        if x + cw > w or y + ch > h:
            raise ValueError(f"crop box {x},{y} {cw}x{ch} lies outside the {w}x{h} image")
    return {**p, "box": [x, y, x + cw, y + ch]}


@op("crop", GEOMETRIC, "Crop a centre, random or given box", plan=plan_crop, fields=[
    Choice("mode", "centre", ("centre", "random", "box"), "where the crop lies"),
    Int("width", 0, "crop width (clamped to the image)", min=1, max=65535),
    Int("height", 0, "crop height (clamped to the image)", min=1, max=65535),
    Int("x", 0, "left edge for mode = box", min=0), Int("y", 0, "top edge for mode = box", min=0)])
def crop(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    return img.crop(tuple(v // factor for v in p["box"]))


# ---------------------------------------------------------------------------------- flip, rotate

@op("flip", GEOMETRIC, "Mirror horizontally, vertically or both", fields=[
    Choice("direction", "horizontal", ("horizontal", "vertical", "both"))])
def flip(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    if p["direction"] in ("horizontal", "both"):
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if p["direction"] in ("vertical", "both"):
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return img


EXACT = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
         270: Image.Transpose.ROTATE_270}


@op("rotate", GEOMETRIC, "Rotate counter-clockwise; 90/180/270 are exact", fields=[
    Float("angle", 90.0, "degrees counter-clockwise", min=-360.0, max=360.0),
    Bool("expand", True, "grow the canvas to hold the whole rotated image"),
    Choice("filter", "bicubic", ("nearest", "bilinear", "bicubic"), "for angles not a multiple of 90"),
    Colour("fill", "#000000", "colour of the uncovered corners")])
def rotate(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    angle = p["angle"] % 360
    if angle in EXACT and (p["expand"] or angle == 180 or img.width == img.height):
        return img.transpose(EXACT[int(angle)])
    if angle == 0:
        return img
    return img.rotate(angle, FILTERS[p["filter"]], expand=p["expand"],
                      fillcolor=color(p["fill"], img.mode))


def modcrop(img: Image.Image, scale: int) -> Image.Image:
    """Crop right and bottom so both sides are multiples of `scale` (standard SR practice)."""
    w, h = img.width // scale * scale, img.height // scale * scale
    return img if (w, h) == img.size else img.crop((0, 0, w, h))
