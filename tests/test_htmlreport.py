"""The shared HTML report toolkit: thumbnails, histograms, grids, escaping, atomic pages."""
from __future__ import annotations

import base64
import io
import re

from PIL import Image

from dataset_forge.reports.html import (histogram_svg, html_page, image_grid, section, table_html,
                                      thumbnail_uri, write_html)


def test_thumbnail_is_a_small_decodable_image(tmp_path, make_image):
    path = make_image(tmp_path / "big.png", size=(640, 320))
    uri = thumbnail_uri(path, max_side=100)
    assert uri.startswith("data:image/jpeg;base64,")
    im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert max(im.size) == 100 and im.size == (100, 50)


def test_thumbnail_of_unreadable_files_is_empty(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a picture")
    assert thumbnail_uri(tmp_path / "empty.png") == ""
    assert thumbnail_uri(tmp_path / "text.jpg") == ""
    assert thumbnail_uri(tmp_path / "missing.jpg") == ""


def test_histogram_counts_every_finite_value():
    svg = histogram_svg([1, 2, 2, 3, 3, 3, float("nan"), None], bins=3, title="w", unit="px")
    assert svg.startswith("<svg") and "n=6" in svg and "w (px)" in svg
    tips = re.findall(r"<title>[^<]*: (\d+)</title>", svg)
    assert sorted(map(int, tips)) == [1, 2, 3]
    assert "no data" in histogram_svg([], title="empty")
    assert "n=4" in histogram_svg([5, 5, 5, 5])  # a constant column still draws


def test_everything_is_escaped(tmp_path, make_image):
    path = make_image(tmp_path / "a.png")
    page = html_page("<script>x</script>", [
        section("<b>s</b>", table_html(["<c>"], [["<td&>"]])),
        image_grid([{"path": path, "caption": "<i>dark</i>", "highlight": True},
                    {"path": tmp_path / "nope.png", "caption": "gone"}]),
    ])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<b>s</b>" not in page and "&lt;td&amp;&gt;" in page and "&lt;i&gt;dark" in page
    assert page.count('class="cell hl"') == 1 and "unreadable" in page
    assert page.count("data:image/") == 1


def test_write_html_is_a_complete_page(tmp_path):
    out = write_html(tmp_path / "sub" / "r.html", "Title", [section("A", "<p>x</p>")])
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>")
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporaries left


def test_grid_is_cut_with_a_note(tmp_path, make_image):
    path = make_image(tmp_path / "a.png", size=(8, 8))
    grid = image_grid([{"path": path, "caption": str(i)} for i in range(5)], limit=2)
    assert grid.count('class="cell"') == 2 and "3 more not shown" in grid
    assert "data:image/png" in grid  # tiny images stay PNG
