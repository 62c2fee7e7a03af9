"""The bundled demo dataset: regenerates deterministically and its manifest tells the truth."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEMO = ASSETS / "demo"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_demo", ASSETS / "make_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """The demo dataset regenerated into a temporary folder."""
    out = tmp_path_factory.mktemp("demo")
    _load_generator().build(out)
    return out


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _pixels(path: Path):
    """Decoded pixels of every frame, or None if the file does not decode."""
    try:
        with Image.open(path) as im:
            frames = []
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                frames.append(np.asarray(im.convert("RGBA") if im.mode == "P" else im))
            return frames
    except Exception:
        return None


def _gray(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float64)


# --------------------------------------------------------------------------- determinism


def test_regeneration_matches_committed(fresh):
    assert _files(fresh) == _files(DEMO)
    assert (fresh / "manifest.json").read_text() == (DEMO / "manifest.json").read_text()
    for rel in _files(DEMO):
        a, b = (fresh / rel).read_bytes(), (DEMO / rel).read_bytes()
        if a != b:  # a different zlib/libjpeg may encode differently; pixels must still agree
            pa, pb = _pixels(fresh / rel), _pixels(DEMO / rel)
            assert pa is not None and pb is not None, rel
            assert len(pa) == len(pb) and all(np.array_equal(x, y) for x, y in zip(pa, pb)), rel


def test_demo_is_small():
    assert sum((DEMO / rel).stat().st_size for rel in _files(DEMO)) < 700_000


def test_generator_refuses_foreign_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("user data")
    with pytest.raises(FileExistsError):
        _load_generator().build(tmp_path)
    assert _files(tmp_path) == ["precious.txt"]


# --------------------------------------------------------------------------- manifest claims


def test_manifest_lists_every_file(manifest):
    assert sorted([*manifest["files"], "manifest.json"]) == _files(DEMO)


def test_format_mode_size_as_claimed(manifest):
    for rel, facts in manifest["files"].items():
        if "format" not in facts:
            continue
        with Image.open(DEMO / rel) as im:
            im.load()
            assert (im.format, im.mode, list(im.size)) == (
                facts["format"], facts["mode"], facts["size"]), rel
            assert getattr(im, "n_frames", 1) == facts.get("n_frames", 1), rel


def test_every_mode_is_present(manifest):
    modes = {f.get("mode") for f in manifest["files"].values()}
    formats = {f.get("format") for f in manifest["files"].values()}
    assert {"RGB", "RGBA", "LA", "P", "L", "1", "I;16", "CMYK"} <= modes
    assert {"PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF"} <= formats


def test_transparency_is_real():
    with Image.open(DEMO / "mixed/rgba.png") as im:
        alpha = np.asarray(im.getchannel("A"))
    assert alpha.min() == 0 and alpha.max() == 255
    with Image.open(DEMO / "mixed/gray_alpha.png") as im:
        assert np.asarray(im.getchannel("A")).min() == 0
    with Image.open(DEMO / "mixed/palette.png") as im:
        assert im.info.get("transparency") == 0
        assert 0 in np.asarray(im)  # some pixels use the transparent index


def test_exact_duplicates_are_identical_bytes(manifest):
    groups = manifest["expected"]["exact_duplicate_groups"]
    assert len(groups) == 2
    for group in groups:
        contents = {(DEMO / rel).read_bytes() for rel in group}
        assert len(contents) == 1, group
    for rel, facts in manifest["files"].items():
        if facts["kind"] == "exact_duplicate":
            assert (DEMO / rel).read_bytes() == (DEMO / facts["duplicate_of"]).read_bytes()
    # No other pair of files in mixed/ shares bytes.
    mixed = [rel for rel in manifest["files"] if rel.startswith("mixed/")]
    in_groups = {rel for group in groups for rel in group}
    others = {(DEMO / rel).read_bytes() for rel in mixed if rel not in in_groups}
    assert len(others) == len(mixed) - len(in_groups)


def _ahash(path: Path, flip: bool = False) -> np.ndarray:
    with Image.open(path) as im:
        small = im.convert("L").resize((16, 16), Image.BOX)
    a = np.asarray(small, dtype=np.float64)
    a = a[:, ::-1] if flip else a
    return a > a.mean()


def test_near_duplicates_are_near(manifest):
    (group,) = manifest["expected"]["near_duplicate_groups"]
    original, copies = group[0], group[1:]
    ref = _ahash(DEMO / original)
    for rel in copies:
        assert (DEMO / rel).read_bytes() != (DEMO / original).read_bytes()
        flip = "mirror" in manifest["files"][rel]["transform"]
        assert (_ahash(DEMO / rel, flip=flip) != ref).sum() <= 10, rel
    # ...and unrelated pictures are far away.
    for rel in ("mixed/photo_a.jpg", "mixed/photo.webp", "hq/scene_01.jpg"):
        assert (_ahash(DEMO / rel) != ref).sum() > 40, rel


def test_corrupt_files_fail_to_load(manifest):
    corrupt = manifest["expected"]["corrupt"]
    assert {manifest["files"][rel]["kind"] for rel in corrupt} == {"corrupt"}
    for rel in corrupt:
        with pytest.raises(Exception):
            with Image.open(DEMO / rel) as im:
                im.load()
    assert (DEMO / "mixed/empty.png").stat().st_size == 0
    with Image.open(DEMO / "mixed/png_named.jpg") as im:
        assert im.format == "PNG"


# --------------------------------------------------------------------------- HQ/LQ pairs


def test_lq_sizes_follow_scale(manifest):
    mismatched = set(manifest["expected"]["lq_size_mismatch"])
    assert mismatched == {"lq_x2/scene_05.jpg"}
    for rel, facts in manifest["files"].items():
        if facts["kind"] != "lq" or facts["hq"] is None:
            continue
        assert Path(rel).stem == Path(facts["hq"]).stem
        with Image.open(DEMO / facts["hq"]) as hq, Image.open(DEMO / rel) as lq:
            expected = (hq.width // facts["scale"], hq.height // facts["scale"])
            assert (lq.size == expected) != (rel in mismatched), rel


def test_lq_is_a_downscale_of_its_hq(manifest):
    for rel, facts in manifest["files"].items():
        if facts["kind"] == "lq" and facts["hq"] and rel not in manifest["expected"][
                "lq_size_mismatch"]:
            lq = _gray(DEMO / rel)
            with Image.open(DEMO / facts["hq"]) as hq:
                down = np.asarray(hq.convert("L").resize(lq.shape[::-1], Image.BICUBIC), float)
            assert np.abs(lq - down).mean() < 3, rel


def test_pairing_faults(manifest):
    exp = manifest["expected"]
    hq_stems = {Path(p).stem for p in _files(DEMO / "hq")}
    assert len(hq_stems) == 12
    for folder in manifest["pairs"]["lq"]:
        lq_stems = {Path(p).stem for p in _files(DEMO / folder)}
        missing = {(f"hq/{s}", folder) for s in hq_stems - lq_stems}
        claimed = {(Path(m["hq"]).with_suffix("").as_posix(), m["lq_folder"])
                   for m in exp["missing_lq"] if m["lq_folder"] == folder}
        assert missing == claimed
        orphans = {f"{folder}/{s}" for s in lq_stems - hq_stems}
        assert orphans == {Path(p).with_suffix("").as_posix() for p in exp["orphan_lq"]
                           if p.startswith(folder + "/")}
    # Some pairs differ only by extension.
    assert (DEMO / "hq/scene_02.png").exists() and (DEMO / "lq_x2/scene_02.jpg").exists()


def test_quality_flags_hold(manifest):
    flags = manifest["expected"]["quality_flags"]
    scenes = [DEMO / f"hq/scene_0{i}.jpg" for i in (1, 4, 6, 8)]

    def sharpness(p):
        g = _gray(p)
        return (g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]).var()

    (dark,) = flags["dark"]
    assert _gray(DEMO / dark).mean() < 40
    assert all(_gray(p).mean() > 60 for p in scenes)
    (blank,) = flags["low_information"]
    assert _gray(DEMO / blank).std() < 2 and all(_gray(p).std() > 15 for p in scenes)
    (blurry,) = flags["blurry"]
    assert sharpness(DEMO / blurry) * 3 < min(sharpness(p) for p in scenes)
    (gray,) = flags["grayscale_as_rgb"]
    with Image.open(DEMO / gray) as im:
        rgb = np.asarray(im, dtype=np.int16)
    assert im.mode == "RGB" and np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 1
    assert np.abs(rgb[..., 2] - rgb[..., 1]).max() <= 1
