"""One field type behind action parameters, op fields, settings keys and form fields."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dataset_forge import settings as st
from dataset_forge.actions.common import op_params
from dataset_forge.actions.registry import Param, all_actions
from dataset_forge.errors import UsageError
from dataset_forge.schema import BOOL_WORDS, Field, FieldError
from dataset_forge.transforms.ops import all_ops
from menus.fields import from_param, from_setting


def test_text_and_typed_values_share_one_grammar_and_one_set_of_checks():
    quality = Field("quality", "int", 95, "output quality", min=1, max=100)
    assert quality.parse("90") == 90 and quality.validate(90.0) == 90 and quality.parse(None) == 95
    for bad in ("900", "high", True, 3.5):
        with pytest.raises(FieldError, match="must be an integer from 1 to 100"):
            quality.parse(bad)
    flag = Field("deep", "bool", False)
    assert {word: flag.parse(word) for word in BOOL_WORDS} == BOOL_WORDS
    with pytest.raises(FieldError):
        flag.validate("yes")      # a TOML "yes" is text, not a bool
    assert Field("f", "float", min=0).validate(2) == 2.0
    with pytest.raises(FieldError):
        Field("f", "float").parse("nan")
    assert Field("l", "list").parse(" a, b ,,c ") == ["a", "b", "c"]
    assert Field("c", "choice", 3, choices=(1, 3)).parse("1") == 1


def test_colour_fields_refuse_what_pillow_cannot_draw():
    colour = Field("pad_color", "colour", "#000000")
    assert colour.parse("red") == "red" and colour.parse("#ff8800") == "#ff8800"
    with pytest.raises(FieldError, match="must be a colour"):
        colour.parse("zzz")


def test_one_field_renders_to_cli_toml_and_form():
    field = Field("pad_color", "colour", "#000000", "padding colour")
    parser = argparse.ArgumentParser()
    field.add_argument(parser)
    assert parser.parse_args(["--pad-color", "red"]).pad_color == "red"
    assert "COLOUR" in parser.format_help() and "(default: #000000)" in parser.format_help()
    Field("crops", "bool", False, "hash the centre (81% of the area)").add_argument(parser)
    assert "(81% of the area)" in parser.format_help()  # argparse would read "% o" as a format
    assert field.to_toml("#000000") == '"#000000"' and Field("b", "bool").to_toml(True) == "true"
    assert field.widget == "text" and Field("d", "dir").widget == "folder"
    assert Field("m", "str", "a", choices=("a", "b")).widget == "choice"


def test_every_face_declares_with_the_same_type():
    assert all(isinstance(p, Field) for a in all_actions().values() for p in a.params)
    assert all(isinstance(f, Field) for op in all_ops().values() for f in op.fields)
    assert all(isinstance(spec, Field) for spec in st.SCHEMA)
    resize = {p.name: p for p in op_params("resize")}
    assert isinstance(resize["pad_color"], Param) and resize["pad_color"].type == "colour"


def test_each_face_names_where_the_bad_value_came_from(tmp_path):
    with pytest.raises(UsageError, match=r"^--quality '0': must be an integer from 1 to 100$"):
        Param("quality", "int", 95, min=1, max=100).parse("0")
    with pytest.raises(UsageError, match=r"no/such: no such folder$"):
        Param("input", "dir").parse("no/such")
    with pytest.raises(st.SettingsError, match=r"^gpu.use_gpu = 'maybe': must be true or false$"):
        st.spec_for("gpu.use_gpu").parse("maybe")
    form = from_param(Param("quality", "int", 95, min=1, max=100))
    assert form.check("0") == "--quality '0': must be an integer from 1 to 100"
    assert form.check("") is None  # empty text: the default
    assert from_setting(st.spec_for("ui.bell")).allowed == "true or false; default true"


def test_invalid_pad_colour_stops_before_the_run(run_cli, make_image, tmp_path):
    make_image(tmp_path / "in" / "a.png")
    result = run_cli("--action", "resize", "--input", tmp_path / "in", "--output", tmp_path / "out",
                     "--width", 40, "--height", 10, "--fit", "pad", "--pad-color", "zzz")
    assert result.returncode == 2, result
    assert result.stderr == "error: --pad-color 'zzz': must be a colour such as #ff8800 or red\n"
    assert not (tmp_path / "out").exists()
    ok = run_cli("--action", "resize", "--input", tmp_path / "in", "--output", tmp_path / "out",
                 "--width", 40, "--height", 10, "--fit", "pad", "--pad-color", "red")
    assert ok.returncode == 0, ok
    assert Path(tmp_path / "out" / "a.png").is_file()
