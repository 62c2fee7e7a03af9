"""The helpers tests and benchmarks share prove what they claim: a tree digest changes with any
byte, name or new file and can leave out an action's journal; the watermark and centre crop
that build labelled near-duplicates touch only what they say."""
from __future__ import annotations

import numpy as np

from dataset_forge.dedup.copies import crop_area, watermark

from conftest import photo_like, tree_digest


def test_tree_digest_sees_every_change_but_the_journal_when_asked(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(b"one")
    (tmp_path / "sub" / "b.jpg").write_bytes(b"two")
    before = tree_digest(tmp_path)
    assert sorted(before) == ["a.png", "sub/b.jpg"] and before["a.png"] != before["sub/b.jpg"]

    (tmp_path / "a.png").write_bytes(b"One")
    assert tree_digest(tmp_path) != before
    (tmp_path / "a.png").write_bytes(b"one")
    (tmp_path / "sub" / "b.jpg").rename(tmp_path / "sub" / "c.jpg")
    assert tree_digest(tmp_path) != before
    (tmp_path / "sub" / "c.jpg").rename(tmp_path / "sub" / "b.jpg")
    assert tree_digest(tmp_path) == before

    journal = tmp_path / ".forge-journal" / "rename.jsonl"
    journal.parent.mkdir()
    journal.write_text("{}\n")
    assert tree_digest(tmp_path) != before
    assert tree_digest(tmp_path, skip_journal=True) == before


def test_watermark_marks_only_the_lower_right_box_and_crop_keeps_the_centre():
    from PIL import Image
    im = Image.fromarray(photo_like(200, 100, seed=3))
    before, marked = np.asarray(im, np.int16), np.asarray(watermark(im), np.int16)
    changed = np.argwhere(np.abs(marked - before).sum(axis=-1) > 0)
    assert len(changed) > 0.8 * 76 * 12                                  # the whole box is lighter
    assert changed[:, 1].min() >= 120 and changed[:, 0].min() >= 85      # and nothing outside it
    assert changed[:, 1].max() <= 196 and changed[:, 0].max() <= 97
    box = marked[86:96, 121:195].mean(axis=-1)
    assert box.min() < 0.5 * box.max()                                   # dark text on it
    assert watermark(im, "other text").tobytes() != watermark(im).tobytes()

    cropped = crop_area(im, 0.81)
    assert cropped.size == (180, 90)
    assert cropped.tobytes() == im.crop((10, 5, 190, 95)).tobytes()
