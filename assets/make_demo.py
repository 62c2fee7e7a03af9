#!/usr/bin/env python3
"""Build Dataset Forge's small demo dataset, deterministically.

    python assets/make_demo.py assets/demo

Writes ``hq/``, ``lq_x2/``, ``lq_x4/`` (HQ/LQ pairs with a few deliberate pairing faults),
``mixed/`` (duplicates, near-duplicates, broken files, odd formats and modes) and
``manifest.json``, which records the ground truth for every file. Synthetic images only:
seeded numpy, no network, about a second to run. See assets/README.md.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SEED = 20240601
HQ_SIZE = (256, 192)
MIXED_SIZE = (192, 144)
SMALL_SIZE = (128, 96)
SCALES = {"lq_x2": 2, "lq_x4": 4}
JPEG_QUALITY = 90


# --------------------------------------------------------------------------- pictures


def photo(seed: int, size: tuple[int, int] = HQ_SIZE, noise: float = 2.0) -> Image.Image:
    """A photo-like RGB picture: graded sky and ground, soft shapes, texture, sensor noise."""
    rng = np.random.default_rng([SEED, seed])
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    # Two-colour gradient along a random direction, with a soft horizon.
    angle = rng.uniform(0, np.pi)
    t = (x * np.cos(angle) + y * np.sin(angle)) / (w + h)
    c0, c1, ground = rng.uniform(40, 230, size=(3, 3))
    img = c0 + (c1 - c0) * t[..., None]
    horizon = h * rng.uniform(0.45, 0.75) + 8 * np.sin(x / w * rng.uniform(2, 6))
    land = 1 / (1 + np.exp(-(y - horizon) / 2.0))
    img = img * (1 - land[..., None]) + ground * (0.6 + 0.4 * y / h)[..., None] * land[..., None]
    # Shapes, anti-aliased by a light blur, each with a little shading.
    layer = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    for _ in range(rng.integers(3, 7)):
        mask = Image.new("L", size, 0)
        d = ImageDraw.Draw(mask)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(w * 0.05, w * 0.25), rng.uniform(h * 0.05, h * 0.25)
        kind = rng.integers(3)
        if kind == 0:
            d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        elif kind == 1:
            d.rectangle([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        else:
            pts = [(cx + rx * np.cos(a), cy + ry * np.sin(a))
                   for a in np.sort(rng.uniform(0, 2 * np.pi, 5))]
            d.polygon(pts, fill=255)
        colour = rng.uniform(0, 255, 3)
        shade = (1.15 - 0.3 * (y - cy + ry) / (2 * ry + 1)).clip(0.8, 1.2)[..., None]
        fill = Image.fromarray((colour * shade).clip(0, 255).astype(np.uint8))
        layer.paste(fill, mask=mask.filter(ImageFilter.GaussianBlur(0.8)))
    img = np.asarray(layer, dtype=np.float32)
    # Low-frequency texture (bicubic-upscaled noise) plus fine noise.
    coarse = rng.normal(0, 1, (h // 12 + 2, w // 12 + 2)).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse, "F").resize(size, Image.BICUBIC))
    img += 10 * texture[..., None]
    img += rng.normal(0, noise, img.shape)
    return Image.fromarray(img.clip(0, 255).round().astype(np.uint8))


def encode(img: Image.Image, fmt: str, **opts) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **opts)
    return buf.getvalue()


FORMATS = {".png": ("PNG", {"optimize": True}), ".jpg": ("JPEG", {"quality": JPEG_QUALITY}),
           ".webp": ("WEBP", {"quality": 80, "method": 6}), ".bmp": ("BMP", {}),
           ".tif": ("TIFF", {"compression": "tiff_adobe_deflate"}), ".gif": ("GIF", {})}


# --------------------------------------------------------------------------- builder


class Demo:
    """Writes files under ``root`` and records each one in the manifest."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, dict] = {}

    def save(self, rel: str, img: Image.Image, kind: str, **facts) -> Image.Image:
        """Save ``img`` in the format its extension names; record mode, size and ``facts``."""
        fmt, opts = FORMATS[Path(rel).suffix]
        self.write(rel, encode(img, fmt, **opts), kind, format=fmt, mode=img.mode,
                   size=list(img.size), **facts)
        return img

    def write(self, rel: str, data: bytes, kind: str, **facts) -> bytes:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files[rel] = {"kind": kind, **facts}
        return data

    def copy(self, src: str, rel: str) -> None:
        """Byte-for-byte duplicate of an already written file."""
        facts = {k: v for k, v in self.files[src].items() if k in ("format", "mode", "size")}
        self.write(rel, (self.root / src).read_bytes(), "exact_duplicate",
                   duplicate_of=src, **facts)


HQ = [  # stem, extension, tags, note
    ("scene_01", ".jpg", [], "clean photo-like scene"),
    ("scene_02", ".png", [], "HQ .png, LQ saved as .jpg (pair by stem)"),
    ("scene_03", ".png", [], "HQ .png, LQ saved as .jpg (pair by stem)"),
    ("scene_04", ".jpg", [], "clean photo-like scene"),
    ("scene_05", ".jpg", [], "lq_x2 is one pixel too narrow"),
    ("scene_06", ".jpg", [], "clean photo-like scene"),
    ("scene_07", ".jpg", [], "lq_x4 is missing"),
    ("scene_08", ".jpg", [], "clean photo-like scene"),
    ("dark_01", ".jpg", ["dark"], "underexposed: mean brightness about 25/255"),
    ("blank_01", ".png", ["low_information"], "nearly uniform, almost no detail"),
    ("blurry_01", ".png", ["blurry"], "strong Gaussian blur (radius 3)"),
    ("gray_01", ".jpg", ["grayscale_as_rgb"], "grey picture stored as RGB (R == G == B)"),
]
LQ_EXT = {"scene_02": ".jpg", "scene_03": ".jpg"}
MISSING_LQ = {("scene_07", "lq_x4")}
OFF_BY_ONE = {("scene_05", "lq_x2")}


def hq_picture(i: int, stem: str, ext: str) -> Image.Image:
    """HQ picture number ``i``; the stem's prefix picks the deliberate defect, if any."""
    img = photo(i, noise=1.0 if ext == ".png" else 2.0)  # less noise keeps the PNGs small
    if stem.startswith("dark"):
        img = Image.fromarray((np.asarray(img) * 0.15).round().astype(np.uint8))
    elif stem.startswith("blank"):
        _, x = np.mgrid[0:HQ_SIZE[1], 0:HQ_SIZE[0]]
        base = 232 + 3 * x / HQ_SIZE[0] + np.random.default_rng([SEED, i]).normal(0, 0.4, x.shape)
        img = Image.fromarray(base.round().astype(np.uint8)).convert("RGB")
    elif stem.startswith("blurry"):
        img = img.filter(ImageFilter.GaussianBlur(3))
    elif stem.startswith("gray"):
        img = img.convert("L").convert("RGB")
    return img


def build_pairs(demo: Demo) -> dict:
    """hq/ plus lq_x2/ and lq_x4/ (bicubic downscales), with the faults listed above."""
    missing, mismatched = [], []
    for i, (stem, ext, tags, note) in enumerate(HQ, start=1):
        hq_rel = f"hq/{stem}{ext}"
        img = demo.save(hq_rel, hq_picture(i, stem, ext), "hq", tags=tags, note=note)
        for folder, scale in SCALES.items():
            if (stem, folder) in MISSING_LQ:
                missing.append({"hq": hq_rel, "lq_folder": folder})
                continue
            w, h = img.width // scale, img.height // scale
            facts = {}
            if (stem, folder) in OFF_BY_ONE:
                w -= 1
                facts["note"] = f"expected {w + 1}x{h}, is {w}x{h}"
            lq_rel = f"{folder}/{stem}{LQ_EXT.get(stem, ext)}"
            demo.save(lq_rel, img.resize((w, h), Image.BICUBIC), "lq", hq=hq_rel, scale=scale,
                      **facts)
            if facts:
                mismatched.append(lq_rel)
    demo.save("lq_x2/orphan_01.png", photo(99, noise=1.0).resize((128, 96), Image.BICUBIC),
              "lq", hq=None, scale=2, note="LQ with no HQ counterpart")
    return {"missing_lq": missing, "orphan_lq": ["lq_x2/orphan_01.png"],
            "lq_size_mismatch": mismatched}


def build_mixed(demo: Demo) -> dict:
    """mixed/: duplicates, near-duplicates, broken files and a zoo of formats and modes."""
    m = "mixed"
    # Exact duplicates: byte copies under other names (one in a nested folder).
    demo.save(f"{m}/photo_a.jpg", photo(101, MIXED_SIZE), "original")
    demo.copy(f"{m}/photo_a.jpg", f"{m}/photo_a_copy.jpg")
    demo.copy(f"{m}/photo_a.jpg", f"{m}/nested/photo_a.jpg")
    demo.save(f"{m}/photo_b.png", photo(102, SMALL_SIZE, noise=1.0), "original")
    demo.copy(f"{m}/photo_b.png", f"{m}/photo_b (1).png")
    # Near-duplicates of photo_c.
    c = demo.save(f"{m}/photo_c.jpg", photo(103, MIXED_SIZE), "original")
    c_rel = f"{m}/photo_c.jpg"
    near = {"photo_c_q50.jpg": ("re-encoded at JPEG quality 50", c, {"quality": 50}),
            "photo_c_resized.jpg": ("downscaled by 4% (184x138)",
                                    c.resize((184, 138), Image.BICUBIC), {}),
            "photo_c_flipped.jpg": ("mirrored left-right (only flip-aware methods match it)",
                                    ImageOps.mirror(c), {})}
    for name, (transform, img, opts) in near.items():
        data = encode(img, "JPEG", **{"quality": JPEG_QUALITY, **opts})
        demo.write(f"{m}/{name}", data, "near_duplicate", format="JPEG", mode="RGB",
                   size=list(img.size), near_duplicate_of=c_rel, transform=transform)
    # Broken files.
    whole = encode(photo(104, MIXED_SIZE), "JPEG", quality=JPEG_QUALITY)
    demo.write(f"{m}/truncated.jpg", whole[: len(whole) * 3 // 5], "corrupt",
               note="JPEG cut off at 60% of its bytes")
    demo.write(f"{m}/empty.png", b"", "corrupt", note="zero-byte file")
    demo.write(f"{m}/not_an_image.jpg", b"This is a text file, not a JPEG.\n", "corrupt",
               note="text with an image extension")
    png = encode(photo(105, SMALL_SIZE, noise=1.0), "PNG")
    demo.write(f"{m}/png_named.jpg", png, "wrong_extension", format="PNG", mode="RGB",
               size=list(SMALL_SIZE), note="a PNG named .jpg")
    # Formats and modes, each from its own picture so none is a duplicate of another.
    w, h = SMALL_SIZE
    y, x = np.mgrid[0:h, 0:w]
    alpha = Image.fromarray((255 * (1 - np.hypot(x - w / 2, y - h / 2) / (w / 2))
                             ).clip(0, 255).astype(np.uint8))
    rgba = photo(110, SMALL_SIZE, noise=1.0).convert("RGBA")
    rgba.putalpha(alpha)
    demo.save(f"{m}/rgba.png", rgba, "format_sample", note="RGBA, fades to transparent edges")
    la = photo(111, SMALL_SIZE).convert("LA")
    la.putalpha(alpha)
    demo.save(f"{m}/gray_alpha.png", la, "format_sample", note="LA: grey plus alpha")
    pal = photo(112, SMALL_SIZE).quantize(16, dither=Image.Dither.NONE)
    pal.info["transparency"] = 0
    demo.save(f"{m}/palette.png", pal, "format_sample",
              note="P, 16 colours, palette index 0 transparent")
    demo.save(f"{m}/gray.png", photo(113, SMALL_SIZE).convert("L"), "format_sample", note="L")
    demo.save(f"{m}/bilevel.png", photo(114, SMALL_SIZE).convert("1"), "format_sample",
              note="1-bit, dithered")
    depth = (np.asarray(photo(115, SMALL_SIZE).convert("L"), dtype=np.uint16) * 257)
    demo.save(f"{m}/depth16.png", Image.fromarray(depth), "format_sample",
              note="I;16: 16-bit greyscale")
    cmyk = photo(116, SMALL_SIZE).convert("CMYK")
    demo.save(f"{m}/cmyk.jpg", cmyk, "format_sample", note="CMYK JPEG")
    demo.save(f"{m}/photo.webp", photo(117, SMALL_SIZE), "format_sample", note="lossy WebP")
    demo.save(f"{m}/photo.bmp", photo(118, (64, 48)), "format_sample", note="BMP, 24-bit")
    demo.save(f"{m}/photo.tif", photo(119, (96, 72), noise=1.0), "format_sample",
              note="TIFF, deflate")
    frames = [photo(120, SMALL_SIZE), photo(121, SMALL_SIZE)]
    frames = [f.quantize(64, dither=Image.Dither.NONE) for f in frames]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=500,
                  loop=0)
    demo.write(f"{m}/anim.gif", data, "format_sample", format="GIF", mode="P",
               size=list(SMALL_SIZE), n_frames=2, note="animated GIF, 2 frames")
    return {
        "exact_duplicate_groups": [
            [f"{m}/photo_a.jpg", f"{m}/photo_a_copy.jpg", f"{m}/nested/photo_a.jpg"],
            [f"{m}/photo_b.png", f"{m}/photo_b (1).png"],
        ],
        "near_duplicate_groups": [[c_rel] + [f"{m}/{n}" for n in near]],
        "corrupt": [f"{m}/truncated.jpg", f"{m}/empty.png", f"{m}/not_an_image.jpg"],
        "wrong_extension": [f"{m}/png_named.jpg", f"{m}/not_an_image.jpg"],
    }


def build(outdir: str | Path) -> dict:
    """Write the demo dataset into ``outdir`` and return the manifest (also saved there)."""
    root = Path(outdir)
    manifest_path = root / "manifest.json"
    if root.exists() and any(root.iterdir()):
        if not manifest_path.exists():
            raise FileExistsError(f"{root} is not empty and has no demo manifest; not touching it")
        for name in ("hq", "lq_x2", "lq_x4", "mixed"):
            shutil.rmtree(root / name, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    demo = Demo(root)
    expected = {**build_pairs(demo), **build_mixed(demo)}
    expected["quality_flags"] = {tag: [f"hq/{stem}{ext}" for stem, ext, tags, _ in HQ
                                       if tag in tags]
                                 for tag in ("dark", "low_information", "blurry",
                                             "grayscale_as_rgb")}
    manifest = {
        "generator": "assets/make_demo.py",
        "seed": SEED,
        "pairs": {"hq": "hq", "lq": SCALES},
        "expected": expected,
        "files": dict(sorted(demo.files.items())),
    }
    manifest_path.write_text(dump_manifest(manifest), encoding="utf-8")
    return manifest


def dump_manifest(manifest: dict) -> str:
    """JSON with one line per file entry, so the manifest reads (and diffs) like a table."""
    head = {k: v for k, v in manifest.items() if k != "files"}
    text = json.dumps(head, indent=2)[:-2]  # drop the closing "\n}"
    rows = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in manifest["files"].items()]
    return text + ',\n  "files": {\n' + ",\n".join(rows) + "\n  }\n}\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: make_demo.py OUTDIR", file=sys.stderr)
        return 2
    try:
        manifest = build(argv[0])
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(manifest['files'])} files to {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
