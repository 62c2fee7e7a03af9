"""Colour operations (photometric: in pair mode HQ and LQ get the same drawn values)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from .channels import array_op, colour_only
from .fields import Choice, Colour, Float
from .geometric import color
from .registry import PHOTOMETRIC, op


@op("grayscale", PHOTOMETRIC, "Convert to grey (kept as 3 channels unless channels = 1)",
    fields=[Choice("channels", 3, (1, 3), "1 = single-band L image, 3 = grey RGB")])
def grayscale(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    grey = colour_only(ImageOps.grayscale, img)
    if p["channels"] == 1:
        return grey
    return grey.convert("RGBA" if img.mode in ("RGBA", "LA") else "RGB")


def _enhance(kind):
    def apply(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
        return colour_only(lambda im: kind(im).enhance(p["factor"]), img)
    return apply


for _name, _kind, _help in [("brightness", ImageEnhance.Brightness, "1 = unchanged, <1 darker"),
                            ("contrast", ImageEnhance.Contrast, "1 = unchanged, 0 = flat grey"),
                            ("saturation", ImageEnhance.Color, "1 = unchanged, 0 = grey")]:
    op(_name, PHOTOMETRIC, f"Change {_name} by a factor",
       fields=[Float("factor", 1.0, _help, min=0.0, max=10.0)])(_enhance(_kind))


@op("hue", PHOTOMETRIC, "Rotate the hue", fields=[
    Float("shift", 0.0, "degrees around the colour wheel", min=-180.0, max=180.0)])
def hue(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    def run(im: Image.Image) -> Image.Image:
        if im.mode != "RGB":
            return im
        hsv = np.array(im.convert("HSV"))
        hsv[..., 0] = (hsv[..., 0].astype(np.int16) + round(p["shift"] / 360 * 256)) % 256
        return Image.fromarray(hsv, "HSV").convert("RGB")
    return colour_only(run, img)


@op("gamma", PHOTOMETRIC, "Gamma curve: out = 255 * (in / 255) ** gamma (<1 brightens)",
    fields=[Float("gamma", 1.0, "exponent", min=0.05, max=10.0)])
def gamma(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    lut = np.clip(np.rint(255 * (np.arange(256) / 255) ** p["gamma"]), 0, 255).astype(np.uint8)
    return array_op(lambda a: lut[a.astype(np.uint8)].astype(np.float32), img)


@op("remove_alpha", PHOTOMETRIC, "Composite transparency onto a background colour",
    fields=[Colour("background", "#ffffff", "colour under transparent pixels")])
def remove_alpha(img: Image.Image, p: dict, rng, factor: int) -> Image.Image:
    if img.mode not in ("RGBA", "LA"):
        return img
    rgba = img.convert("RGBA")
    base = Image.new("RGB", rgba.size, color(p["background"], "RGB"))
    base.paste(rgba, mask=rgba.getchannel("A"))
    return base
