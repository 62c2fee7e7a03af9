"""Deterministic operations: exact sizes and exact pixels."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dataset_forge.transforms.ops import get_op
from dataset_forge.transforms.ops.tiles import complexity, grey, is_flat, tile_boxes
from dataset_forge.transforms.pipeline import single_step, Frame, image_entropy

from conftest import photo_like


def run(name: str, img: Image.Image, **values) -> Image.Image:
    frame = Frame(img)
    single_step(name, **values).run(frame, image_entropy(0, "x"))
    return frame.hq


@pytest.fixture
def photo() -> Image.Image:
    return Image.fromarray(photo_like(64, 48, seed=3))


def test_resize_sizes(photo):
    assert run("resize", photo, scale=0.5).size == (32, 24)
    assert run("resize", photo, width=32).size == (32, 24)
    assert run("resize", photo, height=12).size == (16, 12)
    assert run("resize", photo, width=40, height=40, fit="stretch").size == (40, 40)


def test_resize_nearest_repeats_pixels():
    arr = np.array([[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [1, 2, 3]]], np.uint8)
    out = np.asarray(run("resize", Image.fromarray(arr), scale=2.0, filter="nearest"))
    assert np.array_equal(out, arr.repeat(2, axis=0).repeat(2, axis=1))


def test_resize_fit_crop_and_pad(photo):
    cropped = run("resize", photo, width=24, height=24, fit="crop", filter="nearest")
    assert cropped.size == (24, 24)
    padded = np.asarray(run("resize", photo, width=32, height=32, fit="pad", pad_color="#ff0000"))
    assert padded.shape == (32, 32, 3)
    assert (padded[:4] == [255, 0, 0]).all() and (padded[-4:] == [255, 0, 0]).all()
    assert not (padded[16] == [255, 0, 0]).all()


def test_crop_centre_and_box_exact_pixels(photo):
    arr = np.asarray(photo)
    assert np.array_equal(np.asarray(run("crop", photo, width=20, height=10)), arr[19:29, 22:42])
    box = run("crop", photo, mode="box", x=5, y=7, width=11, height=13)
    assert np.array_equal(np.asarray(box), arr[7:20, 5:16])


def test_crop_box_outside_image_fails(photo):
    with pytest.raises(ValueError, match="outside"):
        run("crop", photo, mode="box", x=60, y=0, width=10, height=10)


def test_random_crop_lies_inside_and_is_seeded(photo):
    a = run("crop", photo, mode="random", width=16, height=16)
    b = run("crop", photo, mode="random", width=16, height=16)
    assert a.size == (16, 16) and np.array_equal(np.asarray(a), np.asarray(b))


def test_flip_and_exact_rotations(photo):
    arr = np.asarray(photo)
    assert np.array_equal(np.asarray(run("flip", photo)), arr[:, ::-1])
    assert np.array_equal(np.asarray(run("flip", photo, direction="vertical")), arr[::-1])
    assert np.array_equal(np.asarray(run("flip", photo, direction="both")), arr[::-1, ::-1])
    for angle, k in ((90, 1), (180, 2), (270, 3), (-90, 3)):
        assert np.array_equal(np.asarray(run("rotate", photo, angle=float(angle))), np.rot90(arr, k))


def test_rotate_any_angle_with_and_without_expand(photo):
    grown = run("rotate", photo, angle=45.0, expand=True)
    assert grown.width > 64 and grown.height > 48
    same = run("rotate", photo, angle=30.0, expand=False, fill="#00ff00")
    assert same.size == (64, 48) and tuple(np.asarray(same)[0, 0]) == (0, 255, 0)


def test_colour_ops_exact(photo):
    arr = np.asarray(photo).astype(int)
    grey_img = np.asarray(run("grayscale", photo))
    assert (grey_img[..., 0] == grey_img[..., 1]).all() and (grey_img[..., 1] == grey_img[..., 2]).all()
    assert run("grayscale", photo, channels=1).mode == "L"
    assert not np.asarray(run("brightness", photo, factor=0.0)).any()
    assert np.array_equal(np.asarray(run("gamma", photo, gamma=1.0)), arr)
    flat = Image.new("RGB", (4, 4), (128, 255, 0))
    assert tuple(np.asarray(run("gamma", flat, gamma=2.0))[0, 0]) == (64, 255, 0)
    assert np.array_equal(np.asarray(run("contrast", photo, factor=1.0)), arr)
    red = Image.new("RGB", (2, 2), (255, 0, 0))
    assert tuple(np.asarray(run("hue", red, shift=120.0))[0, 0]) == pytest.approx((0, 255, 0), abs=8)


def test_remove_alpha_composites_onto_background():
    rgba = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (10, 20, 30, 255))
    out = np.asarray(run("remove_alpha", rgba, background="#0000ff"))
    assert out.shape == (1, 2, 3)
    assert tuple(out[0, 0]) == (0, 0, 255) and tuple(out[0, 1]) == (10, 20, 30)


def test_degradations_keep_size_and_alpha(photo):
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.new("L", photo.size, 77))
    for name, values in [("gaussian_blur", {"sigma": 2.0}), ("box_blur", {}), ("motion_blur", {}),
                         ("gaussian_noise", {}), ("poisson_noise", {}), ("salt_pepper", {}),
                         ("jpeg", {"quality": 20}), ("webp", {"quality": 20}), ("pixelate", {}),
                         ("chroma_subsample", {}), ("dither", {}), ("down_up", {})]:
        out = run(name, rgba, **values)
        assert out.size == photo.size and out.mode == "RGBA", name
        assert np.asarray(out)[..., 3].min() == 77 == np.asarray(out)[..., 3].max(), name
        assert not np.array_equal(np.asarray(out), np.asarray(rgba)), name


def test_degradations_exact_pixels(photo):
    arr = np.asarray(photo)
    assert np.array_equal(np.asarray(run("gaussian_noise", photo, sigma=0.0)), arr)
    assert (np.asarray(run("salt_pepper", photo, amount=1.0, salt_ratio=1.0)) == 255).all()
    assert not np.asarray(run("salt_pepper", photo, amount=1.0, salt_ratio=0.0)).any()
    blocks = np.asarray(run("pixelate", photo, block=8))
    assert (blocks[:8, :8] == blocks[0, 0]).all() and (blocks[8:16, 8:16] == blocks[8, 8]).all()
    assert np.array_equal(np.asarray(run("down_up", photo, scale=1.0)), arr)
    assert np.array_equal(np.asarray(run("motion_blur", photo, length=1)), arr)
    dot = np.zeros((9, 9, 3), np.uint8)
    dot[4, 4] = 255
    streak = np.asarray(run("motion_blur", Image.fromarray(dot), length=5, angle=0.0))
    assert streak[4, 2:7, 0].min() > 0 and streak[3].max() == 0 and streak[4, 0] .max() == 0
    few = np.asarray(run("dither", photo, colors=4, method="none")).reshape(-1, 3)
    assert len(np.unique(few, axis=0)) <= 4
    grey_img = Image.new("RGB", (8, 8), (90, 90, 90))
    assert np.abs(np.asarray(run("chroma_subsample", grey_img)).astype(int) - 90).max() <= 1


def test_tile_boxes_overlap_and_edges():
    assert tile_boxes((100, 60), 32) == [(0, 0, 32, 32), (32, 0, 64, 32), (64, 0, 96, 32)]
    boxes = tile_boxes((100, 60), 32, overlap=8, min_edge=20)
    assert (72, 0, 100, 32) in boxes and all(b[3] - b[1] == 32 for b in boxes)  # 12-px row dropped
    assert len(tile_boxes((100, 60), 32, overlap=8, min_edge=10)) == 12
    assert tile_boxes((20, 20), 32) == []
    assert tile_boxes((30, 30), 16, min_edge=6, snap=4) == [(0, 0, 16, 16), (16, 0, 28, 16),
                                                             (0, 16, 16, 28), (16, 16, 28, 28)]


def test_complexity_and_flatness(photo):
    flat = Image.new("RGB", (16, 16), (50, 60, 70))
    assert complexity(grey(flat)) == 0 and is_flat(flat, grey(flat), 1.0)
    assert complexity(grey(photo)) > 1 and not is_flat(photo, grey(photo), 1.0)
    clear = Image.fromarray(photo_like(16, 16)).convert("RGBA")
    clear.putalpha(0)
    assert is_flat(clear, grey(clear), 0.001)


def test_ops_declare_typed_fields():
    blur = get_op("gaussian_blur")
    assert blur.kind.value == "degrade" and blur.field("sigma").type == "float"
    with pytest.raises(KeyError, match="did you mean 'jpeg'"):
        get_op("jpg")
